/**
 * The T5 tokenizer (lib/tokenizers/t5.ts) on the builder's small T5 tokenizer.json, against
 * transformers' slow T5Tokenizer on the same vocabulary (test/reference/t5_tokenizer.py; regenerate
 * as written there).
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeT5Tokenizer } from "../../lib/onnx/builder/sd3/t5-tokenizer-files.js";
import { T5Tokenizer } from "../../lib/tokenizers/t5.js";

interface Case {
  text: string;
  tokens: string[];
  ids: number[];
  padded: Record<string, { input_ids: number[]; attention_mask: number[] }>;
}
const fixture = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../fixtures/tokenizers/t5.json"), "utf8")) as {
  vocab_size: number;
  cases: Case[];
};

let root: string;
let tokenizer: T5Tokenizer;
const keep = process.env.T5_TOKENIZER_OUT;

beforeAll(async () => {
  root = keep ? path.resolve(keep) : await mkdtemp(path.join(os.tmpdir(), "t5-tokenizer-"));
  await writeT5Tokenizer(root);
  tokenizer = await T5Tokenizer.fromFolder(path.join(root, "tokenizer_3"));
});
afterAll(async () => {
  if (!keep) await rm(root, { recursive: true, force: true });
});

describe("T5Tokenizer", () => {
  it("reads the builder's vocabulary with T5's special ids", () => {
    expect(tokenizer.vocabSize).toBe(fixture.vocab_size);
    expect(tokenizer.padTokenId).toBe(0);
    expect(tokenizer.eosTokenId).toBe(1);
  });

  // Trailing spaces are where the slow reference and the fast tokenizer (tokenizer.json, which SD3 ships
  // and this port follows) differ: SentencePiece strips them, the fast Metaspace keeps one "▁" piece.
  const trailingSpace = (c: Case) => /\s$/.test(c.text);
  for (const c of fixture.cases.filter((x) => !trailingSpace(x))) {
    it(`gives the ids of transformers' T5Tokenizer for ${JSON.stringify(c.text)}`, () => {
      expect(tokenizer.tokenize(c.text)).toEqual(c.tokens);
      expect(tokenizer.encode(c.text)).toEqual(c.ids);
    });
    it(`pads and truncates as transformers does, </s> kept last, for ${JSON.stringify(c.text)}`, () => {
      for (const [n, want] of Object.entries(c.padded)) {
        const got = tokenizer.call([c.text], { maxLength: Number(n) });
        expect(got.inputIds[0], `max_length ${n}`).toEqual(want.input_ids);
        expect(got.attentionMask[0], `max_length ${n}`).toEqual(want.attention_mask);
      }
    });
  }

  for (const c of fixture.cases.filter(trailingSpace)) {
    it(`keeps one "▁" for trailing spaces as the fast tokenizer does, else SentencePiece's ids, for ${JSON.stringify(c.text)}`, () => {
      expect(tokenizer.tokenize(c.text)).toEqual([...c.tokens, "▁"]);
      expect(tokenizer.encode(c.text)).toEqual([...c.ids.slice(0, -1), 3, 1]);
    });
  }

  it("pads to 256 by default, as SD3 pipelines ask", () => {
    const { inputIds } = tokenizer.call(["a cat", "a dog"]);
    expect(inputIds.map((ids) => ids.length)).toEqual([256, 256]);
  });

  it("refuses a tokenizer.json that is not a Unigram model, and a missing folder, naming the file", async () => {
    expect(() => new T5Tokenizer({ model: { type: "BPE" } })).toThrow(/Unigram/);
    await expect(T5Tokenizer.fromFolder(path.join(root, "nope"))).rejects.toThrow(/tokenizer\.json/);
  });

  it("refuses a max length below 1, naming the option", () => {
    expect(() => tokenizer.call(["a"], { maxLength: 0 })).toThrow(/maxLength/);
  });

  it("has a fixture made with the same vocabulary", () => {
    expect(existsSync(path.join(root, "tokenizer_3", "tokenizer_config.json"))).toBe(true);
  });
});

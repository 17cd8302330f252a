import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../lib/errors.js";
import { CLIPTokenizer } from "../../lib/tokenizers/clip.js";
import { buildSmallClipVocab, clipMergesFileText } from "../../lib/tokenizers/clip-vocab.js";
import { CLIP_BYTE_SYMBOLS } from "../../lib/tokenizers/clip-text.js";

const WORDS = [
  "a photo of an astronaut riding a horse on mars",
  "banana",
  "bananas",
  "Sailboat",
  "it's",
  "xyxyxyxy",
  "aaaa",
  "café",
  "猫",
  "🐱",
  "<|endoftext|>",
];

describe("buildSmallClipVocab", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "clip-small-vocab-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("lays the vocabulary out as CLIP does: bytes, bytes with </w>, merges, then the two special tokens", () => {
    const { vocab, merges } = buildSmallClipVocab(WORDS);
    const byId = Object.entries(vocab).sort((a, b) => a[1] - b[1]).map(([token]) => token);
    expect(byId.map((_, i) => vocab[byId[i]])).toEqual(byId.map((_, i) => i));
    expect(byId.slice(0, 256)).toEqual(CLIP_BYTE_SYMBOLS);
    expect(byId.slice(256, 512)).toEqual(CLIP_BYTE_SYMBOLS.map((s) => s + "</w>"));
    expect(byId.slice(-2)).toEqual(["<|startoftext|>", "<|endoftext|>"]);
    expect(byId[0]).toBe("!");
    for (const rule of merges) {
      const [first, second] = rule.split(" ");
      expect(vocab).toHaveProperty([first]);
      expect(vocab).toHaveProperty([second]);
      expect(vocab).toHaveProperty([first + second]);
    }
    expect(byId.length).toBe(512 + new Set(merges.map((m) => m.replace(" ", ""))).size + 2);
  });

  it("is deterministic", () => {
    expect(buildSmallClipVocab(WORDS)).toEqual(buildSmallClipVocab(WORDS));
  });

  it("makes every given word one token when the files are loaded back by CLIPTokenizer.fromFolder", async () => {
    const { vocab, merges } = buildSmallClipVocab(WORDS);
    const dir = path.join(tmp, "tokenizer");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "vocab.json"), JSON.stringify(vocab));
    writeFileSync(path.join(dir, "merges.txt"), clipMergesFileText(merges));
    const tok = await CLIPTokenizer.fromFolder(dir);
    expect([tok.bosTokenId, tok.eosTokenId, tok.padTokenId]).toEqual([
      vocab["<|startoftext|>"],
      vocab["<|endoftext|>"],
      vocab["<|endoftext|>"],
    ]);

    expect(tok.tokenize("a photo of an astronaut riding a horse on mars")).toEqual(
      ["a", "photo", "of", "an", "astronaut", "riding", "a", "horse", "on", "mars"].map((w) => w + "</w>"),
    );
    expect(tok.tokenize("Bananas banana SAILBOAT xyxyxyxy aaaa")).toEqual(
      ["bananas", "banana", "sailboat", "xyxyxyxy", "aaaa"].map((w) => w + "</w>"),
    );
    expect(tok.tokenize("it's")).toEqual(["it</w>", "'s</w>"]);
    for (const word of ["café", "猫", "🐱"]) expect(tok.tokenize(word)).toHaveLength(1);
    // every token is in the vocabulary: nothing falls back to the unknown token
    const ids = tok.encode(WORDS.join(" "));
    expect(ids.slice(1, -1).filter((id) => id === tok.eosTokenId)).toHaveLength(1); // the literal <|endoftext|>
    // a word it was not built for is still tokenized, byte by byte where no merge applies
    expect(tok.tokenize("zq")).toEqual(["z", "q</w>"]);
  });

  it("rejects anything but an array of strings", () => {
    expect(() => buildSmallClipVocab("banana" as unknown as string[])).toThrow(InvalidInputError);
    expect(() => buildSmallClipVocab([1 as unknown as string])).toThrow(/^words:/);
  });
});

/**
 * The tokenizer_3/ folder of a built SD3 model: a small but valid T5 tokenizer.json (SentencePiece
 * Unigram, laid out as transformers' T5Converter writes it for google/t5-v1_1-xxl) with
 * tokenizer_config.json and special_tokens_map.json. No spiece.model is written: T5TokenizerFast and
 * lib/tokenizers/t5.ts read tokenizer.json only.
 *
 * Vocabulary: "<pad>" 0, "</s>" 1, "<unk>" 2 (T5's ids), "▁", one "▁word" piece per word of
 * SMALL_VOCAB_WORDS, a few common suffixes, and single characters, with Unigram log-probabilities
 * that make whole words win over spellings and spellings over unknown characters.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { SMALL_VOCAB_WORDS } from "../tokenizer-files.js";

export interface WrittenT5Tokenizer {
  vocabSize: number;
  padTokenId: number;
  eosTokenId: number;
}

const SPECIALS = ["<pad>", "</s>", "<unk>"] as const;
const SUFFIXES = ["ing", "ed", "er", "s", "ly", "est"];
const CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,'!?-:;()\"/&";

/** [piece, log-probability] in id order. */
export function smallT5Vocab(words: readonly string[] = SMALL_VOCAB_WORDS): [string, number][] {
  const vocab: [string, number][] = SPECIALS.map((s) => [s, 0]);
  const seen = new Set<string>(SPECIALS);
  const add = (piece: string, score: number) => {
    if (seen.has(piece)) return;
    seen.add(piece);
    vocab.push([piece, score]);
  };
  add("▁", -3);
  const unique = [...new Set(words.flatMap((w) => w.toLowerCase().match(/[a-z0-9']+/g) ?? []))];
  // Earlier (more frequent) words score a little higher, as SentencePiece's log-probabilities do.
  unique.forEach((w, i) => add(`▁${w}`, -6 - i / 100));
  SUFFIXES.forEach((s, i) => add(s, -7 - i / 100));
  [...CHARACTERS].forEach((c, i) => add(c, -10 - i / 100));
  return vocab;
}

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** tokenizer.json as the tokenizers library serialises a converted T5 tokenizer. */
export function t5TokenizerJson(vocab: readonly [string, number][]): Record<string, unknown> {
  const eos = vocab.findIndex(([p]) => p === "</s>");
  const metaspace = { replacement: "▁", add_prefix_space: true, prepend_scheme: "always" };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((s) => addedToken(vocab.findIndex(([p]) => p === s), s)),
    normalizer: {
      type: "Sequence",
      normalizers: [
        // Real files carry SentencePiece's compiled nmt_nfkc map here; an empty one marks "no map".
        { type: "Precompiled", precompiled_charsmap: "" },
        { type: "Replace", pattern: { Regex: " {2,}" }, content: " " },
      ],
    },
    pre_tokenizer: { type: "Metaspace", ...metaspace },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }],
      pair: [
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "</s>", type_id: 0 } },
        { Sequence: { id: "B", type_id: 0 } },
        { SpecialToken: { id: "</s>", type_id: 0 } },
      ],
      special_tokens: { "</s>": { id: "</s>", ids: [eos], tokens: ["</s>"] } },
    },
    decoder: { type: "Metaspace", ...metaspace },
    model: { type: "Unigram", unk_id: vocab.findIndex(([p]) => p === "<unk>"), vocab, byte_fallback: false },
  };
}

/** Writes `<dir>/<folder>/` (tokenizer_3 in SD3 folders). */
export async function writeT5Tokenizer(dir: string, folder = "tokenizer_3"): Promise<WrittenT5Tokenizer> {
  const vocab = smallT5Vocab();
  const out = path.join(dir, folder);
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, "tokenizer.json"), JSON.stringify(t5TokenizerJson(vocab), null, 2) + "\n");
  const specials = { eos_token: "</s>", pad_token: "<pad>", unk_token: "<unk>" };
  await writeFile(
    path.join(out, "tokenizer_config.json"),
    JSON.stringify(
      {
        added_tokens_decoder: Object.fromEntries(SPECIALS.map((s, id) => [String(id), { ...addedToken(id, s), id: undefined }])),
        additional_special_tokens: [],
        clean_up_tokenization_spaces: true,
        extra_ids: 0,
        legacy: true,
        model_max_length: 512,
        tokenizer_class: "T5Tokenizer",
        ...specials,
      },
      null,
      2,
    ) + "\n",
  );
  await writeFile(path.join(out, "special_tokens_map.json"), JSON.stringify(specials, null, 2) + "\n");
  return { vocabSize: vocab.length, padTokenId: 0, eosTokenId: 1 };
}

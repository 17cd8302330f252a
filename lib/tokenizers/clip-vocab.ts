/**
 * A small but valid CLIP BPE vocabulary for the tiny test models: the layout of the real one
 * (the 256 byte symbols, then the same with `</w>`, then merged symbols, `<|startoftext|>` and
 * `<|endoftext|>` last) with only the merges needed to make each given word a single token.
 * A CLIPTokenizer built from it (or transformers' slow CLIPTokenizer reading the files) tokenizes
 * those words as one token each, and any other text byte by byte.
 */
import { InvalidInputError } from "../errors.js";
import { ClipBpe, END_OF_WORD } from "./clip-bpe.js";
import { CLIP_BYTE_SYMBOLS, CLIP_END_OF_TEXT, CLIP_START_OF_TEXT, clipPreTokenize } from "./clip-text.js";

export interface ClipVocab {
  /** token -> id, as vocab.json holds it. */
  vocab: Record<string, number>;
  /** merge rules "first second" in rank order, without merges.txt's header line. */
  merges: string[];
}

/**
 * Build the vocabulary for `words` (any text: each is cleaned and split as the tokenizer does, and
 * each resulting pre-token becomes one token). Deterministic: the same words in the same order give
 * the same files.
 *
 * Each pre-token is run through BPE with the merges so far; while it still has several symbols, the
 * merge of its first two is appended. Appended merges rank after all earlier ones, so they never
 * change how earlier words are merged.
 */
export function buildSmallClipVocab(words: string[]): ClipVocab {
  if (!Array.isArray(words) || words.some((w) => typeof w !== "string")) {
    throw new InvalidInputError("words", "must be an array of strings");
  }
  const symbols = [...CLIP_BYTE_SYMBOLS, ...CLIP_BYTE_SYMBOLS.map((s) => s + END_OF_WORD)];
  const known = new Set(symbols);
  const merges: [string, string][] = [];
  for (const word of words) {
    for (const piece of clipPreTokenize(word)) {
      if (piece === CLIP_START_OF_TEXT || piece === CLIP_END_OF_TEXT) continue;
      for (;;) {
        const parts = new ClipBpe(merges).encode(piece);
        if (parts.length <= 1) break;
        const merged = parts[0] + parts[1];
        merges.push([parts[0], parts[1]]);
        if (!known.has(merged)) {
          known.add(merged);
          symbols.push(merged);
        }
      }
    }
  }
  symbols.push(CLIP_START_OF_TEXT, CLIP_END_OF_TEXT);
  return {
    vocab: Object.fromEntries(symbols.map((s, id) => [s, id])),
    merges: merges.map(([a, b]) => `${a} ${b}`),
  };
}

/** merges.txt as transformers writes it: the "#version: 0.2" header (which readers skip), one rule a line. */
export function clipMergesFileText(merges: readonly string[]): string {
  return ["#version: 0.2", ...merges].join("\n") + "\n";
}

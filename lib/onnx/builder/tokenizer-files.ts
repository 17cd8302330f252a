/**
 * The tokenizer/ folder of a built model: vocab.json + merges.txt + tokenizer_config.json +
 * special_tokens_map.json, as transformers' `CLIPTokenizer.save_pretrained` writes them (v4.34).
 * The vocabulary is either a small valid CLIP BPE vocabulary (lib/tokenizers/clip-vocab.ts) over a
 * fixed word list, or the real CLIP files copied from a folder the caller gives.
 */
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../errors.js";
import { buildSmallClipVocab, clipMergesFileText } from "../../tokenizers/clip-vocab.js";
import type { ModelFamily } from "./presets.js";

/**
 * `"small"`: a small vocabulary over `SMALL_VOCAB_WORDS`; `real-clip`: copy vocab.json and merges.txt
 * from `path`; `vocab`: a vocabulary given in memory (e.g. `buildSmallClipVocab(words)`).
 */
export type TokenizerSource =
  | "small"
  | { kind: "real-clip"; path: string }
  | { kind: "vocab"; vocab: Record<string, number>; merges: readonly string[] };

/** Words the small vocabulary holds as single tokens (everything else is tokenized byte by byte). */
export const SMALL_VOCAB_WORDS: readonly string[] = [
  "a photo of an astronaut riding a horse on the moon",
  "a watercolor painting of a sailboat at sunrise",
  "cozy cabin in a pine forest at night, warm light, highly detailed",
  "portrait of a cat wearing a hat, studio lighting, 4k",
  "an ancient library with floating books, fantasy concept art",
  "a bowl of ramen on a wooden table, 50mm",
  "isometric pixel art of a tiny robot's workshop",
  "lowres, bad anatomy, blurry, grainy, oversaturated, cropped frame, dark, noisy",
  "red green blue yellow white black dog bird tree mountain city street river sky",
];

const START = "<|startoftext|>";
const END = "<|endoftext|>";

export interface WrittenTokenizer {
  vocabSize: number;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
}

function specialToken(content: string) {
  return { content, lstrip: false, normalized: true, rstrip: false, single_word: false, special: true };
}

async function vocabularyFiles(source: TokenizerSource): Promise<{ vocab: Record<string, number>; mergesText: string }> {
  if (source === "small") {
    const { vocab, merges } = buildSmallClipVocab([...SMALL_VOCAB_WORDS]);
    return { vocab, mergesText: clipMergesFileText(merges) };
  }
  if (typeof source === "object" && source.kind === "vocab") {
    return { vocab: source.vocab, mergesText: clipMergesFileText(source.merges) };
  }
  if (typeof source !== "object" || source.kind !== "real-clip" || typeof source.path !== "string") {
    throw new InvalidInputError("tokenizer", `unknown tokenizer source ${JSON.stringify(source)}`, '"small", { kind: "real-clip", path } or { kind: "vocab", vocab, merges }');
  }
  const vocabFile = path.join(source.path, "vocab.json");
  const vocab = JSON.parse(await readFile(vocabFile, "utf8")) as Record<string, number>;
  return { vocab, mergesText: await readFile(path.join(source.path, "merges.txt"), "utf8") };
}

/** Writes `<dir>/tokenizer/`; SD 1.x pads with <|endoftext|>, SD 2.x with "!". */
export async function writeClipTokenizer(dir: string, source: TokenizerSource, family: ModelFamily): Promise<WrittenTokenizer> {
  const { vocab, mergesText } = await vocabularyFiles(source);
  const padToken = family === "sd2" ? "!" : END;
  for (const token of [START, END, padToken]) {
    if (vocab[token] === undefined) throw new InvalidInputError("tokenizer", `vocab.json has no ${JSON.stringify(token)}`, "a CLIP vocabulary");
  }
  const out = path.join(dir, "tokenizer");
  await mkdir(out, { recursive: true });
  if (typeof source === "object" && source.kind === "real-clip") {
    await copyFile(path.join(source.path, "vocab.json"), path.join(out, "vocab.json"));
    await copyFile(path.join(source.path, "merges.txt"), path.join(out, "merges.txt"));
  } else {
    await writeFile(path.join(out, "vocab.json"), JSON.stringify(vocab));
    await writeFile(path.join(out, "merges.txt"), mergesText);
  }
  const specials = { bos_token: START, eos_token: END, pad_token: padToken, unk_token: END };
  const addedDecoder: Record<string, unknown> = {
    [vocab[START]]: specialToken(START),
    [vocab[END]]: specialToken(END),
  };
  if (family === "sd2") addedDecoder[vocab[padToken]] = { ...specialToken(padToken), special: false };
  await writeFile(
    path.join(out, "tokenizer_config.json"),
    JSON.stringify(
      {
        add_prefix_space: false,
        added_tokens_decoder: addedDecoder,
        clean_up_tokenization_spaces: true,
        do_lower_case: true,
        errors: "replace",
        model_max_length: 77,
        tokenizer_class: "CLIPTokenizer",
        ...specials,
      },
      null,
      2,
    ) + "\n",
  );
  await writeFile(path.join(out, "special_tokens_map.json"), JSON.stringify(specials, null, 2) + "\n");
  return {
    vocabSize: Object.values(vocab).reduce((max, id) => Math.max(max, id), -1) + 1,
    bosTokenId: vocab[START],
    eosTokenId: vocab[END],
    padTokenId: vocab[padToken],
  };
}

/**
 * CLIP's BPE tokenizer, read from a Stable Diffusion `tokenizer/` (or `tokenizer_2/`) folder:
 * vocab.json + merges.txt, with tokenizer_config.json / special_tokens_map.json / added_tokens.json
 * when present. It gives the ids of transformers v4.34.0's slow `CLIPTokenizer` without ftfy, which
 * is what diffusers' pipelines feed the text encoders.
 *
 * Hand-written rather than taken from npm: `@huggingface/transformers` and `@huggingface/tokenizers`
 * only load a tokenizer.json (SD folders usually ship just vocab.json + merges.txt) and reproduce the
 * *fast* tokenizer, whose normalizer differs from the slow one's (control characters, CJK ideographs,
 * special tokens typed in upper case, "!" as an added pad token); no maintained package implements the
 * slow tokenizer.
 *
 * What happens to a text, in order (each step as the slow tokenizer does it):
 * 1. split out the added tokens (all special tokens: bos, eos, unk, pad and additional ones, and
 *    added_tokens.json entries), matched literally, longest first; each becomes its own id. With SD 2.x's
 *    pad token "!", every "!" in a prompt is therefore id 0, not BPE's "!</w>";
 * 2. every other span: clean-up, lower case and CLIP's word regex (clip-text.ts), byte-level
 *    encoding, BPE with merge ranks (clip-bpe.ts), ids from the vocabulary (unknown -> unk id);
 * 3. bos and eos around the ids; truncation keeps the first `maxLength - 2` ids so that eos stays
 *    last; padding appends the pad id on the right.
 * Added tokens' lstrip/rstrip/single_word flags are not modelled: they only move whitespace, which
 * the clean-up of step 2 drops anyway.
 */
import path from "node:path";
import { InvalidInputError, ModelLoadError } from "../errors.js";
import { ClipBpe } from "./clip-bpe.js";
import { readClipTokenizerFolder } from "./clip-folder.js";
import { CLIP_END_OF_TEXT, CLIP_START_OF_TEXT, clipPreTokenize } from "./clip-text.js";

/** Positions of every CLIP text encoder; the default `modelMaxLength`. */
export const CLIP_MODEL_MAX_LENGTH = 77;

export interface CLIPTokenizerOptions {
  /** Default `<|startoftext|>`. */
  bosToken?: string;
  /** Default `<|endoftext|>`. */
  eosToken?: string;
  /** Replaces tokens missing from the vocabulary. Default `<|endoftext|>`. */
  unkToken?: string;
  /** Default `<|endoftext|>` (SD 1.x); SD 2.x and SDXL's tokenizer_2 use "!" (id 0). */
  padToken?: string;
  /** Length that padding "max_length" and truncation use unless `maxLength` is given. Default 77. */
  modelMaxLength?: number;
  /**
   * Further tokens matched literally in the text before BPE (added_tokens.json, additional special
   * tokens): content -> id. Special tokens are always matched; their ids come from the vocabulary.
   */
  addedTokens?: Record<string, number>;
}

export interface CallOptions {
  /** "max_length": pad to `maxLength`; "longest": to the longest sequence of the batch; false (default): none. */
  padding?: "max_length" | "longest" | false;
  /** Cut sequences longer than `maxLength`, keeping eos last. Default false, as in transformers. */
  truncation?: boolean;
  /** Default: `modelMaxLength`. At least 2 (bos and eos). */
  maxLength?: number;
}

export interface BatchEncoding {
  inputIds: number[][];
  /** 1 for real tokens (bos and eos included), 0 for padding. */
  attentionMask: number[][];
}

const DEFAULT_BOS = CLIP_START_OF_TEXT;
const DEFAULT_EOS = CLIP_END_OF_TEXT;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

export class CLIPTokenizer {
  readonly modelMaxLength: number;
  readonly padTokenId: number;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly unkTokenId: number;
  /** Size of vocab.json (added tokens not in it are not counted, as in transformers' `vocab_size`). */
  readonly vocabSize: number;

  private readonly vocab: Map<string, number>;
  private readonly bpe: ClipBpe;
  /** Tokens split out of the text before BPE, content -> id. */
  private readonly addedIds = new Map<string, number>();
  private readonly addedPattern: RegExp;

  /**
   * @param vocab token -> id, as in vocab.json
   * @param merges merge rules "first second" in rank order (merges.txt without its "#version" header)
   */
  constructor(vocab: Record<string, number>, merges: string[], options: CLIPTokenizerOptions = {}) {
    this.vocab = checkVocab(vocab);
    this.vocabSize = this.vocab.size;
    this.bpe = new ClipBpe(checkMerges(merges));

    for (const [content, id] of Object.entries(options.addedTokens ?? {})) {
      if (!Number.isSafeInteger(id) || id < 0) {
        throw new InvalidInputError("addedTokens", `id of ${JSON.stringify(content)} must be a non-negative integer`);
      }
      if (content !== "") this.addedIds.set(content, id);
    }
    const special = (field: string, content: string | undefined, fallback: string): number => {
      const token = content ?? fallback;
      const id = this.addedIds.get(token) ?? this.vocab.get(token);
      if (id === undefined) {
        throw new InvalidInputError(field, `${JSON.stringify(token)} is neither in the vocabulary nor an added token`);
      }
      this.addedIds.set(token, id);
      return id;
    };
    this.bosTokenId = special("bosToken", options.bosToken, DEFAULT_BOS);
    this.eosTokenId = special("eosToken", options.eosToken, DEFAULT_EOS);
    this.unkTokenId = special("unkToken", options.unkToken, DEFAULT_EOS);
    this.padTokenId = special("padToken", options.padToken, DEFAULT_EOS);

    const maxLength = options.modelMaxLength ?? CLIP_MODEL_MAX_LENGTH;
    if (!Number.isSafeInteger(maxLength) || maxLength < 2) {
      throw new InvalidInputError("modelMaxLength", `must be an integer >= 2, got ${maxLength}`);
    }
    this.modelMaxLength = maxLength;

    const alternatives = [...this.addedIds.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.addedPattern = new RegExp(`(${alternatives.join("|")})`, "u");
  }

  /**
   * Load a tokenizer folder (see clip-folder.ts for which file gives what). Missing or malformed
   * files raise ModelNotFoundError / ModelLoadError naming the file.
   */
  static async fromFolder(dir: string): Promise<CLIPTokenizer> {
    const { vocab, merges, options } = await readClipTokenizerFolder(dir);
    try {
      return new CLIPTokenizer(vocab, merges, options);
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      const files = "vocab.json, tokenizer_config.json, special_tokens_map.json";
      throw new ModelLoadError(`${dir}: ${e.message} (see ${files})`, path.basename(path.resolve(dir)), { cause: e });
    }
  }

  /** BPE tokens of a text, without bos/eos (transformers' `tokenize`). */
  tokenize(text: string): string[] {
    checkText("text", text);
    const tokens: string[] = [];
    this.walk(text, (token) => tokens.push(token));
    return tokens;
  }

  /** Ids of a text with bos and eos, neither padded nor truncated. */
  encode(text: string): number[] {
    checkText("text", text);
    return [this.bosTokenId, ...this.contentIds(text), this.eosTokenId];
  }

  /**
   * Tokenize a batch as transformers' `tokenizer(texts, padding=..., truncation=..., max_length=...)`.
   * Diffusers' pipelines call it with `{ padding: "max_length", truncation: true }`.
   */
  call(texts: string[], options: CallOptions = {}): BatchEncoding {
    if (!Array.isArray(texts)) throw new InvalidInputError("texts", "must be an array of strings");
    texts.forEach((t, i) => checkText(`texts[${i}]`, t));
    const { padding = false, truncation = false } = options;
    if (padding !== false && padding !== "max_length" && padding !== "longest") {
      const allowed = '"max_length", "longest" or false';
      throw new InvalidInputError("padding", `unknown value ${JSON.stringify(padding)}`, allowed);
    }
    if (typeof truncation !== "boolean") {
      throw new InvalidInputError("truncation", "must be a boolean", "true or false");
    }
    const maxLength = options.maxLength ?? this.modelMaxLength;
    if (!Number.isSafeInteger(maxLength) || maxLength < 2) {
      const allowed = "2, 3, ... (room for bos and eos)";
      throw new InvalidInputError("maxLength", `must be an integer >= 2, got ${String(maxLength)}`, allowed);
    }

    const inputIds = texts.map((text) => {
      let ids = this.contentIds(text);
      if (truncation && ids.length + 2 > maxLength) ids = ids.slice(0, maxLength - 2);
      return [this.bosTokenId, ...ids, this.eosTokenId];
    });
    const longest = Math.max(0, ...inputIds.map((ids) => ids.length));
    const target = padding === "max_length" ? maxLength : padding === "longest" ? longest : 0;
    const attentionMask = inputIds.map((ids) => ids.map(() => 1));
    for (let i = 0; i < inputIds.length; i++) {
      const missing = target - inputIds[i].length;
      if (missing > 0) {
        inputIds[i].push(...new Array<number>(missing).fill(this.padTokenId));
        attentionMask[i].push(...new Array<number>(missing).fill(0));
      }
    }
    return { inputIds, attentionMask };
  }

  private contentIds(text: string): number[] {
    const ids: number[] = [];
    this.walk(text, (token, addedId) => ids.push(addedId ?? this.idOf(token)));
    return ids;
  }

  private idOf(token: string): number {
    return this.addedIds.get(token) ?? this.vocab.get(token) ?? this.unkTokenId;
  }

  /** Step 1 and 2 of the file comment: added tokens whole, everything between through BPE. */
  private walk(text: string, emit: (token: string, addedId?: number) => void): void {
    // split() with one capture group alternates: [plain, added, plain, added, ..., plain]
    const parts = text.split(this.addedPattern);
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 1) {
        emit(parts[i], this.addedIds.get(parts[i]));
        continue;
      }
      if (parts[i] === "") continue;
      for (const word of clipPreTokenize(parts[i])) for (const token of this.bpe.encode(word)) emit(token);
    }
  }
}

function checkText(field: string, text: unknown): void {
  if (typeof text !== "string") throw new InvalidInputError(field, `must be a string, got ${typeof text}`);
}

function checkVocab(vocab: Record<string, number>): Map<string, number> {
  if (vocab === null || typeof vocab !== "object" || Array.isArray(vocab)) {
    throw new InvalidInputError("vocab", "must be an object mapping tokens to ids");
  }
  const map = new Map<string, number>();
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isSafeInteger(id) || id < 0) {
      const got = JSON.stringify(id);
      throw new InvalidInputError("vocab", `id of ${JSON.stringify(token)} must be a non-negative integer, got ${got}`);
    }
    map.set(token, id);
  }
  return map;
}

function checkMerges(merges: string[]): [string, string][] {
  if (!Array.isArray(merges)) throw new InvalidInputError("merges", 'must be an array of "first second" strings');
  return merges.map((line, i) => {
    const parts = typeof line === "string" ? line.trim().split(/\s+/) : [];
    if (parts.length !== 2 || parts[0] === "") {
      const got = JSON.stringify(line);
      throw new InvalidInputError("merges", `entry ${i} is not two symbols separated by a space: ${got}`);
    }
    return [parts[0], parts[1]];
  });
}

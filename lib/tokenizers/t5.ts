/**
 * The T5 tokenizer of SD3's `tokenizer_3/` (google/t5-v1_1-xxl's SentencePiece Unigram model), read
 * from its tokenizer.json and run by @huggingface/tokenizers: normalizer (SentencePiece's nmt_nfkc
 * "Precompiled" charsmap, which that package approximates with NFKC, and the collapse of repeated
 * spaces), Metaspace pre-tokenizer ("▁" for spaces and before the text), Unigram Viterbi, and the
 * post-processor that appends `</s>`.
 *
 * What this file adds is what transformers' `T5TokenizerFast.__call__` does around that and diffusers'
 * StableDiffusion3Pipeline asks for (`padding="max_length", max_length=max_sequence_length,
 * truncation=True`): truncation that keeps the appended `</s>` last, and right padding with the pad id.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { InvalidInputError, ModelLoadError, ModelNotFoundError } from "../errors.js";

/** diffusers' default `max_sequence_length` for SD3's T5. */
export const T5_DEFAULT_MAX_LENGTH = 256;

export interface T5CallOptions {
  /** Pad every sequence to `maxLength` (diffusers' `padding="max_length"`). Default true. */
  padding?: boolean;
  /** Cut longer sequences to `maxLength`, `</s>` kept last. Default true. */
  truncation?: boolean;
  /** Default 256 (SD3's `max_sequence_length`). */
  maxLength?: number;
}

export interface T5BatchEncoding {
  inputIds: number[][];
  /** 1 for real tokens (`</s>` included), 0 for padding. */
  attentionMask: number[][];
}

export class T5Tokenizer {
  readonly padTokenId: number;
  readonly eosTokenId: number | undefined;
  /** Entries of the Unigram vocabulary (added tokens such as `<extra_id_N>` included). */
  readonly vocabSize: number;

  /**
   * @param tokenizerJson the parsed tokenizer.json (a Unigram model)
   * @param config the parsed tokenizer_config.json, if any (its `pad_token` is used)
   */
  constructor(
    tokenizerJson: Record<string, unknown>,
    private readonly config: Record<string, unknown> = {},
  ) {
    const model = tokenizerJson.model as { type?: string } | undefined;
    if (model?.type !== "Unigram") {
      throw new InvalidInputError("tokenizer.json", `model type ${JSON.stringify(model?.type)} is not a T5 (SentencePiece Unigram) model`, "Unigram");
    }
    this.tokenizer = new Tokenizer(tokenizerJson, config);
    const padToken = tokenName(config.pad_token) ?? "<pad>";
    const pad = this.tokenizer.token_to_id(padToken);
    if (pad === undefined) throw new InvalidInputError("pad_token", `${JSON.stringify(padToken)} is not in the vocabulary`);
    this.padTokenId = pad;
    this.eosTokenId = this.tokenizer.token_to_id(tokenName(config.eos_token) ?? "</s>");
    this.vocabSize = this.tokenizer.get_vocab(true).size;
  }

  private readonly tokenizer: Tokenizer;

  /** Load `tokenizer.json` (+ `tokenizer_config.json` when present) from a `tokenizer_3/` folder. */
  static async fromFolder(dir: string): Promise<T5Tokenizer> {
    const file = path.join(dir, "tokenizer.json");
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      throw new ModelNotFoundError(`T5 tokenizer not found: ${file} (a tokenizer_3/ folder needs tokenizer.json)`, file);
    }
    let config: Record<string, unknown> = {};
    try {
      config = JSON.parse(await readFile(path.join(dir, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new ModelLoadError(`${dir}/tokenizer_config.json is not valid JSON`, "tokenizer_3", { cause: e });
    }
    try {
      return new T5Tokenizer(JSON.parse(text) as Record<string, unknown>, config);
    } catch (e) {
      throw new ModelLoadError(`${file}: ${(e as Error).message}`, "tokenizer_3", { cause: e });
    }
  }

  /** The pieces of a text, without `</s>`. */
  tokenize(text: string): string[] {
    checkText("text", text);
    return this.tokenizer.tokenize(text, { add_special_tokens: false });
  }

  /** Ids of a text with `</s>` appended, neither padded nor truncated. */
  encode(text: string): number[] {
    checkText("text", text);
    return this.tokenizer.encode(text).ids;
  }

  /** Tokenize a batch as `T5TokenizerFast(texts, padding="max_length", max_length=n, truncation=True)`. */
  call(texts: readonly string[], options: T5CallOptions = {}): T5BatchEncoding {
    if (!Array.isArray(texts)) throw new InvalidInputError("texts", "must be an array of strings");
    texts.forEach((t, i) => checkText(`texts[${i}]`, t));
    const { padding = true, truncation = true, maxLength = T5_DEFAULT_MAX_LENGTH } = options;
    if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
      throw new InvalidInputError("maxLength", `must be a positive integer, got ${String(maxLength)}`, "1, 2, ...");
    }
    const inputIds = texts.map((text) => {
      const full = this.tokenizer.encode(text).ids;
      if (!truncation || full.length <= maxLength) return full;
      // The post-processor's tokens (`</s>`) follow the text's; truncation cuts the text only.
      const plain = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
      const suffix = full.slice(plain.length);
      return [...plain.slice(0, Math.max(0, maxLength - suffix.length)), ...suffix].slice(0, maxLength);
    });
    const attentionMask = inputIds.map((ids) => ids.map(() => 1));
    if (padding) {
      inputIds.forEach((ids, i) => {
        const missing = maxLength - ids.length;
        if (missing > 0) {
          ids.push(...new Array<number>(missing).fill(this.padTokenId));
          attentionMask[i].push(...new Array<number>(missing).fill(0));
        }
      });
    }
    return { inputIds, attentionMask };
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }
}

/** tokenizer_config.json writes special tokens as a string or as an AddedToken object. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") return (value as { content: string }).content;
  return undefined;
}

function checkText(field: string, text: unknown): void {
  if (typeof text !== "string") throw new InvalidInputError(field, `must be a string, got ${typeof text}`);
}

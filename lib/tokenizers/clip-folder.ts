/**
 * Reading a CLIP tokenizer folder (vocab.json, merges.txt and, when present, tokenizer_config.json,
 * special_tokens_map.json, added_tokens.json) into what `CLIPTokenizer`'s constructor takes, with
 * errors that name the file at fault. Which file wins follows transformers v4.34.0's `from_pretrained`.
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ModelLoadError, ModelNotFoundError } from "../errors.js";
import type { CLIPTokenizerOptions } from "./clip.js";

/**
 * CLIP's merges.txt lists 48,894 merges (vocabulary 49,408 = 256 bytes x 2 + merges + 2 specials);
 * transformers reads no more than that many lines after the header, and neither does this loader.
 */
const MAX_MERGES = 49152 - 256 - 2;

type Json = Record<string, unknown>;

export interface ClipTokenizerFiles {
  vocab: Record<string, number>;
  merges: string[];
  options: CLIPTokenizerOptions;
}

/**
 * Read a tokenizer folder. Special tokens come from special_tokens_map.json, else
 * tokenizer_config.json, else the class defaults; `model_max_length` from tokenizer_config.json,
 * left to the class default (77) when it is absent or not a usable integer (some configs hold
 * transformers' 1e30 placeholder, which no CLIP text encoder could take).
 * Added tokens: added_tokens.json, tokenizer_config.json's added_tokens_decoder and the
 * additional_special_tokens of both files.
 */
export async function readClipTokenizerFolder(dir: string): Promise<ClipTokenizerFiles> {
  const component = path.basename(path.resolve(dir));
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ModelNotFoundError(`tokenizer folder not found: ${dir}`, dir);

  const vocabFile = path.join(dir, "vocab.json");
  const vocab = await readVocab(vocabFile, component);
  const merges = await readMerges(path.join(dir, "merges.txt"), component);
  const config = (await readJson(path.join(dir, "tokenizer_config.json"), component, false)) ?? {};
  const specialMap = (await readJson(path.join(dir, "special_tokens_map.json"), component, false)) ?? {};
  const addedFile = path.join(dir, "added_tokens.json");
  const addedJson = (await readJson(addedFile, component, false)) ?? {};

  const addedTokens: Record<string, number> = {};
  for (const [content, id] of Object.entries(addedJson)) {
    if (!Number.isSafeInteger(id)) {
      throw new ModelLoadError(`${addedFile}: id of ${JSON.stringify(content)} is not an integer`, component);
    }
    addedTokens[content] = id as number;
  }
  const decoder = config.added_tokens_decoder;
  if (decoder !== null && typeof decoder === "object") {
    for (const [id, token] of Object.entries(decoder as Json)) {
      const content = tokenContent(token);
      if (content !== undefined && /^\d+$/.test(id)) addedTokens[content] = Number(id);
    }
  }
  for (const list of [config.additional_special_tokens, specialMap.additional_special_tokens]) {
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      const content = tokenContent(entry);
      if (content === undefined || Object.hasOwn(addedTokens, content)) continue;
      if (!Object.hasOwn(vocab, content)) {
        throw new ModelLoadError(`additional special token ${JSON.stringify(content)} is not in ${vocabFile}`, component);
      }
      addedTokens[content] = vocab[content];
    }
  }

  const special = (key: string) => tokenContent(specialMap[key]) ?? tokenContent(config[key]);
  const maxLength = config.model_max_length;
  const usable = typeof maxLength === "number" && Number.isSafeInteger(maxLength) && maxLength >= 2;
  return {
    vocab,
    merges,
    options: {
      bosToken: special("bos_token"),
      eosToken: special("eos_token"),
      unkToken: special("unk_token"),
      padToken: special("pad_token"),
      modelMaxLength: usable ? maxLength : undefined,
      addedTokens,
    },
  };
}

/** A special token as the config files write it: a string, or an AddedToken object with `content`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && typeof (value as Json).content === "string") {
    return (value as Json).content as string;
  }
  return undefined;
}

async function readText(file: string, component: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new ModelLoadError(`cannot read ${file}: ${(e as Error).message}`, component, { cause: e });
    }
    if (!required) return undefined;
    throw new ModelNotFoundError(`${component}: ${path.basename(file)} not found at ${file}`, file);
  }
}

async function readJson(file: string, component: string, required: boolean): Promise<Json | undefined> {
  const text = await readText(file, component, required);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`${file} is not valid JSON: ${(e as Error).message}`, component, { cause: e });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ModelLoadError(`${file} must hold a JSON object`, component);
  }
  return value as Json;
}

async function readVocab(file: string, component: string): Promise<Record<string, number>> {
  const vocab = (await readJson(file, component, true))!;
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
      const got = JSON.stringify(id);
      throw new ModelLoadError(`${file}: id of token ${JSON.stringify(token)} must be a non-negative integer, got ${got}`, component);
    }
  }
  return vocab as Record<string, number>;
}

/** merges.txt: a "#version" header line, then one "first second" rule per line in rank order. */
async function readMerges(file: string, component: string): Promise<string[]> {
  const lines = (await readText(file, component, true))!.trim().split("\n");
  // transformers drops the first line unseen; insist that it is the header so that no rule is lost silently
  if (!lines[0].startsWith("#")) {
    const got = JSON.stringify(lines[0].slice(0, 40));
    throw new ModelLoadError(`${file} must start with a "#version: ..." header line, got ${got}`, component);
  }
  const merges: string[] = [];
  lines.slice(1, 1 + MAX_MERGES).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === "") return;
    if (trimmed.split(/\s+/).length !== 2) {
      const got = JSON.stringify(trimmed.slice(0, 60));
      throw new ModelLoadError(`${file} line ${i + 2}: expected two symbols separated by a space, got ${got}`, component);
    }
    merges.push(trimmed);
  });
  return merges;
}

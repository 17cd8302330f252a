/**
 * CLIP's byte-pair encoding of one pre-token: start from its characters with `</w>` glued to the
 * last one, then repeatedly merge every occurrence of the adjacent pair with the lowest merge rank
 * (left to right, without overlap) until no ranked pair is left. Same algorithm as the slow
 * transformers `CLIPTokenizer.bpe` and openai/CLIP's `simple_tokenizer`, written from their behaviour.
 */
import { CLIP_END_OF_TEXT, CLIP_START_OF_TEXT } from "./clip-text.js";

export const END_OF_WORD = "</w>";

/**
 * Words already encoded, kept up to this many. Prompts reuse a small set of words, so a bounded
 * cache gets nearly every hit while a long-running server cannot grow it without limit.
 */
const CACHE_LIMIT = 50_000;

/** Merge ranks and the BPE loop, with a cache of encoded pre-tokens. */
export class ClipBpe {
  /** "first second" -> rank; symbols never contain a space (byte encoding maps it away). */
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, readonly string[]>();

  /**
   * @param merges merge rules "first second" in rank order (merges.txt without its header line).
   *   A rule listed twice keeps its later rank, as a Python dict built from the list would.
   */
  constructor(merges: readonly (readonly [string, string])[]) {
    merges.forEach(([first, second], rank) => this.ranks.set(`${first} ${second}`, rank));
    this.seedCache();
  }

  get mergeCount(): number {
    return this.ranks.size;
  }

  /** BPE symbols of one byte-encoded pre-token. */
  encode(word: string): readonly string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const symbols = this.merge(word);
    if (this.cache.size >= CACHE_LIMIT) {
      this.cache.clear();
      this.seedCache();
    }
    this.cache.set(word, symbols);
    return symbols;
  }

  /** The special-token literals are whole tokens, without `</w>` (CLIP's regex lets them through). */
  private seedCache(): void {
    this.cache.set(CLIP_START_OF_TEXT, [CLIP_START_OF_TEXT]);
    this.cache.set(CLIP_END_OF_TEXT, [CLIP_END_OF_TEXT]);
  }

  private merge(word: string): string[] {
    let symbols = Array.from(word);
    if (symbols.length === 0) return [];
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      let best = Infinity;
      let first = "";
      let second = "";
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < best) {
          best = rank;
          first = symbols[i];
          second = symbols[i + 1];
        }
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === first && i + 1 < symbols.length && symbols[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }
    return symbols;
  }
}

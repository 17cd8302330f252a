/**
 * Text clean-up and pre-tokenization of CLIP's slow tokenizer, as transformers v4.34.0's
 * `CLIPTokenizer` does it when ftfy is NOT installed (the case the SD pipelines' reference ids come
 * from): its `BasicTokenizer(strip_accents=False, do_split_on_punc=False)` followed by CLIP's regex,
 * then the byte-to-unicode mapping that byte-level BPE works on.
 *
 * Written here (not taken from a package) because the npm tokenizers implement the *fast*
 * tokenizer's normalizer (NFC + whitespace + lowercase), which differs from the slow one on control
 * characters, CJK ideographs and unusual whitespace, and they need a tokenizer.json that SD folders
 * lack. See clip.ts.
 */

/** Special tokens that CLIP's regex and BPE cache know by their literal text (even if typed in upper case). */
export const CLIP_START_OF_TEXT = "<|startoftext|>";
export const CLIP_END_OF_TEXT = "<|endoftext|>";

/**
 * CLIP's word pattern: the two special tokens, English contractions, runs of letters, single
 * digits, runs of anything else that is not a space. Case-insensitive as in CLIP (the text is
 * lower-cased before it gets here, so that only matters for exotic case foldings).
 */
const WORD_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/** BERT's notion of a control character: any general category C*, except tab, newline and return. */
const CONTROL = /^\p{C}$/u;
/** BERT's notion of whitespace: space, tab, newline, return, or any space separator (Zs). */
const WHITESPACE = /^[ \t\n\r\p{Zs}]$/u;

/** CJK Unified Ideographs blocks (the ones BERT's tokenizer puts spaces around; not kana, not hangul). */
function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * The slow tokenizer's clean-up without ftfy, returning the words joined by single spaces:
 * drop NUL, U+FFFD and control/format/unassigned characters; turn whitespace into spaces; put spaces
 * around CJK ideographs; NFC-normalize; split on whitespace; lower-case each word (no accent stripping,
 * no punctuation splitting).
 */
export function cleanClipText(text: string): string {
  let cleaned = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd) continue;
    if (WHITESPACE.test(ch)) cleaned += " ";
    else if (CONTROL.test(ch)) continue;
    else if (isCjkIdeograph(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  // Python's str.split(): after the clean-up only " ", U+2028 and U+2029 can still be whitespace,
  // and JavaScript's \s covers all three.
  return cleaned
    .normalize("NFC")
    .split(/\s+/u)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase())
    .join(" ");
}

/** Split cleaned text into CLIP's pre-tokens (findall of the word pattern). */
export function splitClipWords(cleaned: string): string[] {
  return cleaned.match(WORD_PATTERN) ?? [];
}

/**
 * GPT-2/CLIP's reversible byte -> character table: printable Latin-1 bytes map to themselves,
 * the other 68 bytes (controls, space, ...) to U+0100 onwards in byte order, so that BPE never sees
 * whitespace or control characters.
 */
function buildByteTable(): string[] {
  const table = new Array<string>(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : next++);
  return table;
}

/** Character of each byte value 0..255; index 0x21 ("!") comes first in CLIP's vocabulary order. */
export const BYTE_TO_CHAR: readonly string[] = buildByteTable();

/** The 256 byte symbols in the order CLIP's vocabulary lists them (printable bytes first, then the rest). */
export const CLIP_BYTE_SYMBOLS: readonly string[] = (() => {
  const printableFirst: number[] = [];
  for (let b = 0; b < 256; b++) if (BYTE_TO_CHAR[b].codePointAt(0) === b) printableFirst.push(b);
  for (let b = 0; b < 256; b++) if (BYTE_TO_CHAR[b].codePointAt(0) !== b) printableFirst.push(b);
  return printableFirst.map((b) => BYTE_TO_CHAR[b]);
})();

const utf8 = new TextEncoder();

/** A pre-token's UTF-8 bytes, each written as its table character. */
export function byteEncode(word: string): string {
  let out = "";
  for (const b of utf8.encode(word)) out += BYTE_TO_CHAR[b];
  return out;
}

/**
 * Clean, split and byte-encode: the pieces BPE runs on. (The special-token literals are ASCII, so
 * byte encoding leaves them as they are; the BPE cache knows them.)
 */
export function clipPreTokenize(text: string): string[] {
  return splitClipWords(cleanClipText(text)).map(byteEncode);
}

/**
 * What a prompt means to the shapes model, in closed form: the token-feature table the text
 * encoder embeds with, the layout of its hidden states, and the same reading done in plain
 * TypeScript (`promptAttributes`) for tests and docs. The ONNX graphs (text-encoder.ts, unet.ts)
 * compute exactly this; the tests hold them to it.
 *
 * Reading rules:
 * - a colour word paints the background when the next noun after it (a shape word or "background")
 *   is "background", and the shape otherwise ("a red star on a blue background", "a blue background
 *   with a red star"); several colour words for one part average in [-1, 1] RGB ("red and blue" is
 *   purple); none: white shape, mid-gray background;
 * - every shape word named is drawn (their union);
 * - placement and size words add up, clamped to -1..1 ("top left" is the top-left corner, "left
 *   right" is the centre).
 */
import { CLIPTokenizer } from "../../../tokenizers/clip.js";
import { buildSmallClipVocab, type ClipVocab } from "../../../tokenizers/clip-vocab.js";
import {
  BACKGROUND_WORD,
  COLOURS,
  DEFAULT_BACKGROUND,
  DEFAULT_FOREGROUND,
  POSITIONS,
  SHAPE_NAMES,
  SHAPES_VOCAB_WORDS,
  SIZES,
  type Rgb,
  type ShapeName,
} from "./vocabulary.js";

/** Columns of the token-feature table (one row per vocabulary id). */
export const TOKEN_FEATURES = { rgb: 0, colour: 3, shapes: 4, background: 10, x: 11, y: 12, size: 13 } as const;
export const TOKEN_FEATURE_COUNT = 14;

/**
 * Channels of the text encoder's hidden states (summed over the sequence they are the prompt's
 * attribute vector): colour sums in [-1, 1] RGB and colour-word counts for the shape ("fg") and the
 * background, shape-word counts, the count of "background", placement and size sums; zero after.
 */
export const HIDDEN = { fgRgb: 0, fgCount: 3, bgRgb: 4, bgCount: 7, shapes: 8, background: 14, x: 15, y: 16, size: 17 } as const;
export const HIDDEN_USED = 18;
export const HIDDEN_SIZE = 32;

export interface ShapesAttributes {
  /** Shape colour, [0, 1] RGB. */
  foreground: Rgb;
  /** Background colour, [0, 1] RGB. */
  background: Rgb;
  /** Shapes drawn (their union); empty: background only. */
  shapes: ShapeName[];
  /** -1 left, 0 centre, 1 right. */
  x: number;
  /** -1 top, 0 centre, 1 bottom. */
  y: number;
  /** -1 small, 0 medium, 1 big. */
  size: number;
}

let vocabulary: ClipVocab | undefined;

/** The small CLIP BPE vocabulary over SHAPES_VOCAB_WORDS (built once). */
export function shapesVocabulary(): ClipVocab {
  vocabulary ??= buildSmallClipVocab([...SHAPES_VOCAB_WORDS]);
  return vocabulary;
}

let tokenizer: CLIPTokenizer | undefined;

/** The tokenizer the model folder's tokenizer/ holds (SD 1.x: padded with <|endoftext|>). */
export function shapesTokenizer(): CLIPTokenizer {
  const { vocab, merges } = shapesVocabulary();
  tokenizer ??= new CLIPTokenizer(vocab, merges);
  return tokenizer;
}

/** Vocabulary size (ids 0..n-1). */
export function shapesVocabSize(): number {
  return Object.keys(shapesVocabulary().vocab).length;
}

let featureTable: Float32Array | undefined;

/** [vocabSize, TOKEN_FEATURE_COUNT]: the meaning of every token id (zero rows for all but the known words). Built once. */
export function tokenFeatureTable(): Float32Array {
  featureTable ??= buildFeatureTable();
  return featureTable;
}

function buildFeatureTable(): Float32Array {
  const { vocab } = shapesVocabulary();
  const table = new Float32Array(shapesVocabSize() * TOKEN_FEATURE_COUNT);
  const row = (word: string) => {
    const id = vocab[`${word}</w>`];
    if (id === undefined) throw new Error(`"${word}" is not a single token of the shapes vocabulary`);
    return id * TOKEN_FEATURE_COUNT;
  };
  for (const [word, rgb] of Object.entries(COLOURS)) {
    const r = row(word);
    rgb.forEach((v, c) => (table[r + TOKEN_FEATURES.rgb + c] = 2 * v - 1));
    table[r + TOKEN_FEATURES.colour] = 1;
  }
  SHAPE_NAMES.forEach((name, k) => (table[row(name) + TOKEN_FEATURES.shapes + k] = 1));
  table[row(BACKGROUND_WORD) + TOKEN_FEATURES.background] = 1;
  for (const [word, p] of Object.entries(POSITIONS)) {
    table[row(word) + TOKEN_FEATURES.x] = p.x;
    table[row(word) + TOKEN_FEATURES.y] = p.y;
  }
  for (const [word, s] of Object.entries(SIZES)) table[row(word) + TOKEN_FEATURES.size] = s;
  return table;
}

/** The token ids the pipeline feeds the text encoder for `prompt` (padded and truncated to 77). */
export function shapesTokenIds(prompt: string): number[] {
  return shapesTokenizer().call([prompt], { padding: "max_length", truncation: true }).inputIds[0];
}

const clamp1 = (v: number) => Math.max(-1, Math.min(1, v));

/** The attribute vector (HIDDEN layout, HIDDEN_USED long) of a token sequence, read by the rules above. */
export function attributeVector(ids: readonly number[]): Float64Array {
  const table = tokenFeatureTable();
  const F = TOKEN_FEATURE_COUNT;
  const rows = ids.map((id) => table.subarray(id * F, (id + 1) * F));
  const isNoun = (r: Float32Array) => SHAPE_NAMES.some((_, k) => r[TOKEN_FEATURES.shapes + k] !== 0) || r[TOKEN_FEATURES.background] !== 0;
  const v = new Float64Array(HIDDEN_USED);
  rows.forEach((r, i) => {
    const next = rows.slice(i + 1).find(isNoun);
    const onBackground = next !== undefined && next[TOKEN_FEATURES.background] !== 0;
    const [rgbAt, countAt] = onBackground ? [HIDDEN.bgRgb, HIDDEN.bgCount] : [HIDDEN.fgRgb, HIDDEN.fgCount];
    for (let c = 0; c < 3; c++) v[rgbAt + c] += r[TOKEN_FEATURES.rgb + c];
    v[countAt] += r[TOKEN_FEATURES.colour];
    for (let k = 0; k < SHAPE_NAMES.length; k++) v[HIDDEN.shapes + k] += r[TOKEN_FEATURES.shapes + k];
    v[HIDDEN.background] += r[TOKEN_FEATURES.background];
    v[HIDDEN.x] += r[TOKEN_FEATURES.x];
    v[HIDDEN.y] += r[TOKEN_FEATURES.y];
    v[HIDDEN.size] += r[TOKEN_FEATURES.size];
  });
  return v;
}

/** Attributes from an attribute vector: colour averages (or the defaults), shapes present, clamped placement and size. */
export function attributesFromVector(v: ArrayLike<number>): ShapesAttributes {
  const colour = (at: number, count: number, fallback: Rgb): Rgb =>
    count < 0.5 ? fallback : ([0, 1, 2].map((c) => (v[at + c] / count + 1) / 2) as unknown as Rgb);
  return {
    foreground: colour(HIDDEN.fgRgb, v[HIDDEN.fgCount], DEFAULT_FOREGROUND),
    background: colour(HIDDEN.bgRgb, v[HIDDEN.bgCount], DEFAULT_BACKGROUND),
    shapes: SHAPE_NAMES.filter((_, k) => v[HIDDEN.shapes + k] > 0.5),
    x: clamp1(v[HIDDEN.x]),
    y: clamp1(v[HIDDEN.y]),
    size: clamp1(v[HIDDEN.size]),
  };
}

/** What the shapes model reads from a prompt. */
export function promptAttributes(prompt: string): ShapesAttributes {
  return attributesFromVector(attributeVector(shapesTokenIds(prompt)));
}

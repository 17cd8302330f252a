/**
 * The words the analytic "shapes" model understands, and what each one means as a row of the text
 * encoder's token-embedding table. Everything else (function words, unknown words, the byte pieces
 * an unknown word falls apart into, bos/eos/padding) has an all-zero row and carries nothing.
 *
 * Colours are given in [0, 1] RGB. Every palette colour has channels in {0, 0.5, 1}, i.e. {-1, 0, 1}
 * in the VAE's [-1, 1] image space, and the unconditional picture (empty prompt) is mid-gray (0)
 * everywhere: so classifier-free guidance with any w >= 1 overshoots only into the clip and the
 * picture of a one-colour prompt does not change with the guidance scale.
 */

export const SHAPE_NAMES = ["circle", "square", "triangle", "star", "heart", "ring"] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

export type Rgb = readonly [number, number, number];

/** Colour words (synonyms share a value). */
export const COLOURS: Readonly<Record<string, Rgb>> = {
  red: [1, 0, 0],
  orange: [1, 0.5, 0],
  yellow: [1, 1, 0],
  green: [0, 0.5, 0],
  blue: [0, 0, 1],
  purple: [0.5, 0, 0.5],
  pink: [1, 0.5, 1],
  white: [1, 1, 1],
  black: [0, 0, 0],
  gray: [0.5, 0.5, 0.5],
  grey: [0.5, 0.5, 0.5],
  cyan: [0, 1, 1],
  magenta: [1, 0, 1],
};

/** Horizontal (-1 left, +1 right) and vertical (-1 top, +1 bottom) placement words; "centre" is the default and moves nothing. */
export const POSITIONS: Readonly<Record<string, { x: number; y: number }>> = {
  left: { x: -1, y: 0 },
  right: { x: 1, y: 0 },
  top: { x: 0, y: -1 },
  bottom: { x: 0, y: 1 },
  centre: { x: 0, y: 0 },
  center: { x: 0, y: 0 },
  middle: { x: 0, y: 0 },
};

/** Size words: -1 small, +1 big (0, medium, is the default). */
export const SIZES: Readonly<Record<string, number>> = { small: -1, tiny: -1, big: 1, large: 1 };

/** The noun a colour word before it paints the background with. */
export const BACKGROUND_WORD = "background";

/** Words that carry nothing but get a token of their own, so ordinary prompts tokenize into whole words. */
export const FUNCTION_WORDS = ["a", "an", "the", "on", "at", "in", "of", "with", "and"] as const;

/** Every word of the vocabulary, in the order the BPE vocabulary is built from. */
export const SHAPES_VOCAB_WORDS: readonly string[] = [
  ...Object.keys(COLOURS),
  ...SHAPE_NAMES,
  ...Object.keys(POSITIONS),
  ...Object.keys(SIZES),
  BACKGROUND_WORD,
  ...FUNCTION_WORDS,
];

/** Defaults where a prompt says nothing: no shape; a shape without a colour is white; the background is mid-gray. */
export const DEFAULT_FOREGROUND: Rgb = [1, 1, 1];
export const DEFAULT_BACKGROUND: Rgb = [0.5, 0.5, 0.5];

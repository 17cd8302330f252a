/**
 * The shapes model's closed form: the picture it must draw for a prompt. The UNet is the ideal
 * denoiser of the one-point distribution at this picture's latent, so a sampler that solves its
 * ODE exactly ends on it; tests compare pipeline output with these functions.
 */
import { InvalidInputError } from "../../../errors.js";
import { promptAttributes, type ShapesAttributes } from "./attributes.js";
import { MASK_SIZE, shapeMasks } from "./masks.js";
import { axisPlacement, cellCentre } from "./placement.js";
import { LATENT_CHANNELS, latentOfRgb, rgbOfLatent } from "./latent-map.js";
import { SHAPE_NAMES } from "./vocabulary.js";

/** Pixels per latent cell (the VAE's nearest x8 upsampling). */
export const SHAPES_VAE_SCALE = 8;

export interface ShapesTarget {
  /** HWC float32 in [0, 1], as the pipeline's `tensors.images`. */
  rgb: Float32Array;
  attributes: ShapesAttributes;
}

/** ONNX GridSample, bilinear, align_corners = 0, zero padding, on one MASK_SIZE^2 map. */
function sampleBilinear(map: Float32Array, xn: number, yn: number): number {
  const x = ((xn + 1) * MASK_SIZE - 1) / 2;
  const y = ((yn + 1) * MASK_SIZE - 1) / 2;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const at = (i: number, j: number) => (i < 0 || j < 0 || i >= MASK_SIZE || j >= MASK_SIZE ? 0 : map[i * MASK_SIZE + j]);
  const fx = x - x0;
  const fy = y - y0;
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
}

/** Shape coverage (0..1) of every cell of an h x w latent grid, row-major. */
export function coverage(attributes: ShapesAttributes, h: number, w: number): Float32Array {
  const out = new Float32Array(h * w);
  if (attributes.shapes.length === 0) return out;
  const masks = shapeMasks();
  const n = MASK_SIZE * MASK_SIZE;
  const union = new Float32Array(n);
  for (const name of attributes.shapes) {
    const k = SHAPE_NAMES.indexOf(name);
    for (let p = 0; p < n; p++) union[p] = Math.max(union[p], masks[k * n + p]);
  }
  const shorter = Math.min(h, w);
  const px = axisPlacement(w, shorter, attributes.x, attributes.size);
  const py = axisPlacement(h, shorter, attributes.y, attributes.size);
  for (let i = 0; i < h; i++) {
    const yn = (cellCentre(i, h) - py.centre) / py.halfExtent;
    for (let j = 0; j < w; j++) out[i * w + j] = sampleBilinear(union, (cellCentre(j, w) - px.centre) / px.halfExtent, yn);
  }
  return out;
}

function latentSize(width: number, height: number): { h: number; w: number } {
  for (const [field, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v <= 0 || v % SHAPES_VAE_SCALE !== 0) {
      throw new InvalidInputError(field, `got ${v}`, `a positive multiple of ${SHAPES_VAE_SCALE}`);
    }
  }
  return { h: height / SHAPES_VAE_SCALE, w: width / SHAPES_VAE_SCALE };
}

/** The picture at latent resolution in [-1, 1] RGB, CHW [3, h, w] (unclipped; always within [-1, 1]). */
export function targetImageSpace(attributes: ShapesAttributes, h: number, w: number): Float32Array {
  const m = coverage(attributes, h, w);
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    const fg = 2 * attributes.foreground[c] - 1;
    const bg = 2 * attributes.background[c] - 1;
    for (let p = 0; p < h * w; p++) out[c * h * w + p] = bg + m[p] * (fg - bg);
  }
  return out;
}

/** The UNet's x0 for `prompt`: scaled latents [4, h, w] (scaling_factor x VAE latent). */
export function shapesLatentTarget(prompt: string, h: number, w: number): Float32Array {
  const img = targetImageSpace(promptAttributes(prompt), h, w);
  const out = new Float32Array(LATENT_CHANNELS * h * w);
  for (let p = 0; p < h * w; p++) {
    const latent = latentOfRgb([img[p], img[h * w + p], img[2 * h * w + p]]);
    for (let k = 0; k < LATENT_CHANNELS; k++) out[k * h * w + p] = latent[k];
  }
  return out;
}

/** [-1, 1] CHW at latent resolution -> HWC [0, 1] at pixel resolution (x/2 + 0.5, clamped; nearest x8). */
function toPixels(img: Float32Array, h: number, w: number): Float32Array {
  const W = w * SHAPES_VAE_SCALE;
  const H = h * SHAPES_VAE_SCALE;
  const out = new Float32Array(H * W * 3);
  for (let y = 0; y < H; y++) {
    const i = Math.floor(y / SHAPES_VAE_SCALE);
    for (let x = 0; x < W; x++) {
      const p = i * w + Math.floor(x / SHAPES_VAE_SCALE);
      for (let c = 0; c < 3; c++) out[(y * W + x) * 3 + c] = Math.min(1, Math.max(0, img[c * h * w + p] / 2 + 0.5));
    }
  }
  return out;
}

/**
 * The VAE decoder and the pipeline's post-processing in closed form: scaled latents [4, h, w] (what
 * the denoising loop ends with) -> HWC [0, 1] pixels.
 */
export function shapesDecode(latents: ArrayLike<number>, h: number, w: number): Float32Array {
  const img = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) {
    const rgb = rgbOfLatent([0, 1, 2, 3].map((k) => latents[k * h * w + p]));
    for (let c = 0; c < 3; c++) img[c * h * w + p] = rgb[c];
  }
  return toPixels(img, h, w);
}

/** The picture the shapes model draws for `prompt` at width x height pixels (without guidance, or with an empty negative prompt). */
export function shapesTarget(prompt: string, width: number, height: number): ShapesTarget {
  const { h, w } = latentSize(width, height);
  const attributes = promptAttributes(prompt);
  return { rgb: toPixels(targetImageSpace(attributes, h, w), h, w), attributes };
}

/**
 * The picture under classifier-free guidance with weight `guidanceScale` (> 1): the ideal denoiser
 * of a one-point distribution turns eps_u + w (eps_c - eps_u) into the denoiser of
 * x0_u + w (x0_c - x0_u), and the decoder is linear, so this is clip(img_u + w (img_c - img_u)).
 */
export function shapesGuidedTarget(prompt: string, negativePrompt: string, guidanceScale: number, width: number, height: number): Float32Array {
  const { h, w } = latentSize(width, height);
  const cond = targetImageSpace(promptAttributes(prompt), h, w);
  const uncond = targetImageSpace(promptAttributes(negativePrompt), h, w);
  const guided = cond.map((c, i) => uncond[i] + guidanceScale * (c - uncond[i]));
  return toPixels(guided, h, w);
}

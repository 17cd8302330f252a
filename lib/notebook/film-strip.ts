/**
 * The denoising film strip: the latents of chosen steps, kept while a generation runs
 * (`StepProgress.latents`) and decoded afterwards with the model's VAE, shown as one labelled row.
 */
import type { TextToImagePipeline } from "../diffusion/pipeline.js";
import type { GenerateOptionsInput } from "../diffusion/options.js";
import type { GenerateResult, StepProgress } from "../diffusion/stable-diffusion.js";
import type { Latents } from "../diffusion/latents.js";
import { InvalidInputError } from "../errors.js";
import type { RgbImage } from "../images/postprocess.js";
import type { Display } from "./display.js";
import { imageGridHtml } from "./images.js";

export interface FilmFrame {
  /** 1-based step after which the latents were taken. */
  step: number;
  totalSteps: number;
  timestep: number;
  image: RgbImage;
}

export interface FilmStripOptions {
  /** How many frames, evenly spaced, the last step included (default 6). */
  frames?: number;
  /** Or exactly these 1-based steps. */
  steps?: readonly number[];
  /** Also called after every step (e.g. a progress bar). */
  onStep?: (p: StepProgress) => void;
  signal?: AbortSignal;
}

/** Evenly spaced 1-based steps out of `total`, ending at the last one. */
export function filmStripSteps(total: number, frames: number): number[] {
  if (!Number.isInteger(frames) || frames < 1) throw new InvalidInputError("frames", `${frames} is not a frame count`, "an integer >= 1");
  const n = Math.min(frames, total);
  return [...new Set(Array.from({ length: n }, (_, i) => Math.round(((i + 1) * total) / n)))];
}

/** Generates `request` (its first image) and decodes the latents after the chosen steps. */
export async function denoisingFilmStrip(
  pipe: TextToImagePipeline,
  request: GenerateOptionsInput,
  options: FilmStripOptions = {},
): Promise<{ result: GenerateResult; frames: FilmFrame[] }> {
  const kept: { step: number; totalSteps: number; timestep: number; latents: Latents }[] = [];
  let wanted: Set<number> | undefined;
  const result = await pipe.generate(request, {
    ...(options.signal ? { signal: options.signal } : {}),
    onStep: (p) => {
      wanted ??= new Set(options.steps ?? filmStripSteps(p.totalSteps, options.frames ?? 6));
      if (wanted.has(p.step) && p.latents) {
        const [, c, h, w] = p.latents.dims;
        // the first image of the batch, copied: later steps may reuse buffers
        kept.push({ step: p.step, totalSteps: p.totalSteps, timestep: p.timestep, latents: { data: p.latents.data.slice(0, c * h * w), dims: [1, c, h, w] } });
      }
      options.onStep?.(p);
    },
  });
  const frames: FilmFrame[] = [];
  for (const k of kept) {
    const [image] = await pipe.decodeLatents(k.latents, options.signal ? { signal: options.signal } : {});
    frames.push({ step: k.step, totalSteps: k.totalSteps, timestep: k.timestep, image });
  }
  return { result, frames };
}

/** One row of frames captioned "step k/N (t=...)". */
export async function showFilmStrip(display: Display, frames: readonly FilmFrame[], options: { width?: number; title?: string } = {}): Promise<void> {
  display.html(
    await imageGridHtml([frames.map((f) => ({ image: f.image, caption: `step ${f.step}/${f.totalSteps} (t=${Math.round(f.timestep * 100) / 100})` }))], {
      ...(options.width !== undefined ? { cellWidth: options.width } : {}),
      ...(options.title !== undefined ? { title: options.title } : {}),
    }),
  );
}

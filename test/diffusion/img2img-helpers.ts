/** The prepare_latents cases of test/reference/img2img.py and img2img_families.py, replayed here. */
import type { VaeScaling } from "../../lib/diffusion/decode.js";
import { TorchGenerator } from "../../lib/diffusion/generator.js";
import { noisedInitLatents, sampleLatentDistribution } from "../../lib/diffusion/img2img.js";
import type { Scheduler } from "../../lib/schedulers/scheduler.js";

/** One latents case of the reference JSON: the seed, the shapes and diffusers' latents (base64 float32). */
export interface LatentsCase {
  seed: number;
  images_per_prompt: number;
  latent_shape: number[];
  latents_shape: number[];
  latents: string;
}

/** A base64 float32 array of the reference JSON. */
export function base64Float32(b64: string): Float32Array {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** The reference scripts' stand-in VAE encoder output: latent_parameters [1, 2C, h, w] from a fixed formula. */
export function standInLatentParameters(latentShape: readonly number[]): Float32Array {
  const [, ch, h, w] = latentShape;
  const n = ch * h * w;
  const params = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    params[i] = Math.fround(((i * 29 + 3) % 61) / 15 - 2);
    params[n + i] = ((i * 17 + 5) % 57) - 34;
  }
  return params;
}

/**
 * diffusers' image-to-image prepare_latents on the stand-in encoder output, with one generator
 * seeded as the case: sample the latent distribution, then draw the noise and noise to `t`.
 * Gives the latents' dims and the largest difference from diffusers' latents relative to the value
 * (exp(0.5 * logvar) reaches exp(10), so latents reach thousands).
 */
export function replayInitLatents(c: LatentsCase, vae: VaeScaling, scheduler: Scheduler, t: number): { dims: readonly number[]; maxRelError: number } {
  const [, ch, h, w] = c.latent_shape;
  const generator = new TorchGenerator(c.seed);
  const sample = sampleLatentDistribution(standInLatentParameters(c.latent_shape), [1, 2 * ch, h, w], generator);
  const { latents } = noisedInitLatents(sample, vae, c.images_per_prompt, scheduler, t, generator);
  const ref = base64Float32(c.latents);
  const maxRelError = Math.max(...Array.from(latents.data, (v, i) => Math.abs(v - ref[i]) / Math.max(1, Math.abs(ref[i]))));
  return { dims: latents.dims, maxRelError };
}

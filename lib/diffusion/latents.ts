/** Latent tensors: their shape for a request, their initial noise, and batch helpers. */
import { InvalidInputError } from "../errors.js";
import type { TorchGenerator } from "./generator.js";

export interface Latents {
  data: Float32Array;
  dims: [number, number, number, number];
}

/** [B, C, H/f, W/f] where f is the VAE's down-sampling factor (8 for SD). */
export function latentShape(
  batch: number,
  channels: number,
  height: number,
  width: number,
  vaeScaleFactor: number,
): Latents["dims"] {
  return [batch, channels, Math.floor(height / vaeScaleFactor), Math.floor(width / vaeScaleFactor)];
}

/**
 * diffusers' prepare_latents: torch.randn(shape, generator) unless the caller gave latents, then
 * scaled by the scheduler's init_noise_sigma.
 */
export function prepareLatents(
  dims: Latents["dims"],
  initNoiseSigma: number,
  generator: TorchGenerator,
  given?: Float32Array,
): Latents {
  const n = dims[0] * dims[1] * dims[2] * dims[3];
  let noise: Float32Array;
  if (given) {
    if (given.length !== n) {
      throw new InvalidInputError("latents", `has ${given.length} values`, `${n} values, shape [${dims.join(", ")}]`);
    }
    noise = given;
  } else {
    noise = generator.randn(n);
  }
  const data = new Float32Array(n);
  const s = Math.fround(initNoiseSigma);
  for (let i = 0; i < n; i++) data[i] = noise[i] * s;
  return { data, dims };
}

/** [x, x] along the batch axis, for the guided (negative, positive) UNet call. */
export function duplicateBatch(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length * 2);
  out.set(x, 0);
  out.set(x, x.length);
  return out;
}

/** Repeat each of B items of `itemSize` values `times` times consecutively (torch repeat_interleave). */
export function repeatEach(x: Float32Array, itemSize: number, times: number): Float32Array {
  if (times === 1) return x;
  const items = x.length / itemSize;
  const out = new Float32Array(x.length * times);
  for (let b = 0; b < items; b++) {
    const item = x.subarray(b * itemSize, (b + 1) * itemSize);
    for (let r = 0; r < times; r++) out.set(item, (b * times + r) * itemSize);
  }
  return out;
}

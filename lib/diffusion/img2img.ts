/**
 * Image-to-image stages (SDEdit, Meng et al. 2022): encode the init image to latents, keep the
 * tail of the schedule that `strength` selects, and noise the latents to its first timestep with
 * the scheduler's forward process q(x_t | x_0). Arithmetic and generator draw order as diffusers'
 * StableDiffusionImg2ImgPipeline (get_timesteps, prepare_latents).
 */
import { InvalidInputError } from "../errors.js";
import type { Scheduler } from "../schedulers/scheduler.js";
import type { TorchGenerator } from "./generator.js";
import type { Latents } from "./latents.js";

export interface Img2ImgSchedule {
  /** The timesteps that run: the scheduler's, from index t_start * order on. */
  timesteps: number[];
  /** diffusers' reported step count: num_inference_steps - t_start. */
  numSteps: number;
  tStart: number;
}

/**
 * diffusers' get_timesteps: init_timestep = min(int(steps * strength), steps),
 * t_start = max(steps - init_timestep, 0), timesteps = scheduler.timesteps[t_start * order:].
 * Call after `scheduler.setTimesteps(steps)`.
 */
export function img2imgSchedule(scheduler: Scheduler, numInferenceSteps: number, strength: number): Img2ImgSchedule {
  // int() truncates; the product in float64, as Python multiplies an int by a float.
  const initTimestep = Math.min(Math.trunc(numInferenceSteps * strength), numInferenceSteps);
  const tStart = Math.max(numInferenceSteps - initTimestep, 0);
  const timesteps = scheduler.timesteps.slice(tStart * scheduler.order);
  if (timesteps.length === 0) {
    throw new InvalidInputError(
      "strength",
      `${strength} with ${numInferenceSteps} steps leaves no denoising step (int(steps * strength) = ${initTimestep})`,
      `at least ${Math.ceil(1 / numInferenceSteps * 1e6) / 1e6} for ${numInferenceSteps} steps, or more steps`,
    );
  }
  return { timesteps, numSteps: numInferenceSteps - tStart, tStart };
}

const f = Math.fround;

/**
 * A sample of the VAE's diagonal Gaussian posterior from `latent_parameters` [B, 2C, h, w] (mean,
 * logvar on channels): mean + exp(0.5 * clamp(logvar, -30, 20)) * randn, the noise drawn from the
 * generator for the mean's shape, as diffusers' DiagonalGaussianDistribution.sample(generator).
 */
export function sampleLatentDistribution(parameters: Float32Array, dims: readonly number[], generator: TorchGenerator): Latents {
  const [b, c2, h, w] = dims;
  const c = c2 / 2;
  const plane = c * h * w;
  const eps = generator.randn(b * plane);
  const out = new Float32Array(b * plane);
  for (let n = 0; n < b; n++) {
    const base = n * 2 * plane;
    for (let i = 0; i < plane; i++) {
      const logvar = Math.min(Math.max(parameters[base + plane + i], -30), 20);
      const std = f(Math.exp(f(0.5 * logvar)));
      out[n * plane + i] = parameters[base + i] + f(std * eps[n * plane + i]);
    }
  }
  return { data: out, dims: [b, c, h, w] };
}

/**
 * diffusers' prepare_latents for image-to-image: the encoded image's latents times the VAE's
 * scaling_factor, repeated to `batch`, plus the scheduler's forward noise at `t` with noise drawn
 * from the generator after the latent sample (or the caller's noise).
 */
export function noisedInitLatents(
  imageLatents: Latents,
  scalingFactor: number,
  batch: number,
  scheduler: Scheduler,
  t: number,
  generator: TorchGenerator,
  givenNoise?: Float32Array,
): { latents: Latents; noise: Float32Array } {
  const [b, c, h, w] = imageLatents.dims;
  if (batch % b !== 0) throw new RangeError(`cannot repeat ${b} image latents to a batch of ${batch}`);
  const sf = f(scalingFactor);
  const one = imageLatents.data.map((v) => f(sf * v));
  const init = new Float32Array(batch * c * h * w);
  for (let r = 0; r < batch / b; r++) init.set(one, r * one.length);
  let noise: Float32Array;
  if (givenNoise) {
    if (givenNoise.length !== init.length) {
      throw new InvalidInputError("latents", `has ${givenNoise.length} values`, `${init.length} values, shape [${[batch, c, h, w].join(", ")}]`);
    }
    noise = givenNoise;
  } else {
    noise = generator.randn(init.length);
  }
  return { latents: { data: scheduler.addNoise(init, noise, t), dims: [batch, c, h, w] }, noise };
}

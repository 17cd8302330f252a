/**
 * Image-to-image stages (SDEdit, Meng et al. 2022): encode the init image to latents, keep the
 * tail of the schedule that `strength` selects, and noise the latents to its first timestep with
 * the scheduler's forward process q(x_t | x_0). Arithmetic and generator draw order as diffusers'
 * img2img pipelines (get_timesteps, prepare_latents), which differ per family in how `strength`
 * picks the schedule: see the three schedule functions.
 */
import { InvalidInputError } from "../errors.js";
import { LCMScheduler } from "../schedulers/lcm.js";
import type { Scheduler } from "../schedulers/scheduler.js";
import type { VaeScaling } from "./decode.js";
import type { TorchGenerator } from "./generator.js";
import type { Latents } from "./latents.js";

export interface Img2ImgSchedule {
  /** The timesteps that run: the scheduler's, from index t_start * order on. */
  timesteps: number[];
  /** diffusers' reported step count: num_inference_steps - t_start. */
  numSteps: number;
  /** Index of the first timestep that runs (0 for LCM, whose schedule is rebuilt for the strength). */
  tStart: number;
}

/** The scheduler's timesteps from t_start on (refused when none is left). */
function tail(scheduler: Scheduler, numInferenceSteps: number, strength: number, tStart: number): Img2ImgSchedule {
  const timesteps = scheduler.timesteps.slice(tStart * scheduler.order);
  if (timesteps.length === 0) {
    throw new InvalidInputError(
      "strength",
      `${strength} with ${numInferenceSteps} steps leaves no denoising step (int(steps * strength) = ${numInferenceSteps - tStart})`,
      `at least ${Math.ceil(1 / numInferenceSteps * 1e6) / 1e6} for ${numInferenceSteps} steps, or more steps`,
    );
  }
  return { timesteps, numSteps: numInferenceSteps - tStart, tStart };
}

/**
 * diffusers' get_timesteps of the SD 1.x/2.x and SDXL img2img pipelines:
 * init_timestep = min(int(steps * strength), steps), t_start = max(steps - init_timestep, 0),
 * timesteps = scheduler.timesteps[t_start * order:]. Call after `scheduler.setTimesteps(steps)`.
 */
export function img2imgSchedule(scheduler: Scheduler, numInferenceSteps: number, strength: number): Img2ImgSchedule {
  // int() truncates; the product in float64, as Python multiplies an int by a float.
  const initTimestep = Math.min(Math.trunc(numInferenceSteps * strength), numInferenceSteps);
  return tail(scheduler, numInferenceSteps, strength, Math.max(numInferenceSteps - initTimestep, 0));
}

/**
 * StableDiffusion3Img2ImgPipeline.get_timesteps (diffusers v0.29.2) truncates the other way round:
 * t_start = int(max(steps - steps * strength, 0)), so 10 steps at strength 0.75 run 8 steps (SD's
 * rule runs 7) and any strength > 0 runs at least one. Call after `scheduler.setTimesteps(steps)`;
 * the scheduler's step index then starts at t_start (set_begin_index), which the flow-matching
 * scheduler's addNoise (scale_noise) finds from the first timestep.
 */
export function sd3Img2ImgSchedule(scheduler: Scheduler, numInferenceSteps: number, strength: number): Img2ImgSchedule {
  const initTimestep = Math.min(numInferenceSteps * strength, numInferenceSteps);
  return tail(scheduler, numInferenceSteps, strength, Math.trunc(Math.max(numInferenceSteps - initTimestep, 0)));
}

/**
 * LatentConsistencyModelImg2ImgPipeline hands `strength` to LCMScheduler.set_timesteps, which
 * picks num_inference_steps steps out of the shortened distillation schedule: all n steps run,
 * from a lower first timestep (4 steps at strength 0.5: 499, 379, 259, 139). It replaces the
 * scheduler's timesteps. Any other scheduler (diffusers' LCM pipeline cannot run one here) gets
 * the generic tail of `img2imgSchedule` after `setTimesteps(steps)`.
 */
export function lcmImg2imgSchedule(scheduler: Scheduler, numInferenceSteps: number, strength: number): Img2ImgSchedule {
  if (!(scheduler instanceof LCMScheduler)) {
    scheduler.setTimesteps(numInferenceSteps);
    return img2imgSchedule(scheduler, numInferenceSteps, strength);
  }
  scheduler.setTimesteps(numInferenceSteps, strength);
  return { timesteps: [...scheduler.timesteps], numSteps: numInferenceSteps, tStart: 0 };
}

/** `strength` alone, without `image`, is a mistake (text-to-image would ignore it). */
export function requireImageForStrength(o: { image?: unknown; strength?: number }): void {
  if (o.strength !== undefined && o.image === undefined) {
    throw new InvalidInputError("strength", "is used only for image-to-image", "strength together with image");
  }
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
 * diffusers' prepare_latents for image-to-image: the encoded image's latents moved into the
 * denoiser's latent space, (z - shift_factor) * scaling_factor (shift 0 but for SD3's VAE),
 * repeated to `batch`, plus the scheduler's forward noise at `t` (addNoise: add_noise, or
 * flow matching's scale_noise) with noise drawn from the generator after the latent sample (or
 * the caller's noise).
 */
export function noisedInitLatents(
  imageLatents: Latents,
  vae: VaeScaling,
  batch: number,
  scheduler: Scheduler,
  t: number,
  generator: TorchGenerator,
  givenNoise?: Float32Array,
): { latents: Latents; noise: Float32Array } {
  const [b, c, h, w] = imageLatents.dims;
  if (batch % b !== 0) throw new RangeError(`cannot repeat ${b} image latents to a batch of ${batch}`);
  const sf = f(vae.scalingFactor);
  const shift = f(vae.shiftFactor);
  const one = shift === 0 ? imageLatents.data.map((v) => f(sf * v)) : imageLatents.data.map((v) => f(f(v - shift) * sf));
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

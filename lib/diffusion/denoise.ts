/**
 * The denoising loop every family runs (diffusers' `for t in timesteps` block): scale the model
 * input, evaluate the denoiser on the guided batch, apply classifier-free guidance, step the
 * scheduler. What the denoiser is fed besides the latents is the caller's `predict`.
 */
import { throwIfCancelled } from "../errors.js";
import type { Scheduler } from "../schedulers/scheduler.js";
import type { TorchGenerator } from "./generator.js";
import { applyGuidance, doesGuidance } from "./guidance.js";
import { duplicateBatch, type Latents } from "./latents.js";
import type { StepProgress } from "./stable-diffusion.js";

export interface DenoiseOptions {
  scheduler: Scheduler;
  /** Initial latents (already scaled by init_noise_sigma). */
  latents: Float32Array;
  /** Their shape, reported with each step's latents. */
  dims: Latents["dims"];
  /** The timesteps to run (default: all of the scheduler's, after setTimesteps). */
  timesteps?: readonly number[];
  guidanceScale: number;
  generator: TorchGenerator;
  eta: number;
  /** One denoiser evaluation: the scaled model input ([uncond; cond] rows when guided) at timestep t. */
  predict: (modelInput: Float32Array, t: number) => Promise<Float32Array>;
  onStep?: (progress: StepProgress) => void;
  signal?: AbortSignal;
}

export async function denoise(o: DenoiseOptions): Promise<{ latents: Float32Array; stepMs: number[] }> {
  const guided = doesGuidance(o.guidanceScale);
  const timesteps = o.timesteps ?? o.scheduler.timesteps;
  const t0 = performance.now();
  const stepMs: number[] = [];
  let latents = o.latents;
  for (let i = 0; i < timesteps.length; i++) {
    throwIfCancelled(o.signal);
    const ts = performance.now();
    const t = timesteps[i];
    const modelInput = o.scheduler.scaleModelInput(guided ? duplicateBatch(latents) : latents, t);
    const noise = await o.predict(modelInput, t);
    const noisePred = guided ? applyGuidance(noise, o.guidanceScale) : noise;
    latents = o.scheduler.step(noisePred, t, latents, { generator: o.generator, eta: o.eta }).prevSample;
    stepMs.push(performance.now() - ts);
    o.onStep?.({ step: i + 1, totalSteps: timesteps.length, timestep: t, elapsedMs: performance.now() - t0, latents: { data: latents, dims: o.dims } });
  }
  return { latents, stepMs };
}

/**
 * The contract every scheduler honours, as in diffusers: call `setTimesteps(n)` before the loop,
 * loop over `timesteps`, scale the UNet input with `scaleModelInput`, start from noise times
 * `initNoiseSigma`, and advance with `step`. The pipeline never asks which scheduler it holds.
 *
 * Arrays are flat Float32Array in C order; schedulers work element-wise so they need no shape,
 * except where they draw noise (the count of elements is all torch.randn needs).
 */
import type { TorchGenerator } from "../diffusion/generator.js";

export interface StepOptions {
  /** The seeded generator; ancestral and LCM schedulers draw noise from it (as diffusers passes `generator`). */
  generator?: TorchGenerator;
  /** DDIM's eta (0 = deterministic DDIM). Ignored by schedulers without it. */
  eta?: number;
}

export interface StepResult {
  prevSample: Float32Array;
  /** The model's estimate of x0, where the scheduler computes one. */
  predOriginalSample?: Float32Array;
}

export interface Scheduler {
  /** diffusers class name, e.g. "EulerDiscreteScheduler". */
  readonly className: string;
  /** Timesteps of the loop after `setTimesteps` (PNDM may repeat one; Heun doubles them). */
  readonly timesteps: readonly number[];
  /** How diffusers holds the timesteps: int64 (DDIM, PNDM, DPM++, LCM) or float32 (Euler, LMS, Heun). */
  readonly timestepDtype: "int64" | "float32";
  /** Noise sigma of the first step: latents start as noise * initNoiseSigma. */
  readonly initNoiseSigma: number;
  /** Solver order (1 for most; LMS/PNDM/DPM keep a history). */
  readonly order: number;
  setTimesteps(numInferenceSteps: number): void;
  /** Scale the denoiser input for step timestep `t` (identity for most; Euler-family divide by sqrt(sigma^2+1)). */
  scaleModelInput(sample: Float32Array, t: number): Float32Array;
  step(modelOutput: Float32Array, t: number, sample: Float32Array, options?: StepOptions): StepResult;
  /** Forward diffusion q(x_t | x_0), for image-to-image: noisy = f(original, noise, t). */
  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array;
}

/**
 * Euler's method on the rectified-flow ODE dx/dsigma = v of Stable Diffusion 3 (Esser et al. 2024,
 * "Scaling Rectified Flow Transformers", section 2): x_sigma = (1 - sigma) x0 + sigma noise, the
 * transformer predicts the velocity v = noise - x0, and a step moves x by v * (sigma_next - sigma).
 * The schedule is shifted towards high noise by sigma' = shift sigma / (1 + (shift - 1) sigma)
 * (section 5.3.2, "resolution-dependent shifting"; SD3 uses shift 3.0).
 *
 * Port of diffusers v0.29.2 `FlowMatchEulerDiscreteScheduler` with its float32/float64 steps: the
 * training table in float32 torch, the inference schedule in float64 numpy, rounded to float32.
 */
import { InvalidInputError } from "../errors.js";
import { checkSameLength } from "./add-noise.js";
import { checkNumInferenceSteps, resolveConfig, withDefaults, type FromConfigOptions } from "./config.js";
import { linspace } from "./numpy-like.js";
import type { Scheduler, StepOptions, StepResult } from "./scheduler.js";
import { indexForTimestep } from "./timesteps.js";

const f = Math.fround;

export interface FlowMatchEulerDiscreteSchedulerConfig {
  num_train_timesteps: number;
  /** Timestep shift (Esser et al. 2024, eq. 23); 1 = no shift, SD3's scheduler_config.json says 3.0. */
  shift: number;
}

/** `FlowMatchEulerDiscreteScheduler.__init__` defaults of diffusers v0.29.2. */
export const DEFAULTS: Readonly<FlowMatchEulerDiscreteSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  shift: 1.0,
});

/** sigma' = shift sigma / (1 + (shift - 1) sigma), each operation rounded with `round`. */
function shiftSigma(sigma: number, shift: number, round: (x: number) => number): number {
  return round(round(shift * sigma) / round(1 + round((shift - 1) * sigma)));
}

export class FlowMatchEulerDiscreteScheduler implements Scheduler {
  static readonly className = "FlowMatchEulerDiscreteScheduler";
  static readonly defaults = DEFAULTS;

  static fromConfig(raw: Record<string, unknown>, options?: FromConfigOptions): FlowMatchEulerDiscreteScheduler {
    return new FlowMatchEulerDiscreteScheduler(resolveConfig(FlowMatchEulerDiscreteScheduler.className, DEFAULTS, raw, options).given);
  }

  readonly className = FlowMatchEulerDiscreteScheduler.className;
  readonly timestepDtype = "float32";
  readonly order = 1;
  /** The pipeline starts from pure noise (sigma_max is 1 at every shift). */
  readonly initNoiseSigma = 1;
  readonly config: Readonly<FlowMatchEulerDiscreteSchedulerConfig>;
  readonly usedDefaults: readonly string[];
  /** Ends of the shifted training schedule (float32 values), which set_timesteps spans. */
  readonly sigmaMax: number;
  readonly sigmaMin: number;
  private _sigmas: Float32Array;
  private _timesteps: number[];
  private stepIndex: number | undefined;

  constructor(config: Partial<FlowMatchEulerDiscreteSchedulerConfig> = {}) {
    ({ config: this.config, usedDefaults: this.usedDefaults } = withDefaults(DEFAULTS, config));
    const { num_train_timesteps: T, shift } = this.config;
    if (!Number.isInteger(T) || T < 1) throw new InvalidInputError("num_train_timesteps", `${T} is not a step count`, "a positive integer");
    if (!(shift > 0) || !Number.isFinite(shift)) throw new InvalidInputError("shift", `${shift} is not a shift`, "a positive number");
    // Training table in float32: timesteps T..1, sigmas t / T, shifted.
    const sigmas = Float32Array.from({ length: T }, (_, i) => shiftSigma(f(f(T - i) / T), f(shift), f));
    this.sigmaMax = sigmas[0];
    this.sigmaMin = sigmas[T - 1];
    this._sigmas = sigmas;
    this._timesteps = [...sigmas].map((s) => f(s * T));
  }

  get timesteps(): readonly number[] {
    return this._timesteps;
  }

  /** Sigmas of the inference schedule, with the final 0 after setTimesteps. */
  get sigmas(): Float32Array {
    return this._sigmas;
  }

  setTimesteps(numInferenceSteps: number): void {
    const { num_train_timesteps: T, shift } = this.config;
    checkNumInferenceSteps(numInferenceSteps, T);
    // numpy float64: linspace over sigma * T, back to sigma, shifted; then float32
    const sigmas = linspace(this.sigmaMax * T, this.sigmaMin * T, numInferenceSteps).map((t) => shiftSigma(t / T, shift, (x) => x));
    const sigmas32 = Float32Array.from(sigmas);
    this._timesteps = [...sigmas32].map((s) => f(s * T));
    this._sigmas = Float32Array.from([...sigmas32, 0]);
    this.stepIndex = undefined;
  }

  /** The transformer takes the latents unscaled. */
  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, options: StepOptions = {}): StepResult {
    checkSameLength(modelOutput, sample);
    const i = this.currentIndex(t);
    const sigma = this._sigmas[i];
    // diffusers draws the (unused, s_churn = 0) churn noise every step: the generator advances as there
    options.generator?.randn(modelOutput.length);
    const dt = f(this._sigmas[i + 1] - sigma);
    const x0 = new Float32Array(sample.length);
    const prev = new Float32Array(sample.length);
    for (let k = 0; k < sample.length; k++) {
      const s = sample[k];
      const denoised = f(s - f(modelOutput[k] * sigma));
      x0[k] = denoised;
      prev[k] = s + f(f(f(s - denoised) / sigma) * dt);
    }
    this.stepIndex = i + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }

  /** Forward process of flow matching, diffusers' `scale_noise`: sigma noise + (1 - sigma) x0. */
  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    checkSameLength(original, noise);
    // as diffusers, the first call fixes the step index (image-to-image starts the loop there)
    this.stepIndex ??= indexForTimestep(this._timesteps, t);
    const sigma = this._sigmas[this.stepIndex];
    const keep = f(1 - sigma);
    return original.map((x, k) => f(sigma * noise[k]) + f(keep * x));
  }

  private currentIndex(t: number): number {
    if (this._sigmas[this._sigmas.length - 1] !== 0) throw new InvalidInputError("timestep", "call setTimesteps before stepping");
    this.stepIndex ??= indexForTimestep(this._timesteps, t);
    return this.stepIndex;
  }
}

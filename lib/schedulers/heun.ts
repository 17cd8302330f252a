/**
 * Heun's method (Karras et al. 2022, Algorithm 1 with no churn): each step takes an Euler step,
 * evaluates the model again at its end, and redoes the step with the mean of the two slopes. The
 * schedule therefore lists each timestep but the first twice (2n - 1 model calls for n steps).
 * Port of diffusers v0.27.2 `HeunDiscreteScheduler`.
 */
import { InvalidInputError } from "../errors.js";
import { addNoiseVe, checkSameLength } from "./add-noise.js";
import { alphasCumprod, makeBetas } from "./betas.js";
import {
  checkNumInferenceSteps,
  checkOneOf,
  resolveConfig,
  TIMESTEP_SPACINGS,
  withDefaults,
  type FromConfigOptions,
  type PredictionType,
  type TimestepSpacing,
} from "./config.js";
import { interpIndexed } from "./numpy-like.js";
import type { Scheduler, StepResult } from "./scheduler.js";
import {
  eulerInitNoiseSigma,
  karrasSchedule,
  logSigmas,
  scaleBySigma,
  sigmasFromAlphasCumprod,
} from "./sigmas.js";
import { indexForTimestep, spacedTimesteps } from "./timesteps.js";

const f = Math.fround;

export interface HeunDiscreteSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  /** Heun also knows "exp" (alphabar = exp(-12 t)). */
  beta_schedule: string;
  trained_betas: number[] | null;
  prediction_type: PredictionType;
  use_karras_sigmas: boolean;
  clip_sample: boolean;
  clip_sample_range: number;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

/** `HeunDiscreteScheduler.__init__` defaults of diffusers v0.27.2 (note SD's betas as defaults). */
export const DEFAULTS: Readonly<HeunDiscreteSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: "linear",
  trained_betas: null,
  prediction_type: "epsilon",
  use_karras_sigmas: false,
  clip_sample: false,
  clip_sample_range: 1.0,
  timestep_spacing: "linspace",
  steps_offset: 0,
});

export class HeunDiscreteScheduler implements Scheduler {
  static readonly className = "HeunDiscreteScheduler";
  static readonly defaults = DEFAULTS;

  /** Build from a scheduler_config.json object, like diffusers' `HeunDiscreteScheduler.from_config`. */
  static fromConfig(raw: Record<string, unknown>, options?: FromConfigOptions): HeunDiscreteScheduler {
    return new HeunDiscreteScheduler(resolveConfig(HeunDiscreteScheduler.className, DEFAULTS, raw, options).given);
  }

  readonly className = HeunDiscreteScheduler.className;
  readonly timestepDtype = "float32";
  readonly order = 2;
  readonly config: Readonly<HeunDiscreteSchedulerConfig>;
  readonly usedDefaults: readonly string[];
  private readonly sigmaTable: Float32Array;
  private _sigmas: Float32Array;
  private _timesteps: number[] = [];
  private stepIndex: number | undefined;
  /** Between the two halves of a step: the first slope, the step size and the starting sample. */
  private pending: { derivative: Float32Array; dt: number; sample: Float32Array } | undefined;

  constructor(config: Partial<HeunDiscreteSchedulerConfig> = {}) {
    ({ config: this.config, usedDefaults: this.usedDefaults } = withDefaults(DEFAULTS, config));
    const c = this.config;
    checkOneOf("prediction_type", c.prediction_type, ["epsilon", "v_prediction", "sample"]);
    checkOneOf("timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS);
    checkOneOf("beta_schedule", c.beta_schedule, ["linear", "scaled_linear", "squaredcos_cap_v2", "exp"]);
    this.sigmaTable = sigmasFromAlphasCumprod(alphasCumprod(makeBetas(c)));
    this._sigmas = Float32Array.from([...this.sigmaTable].reverse().concat(0));
  }

  get timesteps(): readonly number[] {
    return this._timesteps;
  }

  get sigmas(): Float32Array {
    return this._sigmas;
  }

  get initNoiseSigma(): number {
    return eulerInitNoiseSigma(this._sigmas, this.config.timestep_spacing);
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkNumInferenceSteps(numInferenceSteps, c.num_train_timesteps);
    let timesteps = spacedTimesteps(c.timestep_spacing, c.num_train_timesteps, numInferenceSteps, c.steps_offset).map(f);
    let sigmas = timesteps.map((t) => interpIndexed(t, this.sigmaTable));
    if (c.use_karras_sigmas) {
      // diffusers keeps these timesteps in float64
      ({ sigmas, timesteps } = karrasSchedule(sigmas, logSigmas(this.sigmaTable), numInferenceSteps));
    }
    const s32 = [...Float32Array.from(sigmas)];
    // every sigma but the first and the final 0 is visited twice: once as an Euler target, once as the
    // point where the correction is evaluated
    this._sigmas = Float32Array.from([s32[0], ...s32.slice(1).flatMap((s) => [s, s]), 0]);
    this._timesteps = [timesteps[0], ...timesteps.slice(1).flatMap((t) => [t, t])];
    this.stepIndex = undefined;
    this.pending = undefined;
  }

  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    return scaleBySigma(sample, this._sigmas[this.currentIndex(t)]);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
    checkSameLength(modelOutput, sample);
    const i = this.currentIndex(t);
    const firstOrder = this.pending === undefined;
    const sigma = firstOrder ? this._sigmas[i] : this._sigmas[i - 1];
    const next = firstOrder ? this._sigmas[i + 1] : this._sigmas[i];
    // the model was evaluated at sigma (Euler half) or at next (correction half)
    const at = firstOrder ? sigma : next;
    let x0: Float32Array;
    if (this.config.prediction_type === "epsilon") {
      x0 = sample.map((s, k) => s - f(at * modelOutput[k]));
    } else if (this.config.prediction_type === "v_prediction") {
      const s2 = f(f(at * at) + 1);
      const a = f(-at / f(Math.sqrt(s2)));
      x0 = sample.map((s, k) => f(modelOutput[k] * a) + f(s / s2));
    } else {
      x0 = Float32Array.from(modelOutput);
    }
    if (this.config.clip_sample) {
      const r = this.config.clip_sample_range;
      x0 = x0.map((v) => Math.min(Math.max(v, -r), r));
    }
    let prev: Float32Array;
    if (this.pending === undefined) {
      const derivative = sample.map((s, k) => f(s - x0[k]) / sigma);
      const dt = f(next - sigma);
      this.pending = { derivative, dt, sample };
      prev = sample.map((s, k) => s + f(derivative[k] * dt));
    } else {
      const { derivative: first, dt, sample: start } = this.pending;
      const mean = sample.map((s, k) => f(first[k] + f(f(s - x0[k]) / next)) / 2);
      this.pending = undefined;
      prev = start.map((s, k) => s + f(mean[k] * dt));
    }
    this.stepIndex = i + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    return addNoiseVe(original, noise, this._sigmas[indexForTimestep(this._timesteps, t)]);
  }

  private currentIndex(t: number): number {
    if (this._timesteps.length === 0) throw new InvalidInputError("timestep", "call setTimesteps before stepping");
    this.stepIndex ??= indexForTimestep(this._timesteps, t);
    return this.stepIndex;
  }
}

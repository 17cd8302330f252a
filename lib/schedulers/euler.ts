/**
 * Euler's method on the probability-flow ODE in the sigma parametrisation of Karras et al. (2022),
 * Algorithm 2 with s_churn = 0. Port of diffusers v0.27.2 `EulerDiscreteScheduler` (with
 * `use_karras_sigmas`, linear interpolation of sigmas, discrete or continuous timesteps).
 */
import { InvalidInputError } from "../errors.js";
import { addNoiseVe, checkSameLength } from "./add-noise.js";
import { alphasCumprod, makeBetas, rescaleZeroTerminalSnr } from "./betas.js";
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
import type { Scheduler, StepOptions, StepResult } from "./scheduler.js";
import {
  eulerInitNoiseSigma,
  karrasSchedule,
  logSigmas,
  scaleBySigma,
  sigmasFromAlphasCumprod,
} from "./sigmas.js";
import { indexForTimestep, spacedTimesteps } from "./timesteps.js";

const f = Math.fround;

export interface EulerDiscreteSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  prediction_type: PredictionType;
  /** How sigmas between training steps are found; only "linear" is ported. */
  interpolation_type: "linear";
  use_karras_sigmas: boolean;
  /** Bounds of the Karras schedule; null takes the ends of the training schedule. */
  sigma_min: number | null;
  sigma_max: number | null;
  timestep_spacing: TimestepSpacing;
  /** "continuous" (with v_prediction) feeds the model 0.25 * log(sigma) instead of a timestep. */
  timestep_type: "discrete" | "continuous";
  steps_offset: number;
  rescale_betas_zero_snr: boolean;
}

/** `EulerDiscreteScheduler.__init__` defaults of diffusers v0.27.2. */
export const DEFAULTS: Readonly<EulerDiscreteSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null,
  prediction_type: "epsilon",
  interpolation_type: "linear",
  use_karras_sigmas: false,
  sigma_min: null,
  sigma_max: null,
  timestep_spacing: "linspace",
  timestep_type: "discrete",
  steps_offset: 0,
  rescale_betas_zero_snr: false,
});

export class EulerDiscreteScheduler implements Scheduler {
  static readonly className = "EulerDiscreteScheduler";
  static readonly defaults = DEFAULTS;

  /** Build from a scheduler_config.json object, like diffusers' `EulerDiscreteScheduler.from_config`. */
  static fromConfig(raw: Record<string, unknown>, options?: FromConfigOptions): EulerDiscreteScheduler {
    return new EulerDiscreteScheduler(resolveConfig(EulerDiscreteScheduler.className, DEFAULTS, raw, options).given);
  }

  readonly className = EulerDiscreteScheduler.className;
  readonly timestepDtype = "float32";
  readonly order = 1;
  readonly config: Readonly<EulerDiscreteSchedulerConfig>;
  readonly usedDefaults: readonly string[];
  /** Sigmas of the training schedule, by timestep (float32). */
  private readonly sigmaTable: Float32Array;
  /** Sigmas of the inference schedule, one per timestep and a final 0 (float32). */
  private _sigmas: Float32Array;
  private _timesteps: number[] = [];
  private stepIndex: number | undefined;

  constructor(config: Partial<EulerDiscreteSchedulerConfig> = {}) {
    ({ config: this.config, usedDefaults: this.usedDefaults } = withDefaults(DEFAULTS, config));
    const c = this.config;
    checkOneOf("prediction_type", c.prediction_type, ["epsilon", "v_prediction", "sample"]);
    checkOneOf("timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS);
    checkOneOf("beta_schedule", c.beta_schedule, ["linear", "scaled_linear", "squaredcos_cap_v2"]);
    checkOneOf("interpolation_type", c.interpolation_type, ["linear"]);
    checkOneOf("timestep_type", c.timestep_type, ["discrete", "continuous"]);
    for (const key of ["sigma_min", "sigma_max"] as const) {
      const v: unknown = c[key];
      if (v !== null && (typeof v !== "number" || !(v > 0))) {
        throw new InvalidInputError(key, `${JSON.stringify(v)} is not a sigma`, "a positive number or null");
      }
    }
    let betas = makeBetas(c);
    if (c.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
    const alphas = alphasCumprod(betas);
    // zero terminal SNR would make the last sigma infinite; diffusers stops at alphabar = 2^-24
    if (c.rescale_betas_zero_snr) alphas[alphas.length - 1] = 2 ** -24;
    this.sigmaTable = sigmasFromAlphasCumprod(alphas);
    // before setTimesteps: the whole training schedule, highest sigma first
    this._sigmas = Float32Array.from([...this.sigmaTable].reverse().concat(0));
  }

  get timesteps(): readonly number[] {
    return this._timesteps;
  }

  /** Sigmas of the inference schedule, with the final 0. */
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
      ({ sigmas, timesteps } = karrasSchedule(sigmas, logSigmas(this.sigmaTable), numInferenceSteps, {
        sigmaMin: c.sigma_min,
        sigmaMax: c.sigma_max,
      }));
    }
    const sigmas32 = Float32Array.from(sigmas);
    this._timesteps =
      c.timestep_type === "continuous" && c.prediction_type === "v_prediction"
        ? [...sigmas32].map((s) => f(f(0.25) * f(Math.log(s))))
        : timesteps.map(f);
    this._sigmas = Float32Array.from([...sigmas32, 0]);
    this.stepIndex = undefined;
  }

  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    return scaleBySigma(sample, this._sigmas[this.currentIndex(t)]);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, options: StepOptions = {}): StepResult {
    checkSameLength(modelOutput, sample);
    const i = this.currentIndex(t);
    const sigma = this._sigmas[i];
    // diffusers draws the churn noise at every step, used or not (s_churn is 0 here), so the
    // generator advances exactly as in diffusers
    options.generator?.randn(modelOutput.length);
    const x0 = this.predictOriginal(modelOutput, sample, sigma);
    const dt = f(this._sigmas[i + 1] - sigma);
    const prev = sample.map((s, k) => s + f(f(f(s - x0[k]) / sigma) * dt));
    this.stepIndex = i + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    return addNoiseVe(original, noise, this._sigmas[indexForTimestep(this._timesteps, t)]);
  }

  private predictOriginal(modelOutput: Float32Array, sample: Float32Array, sigma: number): Float32Array {
    switch (this.config.prediction_type) {
      case "epsilon":
        return sample.map((s, k) => s - f(sigma * modelOutput[k]));
      case "v_prediction": {
        const s2 = f(f(sigma * sigma) + 1);
        const a = f(-sigma / f(Math.sqrt(s2)));
        return sample.map((s, k) => f(modelOutput[k] * a) + f(s / s2));
      }
      case "sample":
        return Float32Array.from(modelOutput);
    }
  }

  private currentIndex(t: number): number {
    if (this._timesteps.length === 0) throw new InvalidInputError("timestep", "call setTimesteps before stepping");
    this.stepIndex ??= indexForTimestep(this._timesteps, t);
    return this.stepIndex;
  }
}

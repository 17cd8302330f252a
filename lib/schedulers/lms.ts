/**
 * Linear multistep (k-diffusion's `sample_lms`): x_{i+1} = x_i + sum_j c_j d_{i-j}, where d are past
 * ODE derivatives and c_j integrates the Lagrange basis polynomial of the past sigmas over the step.
 * Port of diffusers v0.27.2 `LMSDiscreteScheduler`, order 4.
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

export interface LMSDiscreteSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  use_karras_sigmas: boolean;
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

/** `LMSDiscreteScheduler.__init__` defaults of diffusers v0.27.2. */
export const DEFAULTS: Readonly<LMSDiscreteSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null,
  use_karras_sigmas: false,
  prediction_type: "epsilon",
  timestep_spacing: "linspace",
  steps_offset: 0,
});

/** How many past derivatives the method combines (diffusers' `step(order=4)`). */
const LMS_ORDER = 4;

/**
 * Three-point Gauss-Legendre quadrature on [a, b]. diffusers calls scipy's adaptive `quad`; the
 * integrand here is a polynomial of degree < LMS_ORDER <= 5, which this rule integrates exactly,
 * so a fixed rule gives the same coefficients without pulling in a numerics library.
 */
function integrate(fn: (x: number) => number, a: number, b: number): number {
  const half = (b - a) / 2;
  const mid = (a + b) / 2;
  const node = Math.sqrt(3 / 5);
  return half * ((5 / 9) * fn(mid - half * node) + (8 / 9) * fn(mid) + (5 / 9) * fn(mid + half * node));
}

export class LMSDiscreteScheduler implements Scheduler {
  static readonly className = "LMSDiscreteScheduler";
  static readonly defaults = DEFAULTS;

  /** Build from a scheduler_config.json object, like diffusers' `LMSDiscreteScheduler.from_config`. */
  static fromConfig(raw: Record<string, unknown>, options?: FromConfigOptions): LMSDiscreteScheduler {
    return new LMSDiscreteScheduler(resolveConfig(LMSDiscreteScheduler.className, DEFAULTS, raw, options).given);
  }

  readonly className = LMSDiscreteScheduler.className;
  readonly timestepDtype = "float32";
  readonly order = 1;
  readonly config: Readonly<LMSDiscreteSchedulerConfig>;
  readonly usedDefaults: readonly string[];
  private readonly sigmaTable: Float32Array;
  private _sigmas: Float32Array;
  private _timesteps: number[] = [];
  private stepIndex: number | undefined;
  /** Past ODE derivatives (x - x0) / sigma, newest last. */
  private derivatives: Float32Array[] = [];

  constructor(config: Partial<LMSDiscreteSchedulerConfig> = {}) {
    ({ config: this.config, usedDefaults: this.usedDefaults } = withDefaults(DEFAULTS, config));
    const c = this.config;
    checkOneOf("prediction_type", c.prediction_type, ["epsilon", "v_prediction", "sample"]);
    checkOneOf("timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS);
    checkOneOf("beta_schedule", c.beta_schedule, ["linear", "scaled_linear", "squaredcos_cap_v2"]);
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
    this._timesteps = timesteps;
    this._sigmas = Float32Array.from([...sigmas, 0]);
    this.stepIndex = undefined;
    this.derivatives = [];
  }

  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    return scaleBySigma(sample, this._sigmas[this.currentIndex(t)]);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
    checkSameLength(modelOutput, sample);
    const i = this.currentIndex(t);
    const sigma = this._sigmas[i];
    let x0: Float32Array;
    if (this.config.prediction_type === "epsilon") {
      x0 = sample.map((s, k) => s - f(sigma * modelOutput[k]));
    } else if (this.config.prediction_type === "v_prediction") {
      const s2 = f(f(sigma * sigma) + 1);
      const a = f(-sigma / f(Math.sqrt(s2)));
      x0 = sample.map((s, k) => f(modelOutput[k] * a) + f(s / s2));
    } else {
      x0 = Float32Array.from(modelOutput);
    }
    this.derivatives.push(sample.map((s, k) => f(s - x0[k]) / sigma));
    if (this.derivatives.length > LMS_ORDER) this.derivatives.shift();
    const order = Math.min(i + 1, LMS_ORDER);
    const acc = new Float32Array(sample.length);
    for (let j = 0; j < order; j++) {
      const coeff = f(this.coefficient(order, i, j));
      const d = this.derivatives[this.derivatives.length - 1 - j];
      for (let k = 0; k < acc.length; k++) acc[k] = acc[k] + f(coeff * d[k]);
    }
    const prev = sample.map((s, k) => s + acc[k]);
    this.stepIndex = i + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    return addNoiseVe(original, noise, this._sigmas[indexForTimestep(this._timesteps, t)]);
  }

  /** The integral over [sigma_i, sigma_{i+1}] of the Lagrange basis polynomial of sigma_{i-j}. */
  private coefficient(order: number, i: number, j: number): number {
    const s = this._sigmas;
    const basis = (tau: number) => {
      let prod = 1;
      for (let k = 0; k < order; k++) {
        if (k !== j) prod *= (tau - s[i - k]) / (s[i - j] - s[i - k]);
      }
      return prod;
    };
    return integrate(basis, s[i], s[i + 1]);
  }

  private currentIndex(t: number): number {
    if (this._timesteps.length === 0) throw new InvalidInputError("timestep", "call setTimesteps before stepping");
    this.stepIndex ??= indexForTimestep(this._timesteps, t);
    return this.stepIndex;
  }
}

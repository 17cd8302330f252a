/**
 * PNDM (Liu et al. 2022, "Pseudo Numerical Methods for Diffusion Models on Manifolds"): the
 * transfer of eq. (9) driven by a linear multistep (PLMS) combination of past noise estimates,
 * started either with Runge-Kutta (PRK) steps or, with `skip_prk_steps`, with the cheap start of
 * crowsonkb's PLMS sampler that Stable Diffusion uses. Port of diffusers v0.27.2 `PNDMScheduler`.
 */
import { InvalidInputError } from "../errors.js";
import { addNoiseVp, checkSameLength } from "./add-noise.js";
import { alphasCumprod, makeBetas } from "./betas.js";
import {
  checkNumInferenceSteps,
  checkOneOf,
  resolveConfig,
  TIMESTEP_SPACINGS,
  withDefaults,
  type FromConfigOptions,
  type TimestepSpacing,
} from "./config.js";
import { roundHalfEven } from "./numpy-like.js";
import type { Scheduler, StepResult } from "./scheduler.js";
import { spacedTimesteps } from "./timesteps.js";

const f = Math.fround;

export interface PNDMSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  /** Start with PLMS's cheap warm-up instead of three Runge-Kutta steps (12 model calls). */
  skip_prk_steps: boolean;
  set_alpha_to_one: boolean;
  prediction_type: "epsilon" | "v_prediction";
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

/** `PNDMScheduler.__init__` defaults of diffusers v0.27.2. */
export const DEFAULTS: Readonly<PNDMSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null,
  skip_prk_steps: false,
  set_alpha_to_one: false,
  prediction_type: "epsilon",
  timestep_spacing: "leading",
  steps_offset: 0,
});

/** F-PNDM uses a fourth-order method. */
const PNDM_ORDER = 4;

export class PNDMScheduler implements Scheduler {
  static readonly className = "PNDMScheduler";
  static readonly defaults = DEFAULTS;

  /** Build from a scheduler_config.json object, like diffusers' `PNDMScheduler.from_config`. */
  static fromConfig(raw: Record<string, unknown>, options?: FromConfigOptions): PNDMScheduler {
    return new PNDMScheduler(resolveConfig(PNDMScheduler.className, DEFAULTS, raw, options).given);
  }

  readonly className = PNDMScheduler.className;
  readonly timestepDtype = "int64";
  readonly initNoiseSigma = 1.0;
  readonly order = 1;
  readonly config: Readonly<PNDMSchedulerConfig>;
  readonly usedDefaults: readonly string[];
  readonly alphasCumprod: Float32Array;
  private readonly finalAlphaCumprod: number;
  private numInferenceSteps: number | undefined;
  private prkTimesteps: number[] = [];
  private _timesteps: number[] = [];
  // running state of the multistep method
  private counter = 0;
  /** Past noise estimates, newest last (the "e_t" of the paper). */
  private ets: Float32Array[] = [];
  private curSample: Float32Array | undefined;
  private curModelOutput: Float32Array | undefined;

  constructor(config: Partial<PNDMSchedulerConfig> = {}) {
    ({ config: this.config, usedDefaults: this.usedDefaults } = withDefaults(DEFAULTS, config));
    const c = this.config;
    checkOneOf("prediction_type", c.prediction_type, ["epsilon", "v_prediction"]);
    checkOneOf("timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS);
    checkOneOf("beta_schedule", c.beta_schedule, ["linear", "scaled_linear", "squaredcos_cap_v2"]);
    this.alphasCumprod = alphasCumprod(makeBetas(c));
    this.finalAlphaCumprod = c.set_alpha_to_one ? 1.0 : this.alphasCumprod[0];
  }

  get timesteps(): readonly number[] {
    return this._timesteps;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkNumInferenceSteps(numInferenceSteps, c.num_train_timesteps);
    if (!c.skip_prk_steps && numInferenceSteps < PNDM_ORDER) {
      // the Runge-Kutta warm-up takes the last four timesteps; diffusers fails on fewer
      throw new InvalidInputError(
        "num_inference_steps",
        `${numInferenceSteps} is too few for the Runge-Kutta warm-up (skip_prk_steps false)`,
        `an integer in [${PNDM_ORDER}, ${c.num_train_timesteps}]`,
      );
    }
    this.numInferenceSteps = numInferenceSteps;
    const ascending = spacedTimesteps(c.timestep_spacing, c.num_train_timesteps, numInferenceSteps, c.steps_offset)
      .map(roundHalfEven)
      .reverse();
    let plms: number[];
    if (c.skip_prk_steps) {
      // the second-to-last timestep is visited twice: the warm-up averages two estimates there
      this.prkTimesteps = [];
      plms = [...ascending.slice(0, -1), ...ascending.slice(-2, -1), ...ascending.slice(-1)].reverse();
    } else {
      // each of the last four timesteps, and the midpoint half a step after it, as RK4 visits them
      const half = Math.floor(Math.floor(c.num_train_timesteps / numInferenceSteps) / 2);
      const pairs = ascending.slice(-PNDM_ORDER).flatMap((t) => [t, t + half]);
      const doubled = pairs.slice(0, -1).flatMap((t) => [t, t]);
      this.prkTimesteps = doubled.slice(1, -1).reverse();
      plms = ascending.slice(0, -3).reverse();
    }
    this._timesteps = [...this.prkTimesteps, ...plms];
    this.ets = [];
    this.counter = 0;
    this.curSample = undefined;
    this.curModelOutput = undefined;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
    if (this.numInferenceSteps === undefined) {
      throw new Error("PNDMScheduler: call setTimesteps before step");
    }
    checkSameLength(modelOutput, sample);
    const prevSample =
      this.counter < this.prkTimesteps.length && !this.config.skip_prk_steps
        ? this.stepPrk(modelOutput, t, sample)
        : this.stepPlms(modelOutput, t, sample);
    this.counter += 1;
    return { prevSample };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    return addNoiseVp(original, noise, this.alphaAt(t));
  }

  /** One of the four stages of a Runge-Kutta step: weights 1/6, 1/3, 1/3, 1/6 of the estimates. */
  private stepPrk(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array {
    const stepRatio = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!);
    const diffToPrev = this.counter % 2 ? 0 : Math.floor(stepRatio / 2);
    const prevT = t - diffToPrev;
    const startT = this.prkTimesteps[Math.floor(this.counter / 4) * 4];
    const stage = this.counter % 4;
    let output = modelOutput;
    const accumulate = (weight: number) => {
      const w = f(weight);
      const acc = this.curModelOutput;
      this.curModelOutput = modelOutput.map((m, i) => (acc ? acc[i] : 0) + f(w * m));
    };
    if (stage === 0) {
      accumulate(1 / 6);
      this.ets.push(modelOutput);
      this.curSample = sample;
    } else if (stage === 1 || stage === 2) {
      accumulate(1 / 3);
    } else {
      const acc = this.curModelOutput!;
      const w = f(1 / 6);
      output = modelOutput.map((m, i) => acc[i] + f(w * m));
      this.curModelOutput = undefined;
    }
    return this.prevSample(this.curSample ?? sample, startT, prevT, output);
  }

  /** A linear multistep step over the last four noise estimates (fewer while the history fills). */
  private stepPlms(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array {
    if (!this.config.skip_prk_steps && this.ets.length < 3) {
      throw new Error("PNDMScheduler: PLMS steps need the 12 Runge-Kutta steps first (skip_prk_steps is false)");
    }
    const stepRatio = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!);
    let prevT = t - stepRatio;
    if (this.counter !== 1) {
      this.ets = [...this.ets.slice(-3), modelOutput];
    } else {
      // the warm-up's second call revisits the first sample: step from t + ratio to t again
      prevT = t;
      t = t + stepRatio;
    }
    const e = this.ets;
    const k = e.length;
    let output: Float32Array;
    if (k === 1 && this.counter === 0) {
      output = modelOutput;
      this.curSample = sample;
    } else if (k === 1 && this.counter === 1) {
      output = modelOutput.map((m, i) => f(m + e[0][i]) / 2);
      sample = this.curSample!;
      this.curSample = undefined;
    } else if (k === 2) {
      output = e[1].map((e1, i) => f(f(3 * e1) - e[0][i]) / 2);
    } else if (k === 3) {
      output = e[2].map((e1, i) => f(f(f(23 * e1) - f(16 * e[1][i])) + f(5 * e[0][i])) / 12);
    } else {
      const w = f(1 / 24);
      output = e[3].map(
        (e1, i) => f(w * f(f(f(f(55 * e1) - f(59 * e[2][i])) + f(37 * e[1][i])) - f(9 * e[0][i]))),
      );
    }
    return this.prevSample(sample, t, prevT, output);
  }

  /** Eq. (9) of the paper: x_{t-delta} from x_t and the combined noise estimate. */
  private prevSample(sample: Float32Array, t: number, prevT: number, modelOutput: Float32Array): Float32Array {
    const alphaT = this.alphaAt(t);
    const alphaPrev = prevT >= 0 ? this.alphaAt(prevT) : this.finalAlphaCumprod;
    const betaT = f(1 - alphaT);
    const betaPrev = f(1 - alphaPrev);
    let eps = modelOutput;
    if (this.config.prediction_type === "v_prediction") {
      const a = f(Math.sqrt(alphaT));
      const b = f(Math.sqrt(betaT));
      eps = modelOutput.map((v, i) => f(a * v) + f(b * sample[i]));
    }
    const sampleCoeff = f(Math.sqrt(f(alphaPrev / alphaT)));
    const denom = f(f(alphaT * f(Math.sqrt(betaPrev))) + f(Math.sqrt(f(f(alphaT * betaT) * alphaPrev))));
    const diff = f(alphaPrev - alphaT);
    return sample.map((s, i) => f(sampleCoeff * s) - f(f(diff * eps[i]) / denom));
  }

  private alphaAt(t: number): number {
    const a = this.alphasCumprod[t];
    if (!Number.isInteger(t) || a === undefined) {
      throw new InvalidInputError("timestep", `${t} is not a training timestep`, `an integer in [0, ${this.alphasCumprod.length - 1}]`);
    }
    return a;
  }
}

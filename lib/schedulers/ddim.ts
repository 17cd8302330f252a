/**
 * DDIM (Song et al. 2020, "Denoising Diffusion Implicit Models", eq. 12): a deterministic sampler
 * for eta = 0, DDPM-like for eta = 1. Port of diffusers v0.27.2 `DDIMScheduler`; dynamic
 * thresholding is not ported.
 */
import { InvalidInputError } from "../errors.js";
import { addNoiseVp, checkSameLength } from "./add-noise.js";
import { alphasCumprod, makeBetas, rescaleZeroTerminalSnr } from "./betas.js";
import {
  checkNumInferenceSteps,
  checkOneOf,
  checkUnsupported,
  resolveConfig,
  TIMESTEP_SPACINGS,
  withDefaults,
  type FromConfigOptions,
  type PredictionType,
  type TimestepSpacing,
} from "./config.js";
import { roundHalfEven } from "./numpy-like.js";
import type { Scheduler, StepOptions, StepResult } from "./scheduler.js";
import { spacedTimesteps } from "./timesteps.js";

const f = Math.fround;

export interface DDIMSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  /** Clamp the x0 estimate to [-clip_sample_range, clip_sample_range]. */
  clip_sample: boolean;
  /** The last step goes to alphabar = 1 (true) or to alphabar_0 (false). */
  set_alpha_to_one: boolean;
  steps_offset: number;
  prediction_type: PredictionType;
  /** Not ported: must stay false. */
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  clip_sample_range: number;
  sample_max_value: number;
  timestep_spacing: TimestepSpacing;
  rescale_betas_zero_snr: boolean;
}

/** `DDIMScheduler.__init__` defaults of diffusers v0.27.2. */
export const DEFAULTS: Readonly<DDIMSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: "epsilon",
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: "leading",
  rescale_betas_zero_snr: false,
});

export class DDIMScheduler implements Scheduler {
  static readonly className = "DDIMScheduler";
  static readonly defaults = DEFAULTS;

  /** Build from a scheduler_config.json object, like diffusers' `DDIMScheduler.from_config`. */
  static fromConfig(raw: Record<string, unknown>, options?: FromConfigOptions): DDIMScheduler {
    return new DDIMScheduler(resolveConfig(DDIMScheduler.className, DEFAULTS, raw, options).given);
  }

  readonly className = DDIMScheduler.className;
  readonly timestepDtype = "int64";
  readonly initNoiseSigma = 1.0;
  readonly order = 1;
  readonly config: Readonly<DDIMSchedulerConfig>;
  /** Config keys that took the class default. */
  readonly usedDefaults: readonly string[];
  readonly alphasCumprod: Float32Array;
  private readonly finalAlphaCumprod: number;
  private numInferenceSteps: number | undefined;
  private _timesteps: number[] = [];

  constructor(config: Partial<DDIMSchedulerConfig> = {}) {
    ({ config: this.config, usedDefaults: this.usedDefaults } = withDefaults(DEFAULTS, config));
    const c = this.config;
    checkOneOf("prediction_type", c.prediction_type, ["epsilon", "v_prediction", "sample"]);
    checkOneOf("timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS);
    checkOneOf("beta_schedule", c.beta_schedule, ["linear", "scaled_linear", "squaredcos_cap_v2"]);
    checkUnsupported("thresholding", c.thresholding, false);
    let betas = makeBetas(c);
    if (c.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
    this.alphasCumprod = alphasCumprod(betas);
    this.finalAlphaCumprod = c.set_alpha_to_one ? 1.0 : this.alphasCumprod[0];
  }

  get timesteps(): readonly number[] {
    return this._timesteps;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkNumInferenceSteps(numInferenceSteps, c.num_train_timesteps);
    this.numInferenceSteps = numInferenceSteps;
    this._timesteps = spacedTimesteps(c.timestep_spacing, c.num_train_timesteps, numInferenceSteps, c.steps_offset).map(
      roundHalfEven,
    );
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, options: StepOptions = {}): StepResult {
    if (this.numInferenceSteps === undefined) {
      throw new Error("DDIMScheduler: call setTimesteps before step");
    }
    checkSameLength(modelOutput, sample);
    const c = this.config;
    const eta = options.eta ?? 0;
    // eq. (12): from x_t, estimate x0 and the noise, then step to the previous timestep
    const prevT = t - Math.floor(c.num_train_timesteps / this.numInferenceSteps);
    const alphaT = this.alphaAt(t);
    const alphaPrev = prevT >= 0 ? this.alphaAt(prevT) : this.finalAlphaCumprod;
    const betaT = f(1 - alphaT);
    const sqrtAlpha = f(Math.sqrt(alphaT));
    const sqrtBeta = f(Math.sqrt(betaT));
    const n = sample.length;
    const x0 = new Float32Array(n);
    const eps = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const s = sample[i];
      const m = modelOutput[i];
      if (c.prediction_type === "epsilon") {
        x0[i] = f(s - f(sqrtBeta * m)) / sqrtAlpha;
        eps[i] = m;
      } else if (c.prediction_type === "sample") {
        x0[i] = m;
        eps[i] = f(s - f(sqrtAlpha * m)) / sqrtBeta;
      } else {
        x0[i] = f(sqrtAlpha * s) - f(sqrtBeta * m);
        eps[i] = f(sqrtAlpha * m) + f(sqrtBeta * s);
      }
      if (c.clip_sample) x0[i] = Math.min(Math.max(x0[i], -c.clip_sample_range), c.clip_sample_range);
    }
    // sigma_t of eq. (16), scaled by eta
    const betaPrev = f(1 - alphaPrev);
    const variance = f(f(betaPrev / betaT) * f(1 - f(alphaT / alphaPrev)));
    const std = f(f(eta) * f(Math.sqrt(variance)));
    const dirCoeff = f(Math.sqrt(f(f(1 - alphaPrev) - f(std * std))));
    const x0Coeff = f(Math.sqrt(alphaPrev));
    const prev = new Float32Array(n);
    for (let i = 0; i < n; i++) prev[i] = f(x0Coeff * x0[i]) + f(dirCoeff * eps[i]);
    if (eta > 0) {
      if (options.generator === undefined) {
        throw new InvalidInputError("generator", "DDIM with eta > 0 draws noise at every step: pass a generator");
      }
      const noise = options.generator.randn(n);
      for (let i = 0; i < n; i++) prev[i] = prev[i] + f(std * noise[i]);
    }
    return { prevSample: prev, predOriginalSample: x0 };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    return addNoiseVp(original, noise, this.alphaAt(t));
  }

  private alphaAt(t: number): number {
    const a = this.alphasCumprod[t];
    if (!Number.isInteger(t) || a === undefined) {
      throw new InvalidInputError("timestep", `${t} is not a training timestep`, `an integer in [0, ${this.alphasCumprod.length - 1}]`);
    }
    return a;
  }
}

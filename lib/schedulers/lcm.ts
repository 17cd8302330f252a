/**
 * Latent Consistency Models (Luo et al. 2023, "Latent Consistency Models", Algorithm 3): the model
 * maps x_t straight to a denoised estimate through the consistency boundary condition
 * f(x, t) = c_skip(t) x + c_out(t) x0(x, t); the sampler then re-noises that estimate to the next,
 * lower timestep with fresh noise from the caller's generator. Timesteps are a subset of the
 * `original_inference_steps` schedule the model was distilled on. Port of diffusers v0.27.2
 * `LCMScheduler` (v0.29.2's `strength` for image-to-image included; custom timestep lists and dynamic
 * thresholding are not ported).
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
import type { Scheduler, StepOptions, StepResult } from "./scheduler.js";
import { indexForTimestep } from "./timesteps.js";

const f = Math.fround;

export interface LCMSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  /** Length of the timestep schedule the model was distilled on; inference picks from it. */
  original_inference_steps: number;
  clip_sample: boolean;
  clip_sample_range: number;
  set_alpha_to_one: boolean;
  /** Kept for config compatibility; LCM's schedule does not use it (nor does diffusers'). */
  steps_offset: number;
  prediction_type: PredictionType;
  /** Not ported: must stay false. */
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  /** Kept for config compatibility; LCM's schedule does not use it (nor does diffusers'). */
  timestep_spacing: TimestepSpacing;
  /** Multiplies t in the boundary-condition scalings c_skip and c_out. */
  timestep_scaling: number;
  rescale_betas_zero_snr: boolean;
}

/** `LCMScheduler.__init__` defaults of diffusers v0.27.2. */
export const DEFAULTS: Readonly<LCMSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  trained_betas: null,
  original_inference_steps: 50,
  clip_sample: false,
  clip_sample_range: 1.0,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: "epsilon",
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  timestep_spacing: "leading",
  timestep_scaling: 10.0,
  rescale_betas_zero_snr: false,
});

/** sigma_data of the consistency-model parametrisation (Song et al. 2023), as diffusers fixes it. */
const SIGMA_DATA = 0.5;

export class LCMScheduler implements Scheduler {
  static readonly className = "LCMScheduler";
  static readonly defaults = DEFAULTS;

  /** Build from a scheduler_config.json object, like diffusers' `LCMScheduler.from_config`. */
  static fromConfig(raw: Record<string, unknown>, options?: FromConfigOptions): LCMScheduler {
    return new LCMScheduler(resolveConfig(LCMScheduler.className, DEFAULTS, raw, options).given);
  }

  readonly className = LCMScheduler.className;
  readonly timestepDtype = "int64";
  readonly initNoiseSigma = 1.0;
  readonly order = 1;
  readonly config: Readonly<LCMSchedulerConfig>;
  readonly usedDefaults: readonly string[];
  readonly alphasCumprod: Float32Array;
  private readonly finalAlphaCumprod: number;
  private _timesteps: number[] = [];
  private stepIndex: number | undefined;

  constructor(config: Partial<LCMSchedulerConfig> = {}) {
    ({ config: this.config, usedDefaults: this.usedDefaults } = withDefaults(DEFAULTS, config));
    const c = this.config;
    checkOneOf("prediction_type", c.prediction_type, ["epsilon", "v_prediction", "sample"]);
    checkOneOf("timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS);
    checkOneOf("beta_schedule", c.beta_schedule, ["linear", "scaled_linear", "squaredcos_cap_v2"]);
    checkUnsupported("thresholding", c.thresholding, false);
    if (!Number.isInteger(c.original_inference_steps) || c.original_inference_steps < 1 || c.original_inference_steps > c.num_train_timesteps) {
      throw new InvalidInputError(
        "original_inference_steps",
        `${c.original_inference_steps} is out of range`,
        `an integer in [1, ${c.num_train_timesteps}]`,
      );
    }
    let betas = makeBetas(c);
    if (c.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
    this.alphasCumprod = alphasCumprod(betas);
    this.finalAlphaCumprod = c.set_alpha_to_one ? 1.0 : this.alphasCumprod[0];
  }

  get timesteps(): readonly number[] {
    return this._timesteps;
  }

  /**
   * n steps picked evenly (from the top) out of the distillation schedule k-1, 2k-1, ..., T-1. With
   * `strength` < 1 (image-to-image, as diffusers' LatentConsistencyModelImg2ImgPipeline passes it)
   * the distillation schedule is cut to its first int(original_inference_steps * strength) entries
   * before the n steps are picked, so the loop still runs n steps, from a lower noise level.
   */
  setTimesteps(numInferenceSteps: number, strength = 1.0): void {
    const c = this.config;
    const original = c.original_inference_steps;
    checkNumInferenceSteps(numInferenceSteps, Math.min(original, c.num_train_timesteps));
    if (!(strength > 0 && strength <= 1)) throw new InvalidInputError("strength", `${strength} is out of range`, "a number in (0, 1]");
    const k = Math.floor(c.num_train_timesteps / original);
    // int(original_steps * strength): the product in float64, truncated, as Python does
    const kept = Math.trunc(original * strength);
    if (Math.floor(kept / numInferenceSteps) < 1) {
      throw new InvalidInputError(
        "strength",
        `${strength} keeps ${kept} of the ${original} distillation timesteps, fewer than num_inference_steps ${numInferenceSteps}`,
        `at least ${numInferenceSteps / original} for ${numInferenceSteps} steps, or fewer steps`,
      );
    }
    const descending = Array.from({ length: kept }, (_, i) => (kept - i) * k - 1);
    // np.floor(np.linspace(0, kept, n, endpoint=False))
    const step = kept / numInferenceSteps;
    this._timesteps = Array.from({ length: numInferenceSteps }, (_, i) => descending[Math.floor(i * step)]);
    this.stepIndex = undefined;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  /** `predOriginalSample` is LCM's `denoised`, the consistency estimate that the last step returns. */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, options: StepOptions = {}): StepResult {
    if (this._timesteps.length === 0) throw new InvalidInputError("timestep", "call setTimesteps before stepping");
    checkSameLength(modelOutput, sample);
    const c = this.config;
    this.stepIndex ??= indexForTimestep(this._timesteps, t);
    const i = this.stepIndex;
    const isLast = i === this._timesteps.length - 1;
    const prevT = isLast ? t : this._timesteps[i + 1];
    const alphaT = this.alphaAt(t);
    const alphaPrev = prevT >= 0 ? this.alphaAt(prevT) : this.finalAlphaCumprod;
    const sqrtAlpha = f(Math.sqrt(alphaT));
    const sqrtBeta = f(Math.sqrt(f(1 - alphaT)));

    // boundary condition: c_skip -> 1 and c_out -> 0 as t -> 0
    const scaled = f(f(t) * f(c.timestep_scaling));
    const denom = f(f(scaled * scaled) + SIGMA_DATA ** 2);
    const cSkip = f(SIGMA_DATA ** 2 / denom);
    const cOut = f(scaled / f(Math.sqrt(denom)));

    let x0: Float32Array;
    if (c.prediction_type === "epsilon") {
      x0 = sample.map((s, k) => f(s - f(sqrtBeta * modelOutput[k])) / sqrtAlpha);
    } else if (c.prediction_type === "v_prediction") {
      x0 = sample.map((s, k) => f(sqrtAlpha * s) - f(sqrtBeta * modelOutput[k]));
    } else {
      x0 = Float32Array.from(modelOutput);
    }
    if (c.clip_sample) {
      const r = c.clip_sample_range;
      x0 = x0.map((v) => Math.min(Math.max(v, -r), r));
    }
    const denoised = x0.map((v, k) => f(cOut * v) + f(cSkip * sample[k]));

    let prev = denoised;
    if (!isLast) {
      if (options.generator === undefined) {
        throw new InvalidInputError("generator", "LCMScheduler draws noise between steps: pass a generator");
      }
      // multistep consistency sampling: re-noise the estimate to the next timestep
      const noise = options.generator.randn(denoised.length);
      const a = f(Math.sqrt(alphaPrev));
      const b = f(Math.sqrt(f(1 - alphaPrev)));
      prev = denoised.map((d, k) => f(a * d) + f(b * noise[k]));
    }
    this.stepIndex = i + 1;
    return { prevSample: prev, predOriginalSample: denoised };
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

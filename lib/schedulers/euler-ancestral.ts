/**
 * Ancestral Euler sampling (k-diffusion's `sample_euler_ancestral`): an Euler step down to
 * sigma_down, then fresh noise of size sigma_up, so each step is a draw from the reverse process.
 * Port of diffusers v0.27.2 `EulerAncestralDiscreteScheduler`; the noise comes from the caller's
 * seeded generator, as diffusers draws it with `randn_tensor(shape, generator=generator)`.
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
  type TimestepSpacing,
} from "./config.js";
import { interpIndexed } from "./numpy-like.js";
import type { Scheduler, StepOptions, StepResult } from "./scheduler.js";
import { eulerInitNoiseSigma, scaleBySigma, sigmasFromAlphasCumprod } from "./sigmas.js";
import { indexForTimestep, spacedTimesteps } from "./timesteps.js";

const f = Math.fround;

export interface EulerAncestralDiscreteSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  /** diffusers leaves "sample" unimplemented here. */
  prediction_type: "epsilon" | "v_prediction";
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  rescale_betas_zero_snr: boolean;
}

/** `EulerAncestralDiscreteScheduler.__init__` defaults of diffusers v0.27.2. */
export const DEFAULTS: Readonly<EulerAncestralDiscreteSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null,
  prediction_type: "epsilon",
  timestep_spacing: "linspace",
  steps_offset: 0,
  rescale_betas_zero_snr: false,
});

export class EulerAncestralDiscreteScheduler implements Scheduler {
  static readonly className = "EulerAncestralDiscreteScheduler";
  static readonly defaults = DEFAULTS;

  /** Build from a scheduler_config.json object, like diffusers' `EulerAncestralDiscreteScheduler.from_config`. */
  static fromConfig(raw: Record<string, unknown>, options?: FromConfigOptions): EulerAncestralDiscreteScheduler {
    return new EulerAncestralDiscreteScheduler(
      resolveConfig(EulerAncestralDiscreteScheduler.className, DEFAULTS, raw, options).given,
    );
  }

  readonly className = EulerAncestralDiscreteScheduler.className;
  readonly timestepDtype = "float32";
  readonly order = 1;
  readonly config: Readonly<EulerAncestralDiscreteSchedulerConfig>;
  readonly usedDefaults: readonly string[];
  private readonly sigmaTable: Float32Array;
  private _sigmas: Float32Array;
  private _timesteps: number[] = [];
  private stepIndex: number | undefined;

  constructor(config: Partial<EulerAncestralDiscreteSchedulerConfig> = {}) {
    ({ config: this.config, usedDefaults: this.usedDefaults } = withDefaults(DEFAULTS, config));
    const c = this.config;
    checkOneOf("prediction_type", c.prediction_type, ["epsilon", "v_prediction"]);
    checkOneOf("timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS);
    checkOneOf("beta_schedule", c.beta_schedule, ["linear", "scaled_linear", "squaredcos_cap_v2"]);
    let betas = makeBetas(c);
    if (c.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
    const alphas = alphasCumprod(betas);
    // zero terminal SNR would make the last sigma infinite; diffusers stops at alphabar = 2^-24
    if (c.rescale_betas_zero_snr) alphas[alphas.length - 1] = 2 ** -24;
    this.sigmaTable = sigmasFromAlphasCumprod(alphas);
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
    this._timesteps = spacedTimesteps(c.timestep_spacing, c.num_train_timesteps, numInferenceSteps, c.steps_offset).map(f);
    this._sigmas = Float32Array.from([...this._timesteps.map((t) => interpIndexed(t, this.sigmaTable)), 0]);
    this.stepIndex = undefined;
  }

  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    return scaleBySigma(sample, this._sigmas[this.currentIndex(t)]);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, options: StepOptions = {}): StepResult {
    checkSameLength(modelOutput, sample);
    if (options.generator === undefined) {
      throw new InvalidInputError("generator", "EulerAncestralDiscreteScheduler draws noise at every step: pass a generator");
    }
    const i = this.currentIndex(t);
    const sigma = this._sigmas[i];
    const next = this._sigmas[i + 1];
    let x0: Float32Array;
    if (this.config.prediction_type === "epsilon") {
      x0 = sample.map((s, k) => s - f(sigma * modelOutput[k]));
    } else {
      const s2 = f(f(sigma * sigma) + 1);
      const a = f(-sigma / f(Math.sqrt(s2)));
      x0 = sample.map((s, k) => f(modelOutput[k] * a) + f(s / s2));
    }
    // split the step to `next` into a deterministic part down to sigmaDown and fresh noise sigmaUp,
    // with sigmaDown^2 + sigmaUp^2 = next^2
    const from2 = f(sigma * sigma);
    const to2 = f(next * next);
    const sigmaUp = f(Math.sqrt(f(f(to2 * f(from2 - to2)) / from2)));
    const sigmaDown = f(Math.sqrt(f(to2 - f(sigmaUp * sigmaUp))));
    const dt = f(sigmaDown - sigma);
    const prev = sample.map((s, k) => s + f(f(f(s - x0[k]) / sigma) * dt));
    const noise = options.generator.randn(prev.length);
    for (let k = 0; k < prev.length; k++) prev[k] = prev[k] + f(noise[k] * sigmaUp);
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

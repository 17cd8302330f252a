/**
 * DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver++", Algorithm 2): solves the diffusion ODE in
 * log-SNR time lambda = log(alpha / sigma) with the data prediction x0, reusing the previous
 * model output for a second-order (or third-order) update. "DPM++ 2M" is solver_order 2 with the
 * midpoint form; with `use_karras_sigmas` it is "DPM++ 2M Karras". Port of diffusers v0.27.2
 * `DPMSolverMultistepScheduler` for algorithm_type dpmsolver++; the SDE variants, the noise
 * prediction variants, dynamic thresholding, learned variances and Lu lambdas are not ported.
 */
import { InvalidInputError } from "../errors.js";
import { checkSameLength } from "./add-noise.js";
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
import { arange, interpIndexed, linspace, roundHalfEven } from "./numpy-like.js";
import type { Scheduler, StepResult } from "./scheduler.js";
import { karrasSchedule, logSigmas, sigmasFromAlphasCumprod } from "./sigmas.js";

const f = Math.fround;

export interface DPMSolverMultistepSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  /** 1, 2 ("2M") or 3. */
  solver_order: number;
  prediction_type: PredictionType;
  /** Not ported: must stay false. */
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  /** Only "dpmsolver++" is ported ("deis" means the same, as in diffusers). */
  algorithm_type: string;
  /** Form of the second-order update: "midpoint" or "heun". */
  solver_type: string;
  /** First-order final steps when there are fewer than 15 steps (stabler for few steps). */
  lower_order_final: boolean;
  /** First-order final step whatever the step count. */
  euler_at_final: boolean;
  use_karras_sigmas: boolean;
  /** Not ported: must stay false. */
  use_lu_lambdas: boolean;
  /** Where the last step lands: sigma 0 ("zero") or the smallest training sigma ("sigma_min"). */
  final_sigmas_type: "zero" | "sigma_min";
  /** Lowest lambda the schedule may reach (-Infinity: none). */
  lambda_min_clipped: number;
  /** Not ported: must stay null (learned variances are for DiT-like models). */
  variance_type: string | null;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  rescale_betas_zero_snr: boolean;
}

/** `DPMSolverMultistepScheduler.__init__` defaults of diffusers v0.27.2. */
export const DEFAULTS: Readonly<DPMSolverMultistepSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null,
  solver_order: 2,
  prediction_type: "epsilon",
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  algorithm_type: "dpmsolver++",
  solver_type: "midpoint",
  lower_order_final: true,
  euler_at_final: false,
  use_karras_sigmas: false,
  use_lu_lambdas: false,
  final_sigmas_type: "zero",
  lambda_min_clipped: -Infinity,
  variance_type: null,
  timestep_spacing: "linspace",
  steps_offset: 0,
  rescale_betas_zero_snr: false,
});

/** alpha_t = 1 / sqrt(sigma^2 + 1) and sigma_t = sigma * alpha_t of the VP process (float32). */
function alphaSigma(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = f(1 / f(Math.sqrt(f(f(sigma * sigma) + 1))));
  const s = f(sigma * alpha);
  return { alpha, sigma: s, lambda: f(f(Math.log(alpha)) - f(Math.log(s))) };
}

export class DPMSolverMultistepScheduler implements Scheduler {
  static readonly className = "DPMSolverMultistepScheduler";
  static readonly defaults = DEFAULTS;

  /** Build from a scheduler_config.json object, like diffusers' `DPMSolverMultistepScheduler.from_config`. */
  static fromConfig(raw: Record<string, unknown>, options?: FromConfigOptions): DPMSolverMultistepScheduler {
    return new DPMSolverMultistepScheduler(
      resolveConfig(DPMSolverMultistepScheduler.className, DEFAULTS, raw, options).given,
    );
  }

  readonly className = DPMSolverMultistepScheduler.className;
  readonly timestepDtype = "int64";
  readonly initNoiseSigma = 1.0;
  readonly order = 1;
  readonly config: Readonly<DPMSolverMultistepSchedulerConfig>;
  readonly usedDefaults: readonly string[];
  private readonly alphasCumprod: Float32Array;
  private readonly sigmaTable: Float32Array;
  private readonly solverType: "midpoint" | "heun";
  private _sigmas: Float32Array = new Float32Array(0);
  private _timesteps: number[] = [];
  private stepIndex: number | undefined;
  /** The last `solver_order` x0 predictions, newest last. */
  private modelOutputs: Float32Array[] = [];
  private lowerOrderNums = 0;

  constructor(config: Partial<DPMSolverMultistepSchedulerConfig> = {}) {
    ({ config: this.config, usedDefaults: this.usedDefaults } = withDefaults(DEFAULTS, config));
    const c = this.config;
    checkOneOf("prediction_type", c.prediction_type, ["epsilon", "v_prediction", "sample"]);
    checkOneOf("timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS);
    checkOneOf("beta_schedule", c.beta_schedule, ["linear", "scaled_linear", "squaredcos_cap_v2"]);
    // diffusers maps the names of related solvers' options onto these
    checkOneOf("algorithm_type", c.algorithm_type, ["dpmsolver++", "deis"]);
    const solver = checkOneOf("solver_type", c.solver_type, ["midpoint", "heun", "logrho", "bh1", "bh2"]);
    this.solverType = solver === "heun" ? "heun" : "midpoint";
    checkOneOf("final_sigmas_type", c.final_sigmas_type, ["zero", "sigma_min"]);
    if (![1, 2, 3].includes(c.solver_order)) {
      throw new InvalidInputError("solver_order", `${c.solver_order} is not supported`, "1, 2, 3");
    }
    checkUnsupported("thresholding", c.thresholding, false);
    checkUnsupported("use_lu_lambdas", c.use_lu_lambdas, false);
    checkUnsupported("variance_type", c.variance_type, null);
    let betas = makeBetas(c);
    if (c.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
    this.alphasCumprod = alphasCumprod(betas);
    if (c.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.sigmaTable = sigmasFromAlphasCumprod(this.alphasCumprod);
  }

  get timesteps(): readonly number[] {
    return this._timesteps;
  }

  /** Sigmas of the inference schedule, with the final one (0 or sigma_min). */
  get sigmas(): Float32Array {
    return this._sigmas;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const n = numInferenceSteps;
    checkNumInferenceSteps(n, c.num_train_timesteps);
    const last = c.num_train_timesteps - this.clippedSteps();
    let timesteps: number[];
    // unlike the other schedulers, "linspace" and "leading" place n + 1 points and drop the lowest
    switch (c.timestep_spacing) {
      case "linspace":
        timesteps = linspace(0, last - 1, n + 1).map(roundHalfEven).reverse().slice(0, -1);
        break;
      case "leading": {
        const ratio = Math.floor(last / (n + 1));
        timesteps = Array.from({ length: n }, (_, i) => (n - i) * ratio + c.steps_offset);
        break;
      }
      case "trailing":
        timesteps = arange(last, 0, -c.num_train_timesteps / n).map((t) => roundHalfEven(t) - 1);
        break;
    }
    let sigmas: number[];
    if (c.use_karras_sigmas) {
      // the Karras schedule spans the whole training range, whatever the spacing
      const descending = [...this.sigmaTable].reverse();
      const karras = karrasSchedule(descending, logSigmas(this.sigmaTable), n);
      sigmas = karras.sigmas;
      timesteps = karras.timesteps.map(roundHalfEven);
    } else {
      sigmas = timesteps.map((t) => interpIndexed(t, this.sigmaTable));
    }
    const a0 = this.alphasCumprod[0];
    const final = c.final_sigmas_type === "sigma_min" ? f(Math.sqrt(f(f(1 - a0) / a0))) : 0;
    this._sigmas = Float32Array.from([...sigmas, final]);
    this._timesteps = timesteps;
    this.modelOutputs = [];
    this.lowerOrderNums = 0;
    this.stepIndex = undefined;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
    if (this._timesteps.length === 0) throw new InvalidInputError("timestep", "call setTimesteps before stepping");
    checkSameLength(modelOutput, sample);
    const c = this.config;
    this.stepIndex ??= this.indexForTimestep(t);
    const i = this.stepIndex;
    const count = this._timesteps.length;
    const fewSteps = c.lower_order_final && count < 15;
    const lowerOrderFinal =
      i === count - 1 && (c.euler_at_final || fewSteps || c.final_sigmas_type === "zero");
    const lowerOrderSecond = i === count - 2 && fewSteps;

    const x0 = this.dataPrediction(modelOutput, sample, this._sigmas[i]);
    this.modelOutputs.push(x0);
    if (this.modelOutputs.length > c.solver_order) this.modelOutputs.shift();

    let prev: Float32Array;
    if (c.solver_order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) {
      prev = this.firstOrderUpdate(x0, sample, i);
    } else if (c.solver_order === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) {
      prev = this.secondOrderUpdate(sample, i);
    } else {
      prev = this.thirdOrderUpdate(sample, i);
    }
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums += 1;
    this.stepIndex = i + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    checkSameLength(original, noise);
    const { alpha, sigma } = alphaSigma(this._sigmas[this.indexForTimestep(t)]);
    return original.map((x, k) => f(alpha * x) + f(sigma * noise[k]));
  }

  /** How many of the highest timesteps lambda_min_clipped cuts off (searchsorted in ascending lambda). */
  private clippedSteps(): number {
    const min = this.config.lambda_min_clipped;
    let count = 0;
    for (let t = this.alphasCumprod.length - 1; t >= 0; t--) {
      const a = this.alphasCumprod[t];
      const lambda = f(f(Math.log(f(Math.sqrt(a)))) - f(Math.log(f(Math.sqrt(f(1 - a))))));
      if (lambda < min) count++;
      else break;
    }
    return count;
  }

  /** x0 from the model output: DPM-Solver++ works with the data prediction. */
  private dataPrediction(modelOutput: Float32Array, sample: Float32Array, sigma: number): Float32Array {
    const { alpha, sigma: s } = alphaSigma(sigma);
    switch (this.config.prediction_type) {
      case "epsilon":
        return sample.map((x, k) => f(x - f(s * modelOutput[k])) / alpha);
      case "v_prediction":
        return sample.map((x, k) => f(alpha * x) - f(s * modelOutput[k]));
      case "sample":
        return Float32Array.from(modelOutput);
    }
  }

  /** DPM-Solver++(1), i.e. DDIM in lambda time: x_t = (sigma_t / sigma_s) x_s - alpha_t (e^-h - 1) x0. */
  private firstOrderUpdate(x0: Float32Array, sample: Float32Array, i: number): Float32Array {
    const t = alphaSigma(this._sigmas[i + 1]);
    const s = alphaSigma(this._sigmas[i]);
    const h = f(t.lambda - s.lambda);
    const ratio = f(t.sigma / s.sigma);
    const c0 = f(t.alpha * f(f(Math.exp(-h)) - 1));
    return sample.map((x, k) => f(ratio * x) - f(c0 * x0[k]));
  }

  /** DPM-Solver++(2M): adds the first difference of the last two x0 predictions. */
  private secondOrderUpdate(sample: Float32Array, i: number): Float32Array {
    const t = alphaSigma(this._sigmas[i + 1]);
    const s0 = alphaSigma(this._sigmas[i]);
    const s1 = alphaSigma(this._sigmas[i - 1]);
    const [m1, m0] = this.modelOutputs.slice(-2);
    const h = f(t.lambda - s0.lambda);
    const r0 = f(f(s0.lambda - s1.lambda) / h);
    const invR0 = f(1 / r0);
    const ratio = f(t.sigma / s0.sigma);
    const expm1 = f(f(Math.exp(-h)) - 1);
    const c0 = f(t.alpha * expm1);
    const c1 = this.solverType === "midpoint" ? f(0.5 * c0) : f(-f(t.alpha * f(f(expm1 / h) + 1)));
    return sample.map((x, k) => {
      const d1 = f(invR0 * f(m0[k] - m1[k]));
      return f(f(ratio * x) - f(c0 * m0[k])) - f(c1 * d1);
    });
  }

  /** DPM-Solver++(3M): adds the second difference of the last three x0 predictions. */
  private thirdOrderUpdate(sample: Float32Array, i: number): Float32Array {
    const t = alphaSigma(this._sigmas[i + 1]);
    const s0 = alphaSigma(this._sigmas[i]);
    const s1 = alphaSigma(this._sigmas[i - 1]);
    const s2 = alphaSigma(this._sigmas[i - 2]);
    const [m2, m1, m0] = this.modelOutputs.slice(-3);
    const h = f(t.lambda - s0.lambda);
    const r0 = f(f(s0.lambda - s1.lambda) / h);
    const r1 = f(f(s1.lambda - s2.lambda) / h);
    const invR0 = f(1 / r0);
    const invR1 = f(1 / r1);
    const r01 = f(r0 + r1);
    const w = f(r0 / r01);
    const invR01 = f(1 / r01);
    const ratio = f(t.sigma / s0.sigma);
    const expm1 = f(f(Math.exp(-h)) - 1);
    const c0 = f(t.alpha * expm1);
    const c1 = f(t.alpha * f(f(expm1 / h) + 1));
    const c2 = f(t.alpha * f(f(f(expm1 + h) / f(h * h)) - 0.5));
    return sample.map((x, k) => {
      const d10 = f(invR0 * f(m0[k] - m1[k]));
      const d11 = f(invR1 * f(m1[k] - m2[k]));
      const diff = f(d10 - d11);
      const d1 = f(d10 + f(w * diff));
      const d2 = f(invR01 * diff);
      return f(f(f(ratio * x) - f(c0 * m0[k])) + f(c1 * d1)) - f(c2 * d2);
    });
  }

  /** The index of `t`; the second of duplicates, and the last step for a timestep not in the schedule. */
  private indexForTimestep(t: number): number {
    const found = this._timesteps.flatMap((v, k) => (v === t ? [k] : []));
    if (found.length === 0) return this._timesteps.length - 1;
    return found.length > 1 ? found[1] : found[0];
  }
}

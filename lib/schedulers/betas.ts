/**
 * The training noise schedule every scheduler starts from: betas, then alphas_cumprod.
 *
 * diffusers builds these as float32 torch tensors, and every later quantity (sigmas, timesteps
 * found from sigmas, step coefficients) inherits their rounding. So the arithmetic here mirrors
 * torch 1.13 on the CPU value for value, with `Math.fround` after each float32 operation, and
 * returns Float32Array.
 */
import { InvalidInputError } from "../errors.js";

const f = Math.fround;

/** The beta schedules diffusers knows by name ("exp" only HeunDiscreteScheduler accepts). */
export type BetaScheduleName = "linear" | "scaled_linear" | "squaredcos_cap_v2" | "exp";

export interface BetaConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: readonly number[] | null;
}

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` as torch 1.13's CPU kernel computes it:
 * the step is a float32, the first half counts up from `start` and the second half down from `end`,
 * and the AVX2 kernel fills 8 lanes at a time from a base `start + step * idx` that the compiler
 * fuses into one multiply-add. A plain `start + i * step` differs in the last bit for about a
 * fifth of the betas, which then shows in every sigma.
 */
export function torchLinspaceFloat32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const s = f(start);
  const e = f(end);
  const step = f(f(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  // fused multiply-add: the product of two float32 values is exact in float64, so one rounding
  const base = (idx: number) => (idx < halfway ? f(s + step * idx) : f(e - step * (steps - idx - 1)));
  const lanes = 8;
  let idx = 0;
  for (; idx <= steps - 2 * lanes; idx += lanes) {
    const b = base(idx);
    for (let k = 0; k < lanes; k++) out[idx + k] = f(b + f(k * step));
  }
  for (; idx < steps; idx++) out[idx] = base(idx);
  return out;
}

/** Glide's cosine schedule (diffusers' `betas_for_alpha_bar`), computed in float64 and stored as float32. */
function betasForAlphaBar(count: number, transform: "cosine" | "exp", maxBeta = 0.999): Float32Array {
  const alphaBar =
    transform === "cosine"
      ? (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2
      : (t: number) => Math.exp(t * -12.0);
  const betas = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    betas[i] = Math.min(1 - alphaBar((i + 1) / count) / alphaBar(i / count), maxBeta);
  }
  return betas;
}

/** The betas a scheduler config describes; `trained_betas` wins over the named schedule, as in diffusers. */
export function makeBetas(config: BetaConfig): Float32Array {
  if (config.trained_betas !== null && config.trained_betas !== undefined) {
    if (!Array.isArray(config.trained_betas) || config.trained_betas.some((b) => typeof b !== "number")) {
      throw new InvalidInputError("trained_betas", "must be an array of numbers or null");
    }
    return Float32Array.from(config.trained_betas);
  }
  const n = config.num_train_timesteps;
  switch (config.beta_schedule) {
    case "linear":
      return torchLinspaceFloat32(config.beta_start, config.beta_end, n);
    case "scaled_linear": {
      // the schedule of latent diffusion: linear in sqrt(beta)
      const roots = torchLinspaceFloat32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), n);
      return roots.map((r) => f(r * r));
    }
    case "squaredcos_cap_v2":
      return betasForAlphaBar(n, "cosine");
    case "exp":
      return betasForAlphaBar(n, "exp");
    default:
      throw new InvalidInputError(
        "beta_schedule",
        `${String(config.beta_schedule)} is not supported`,
        "linear, scaled_linear, squaredcos_cap_v2",
      );
  }
}

/** alphas_cumprod = cumprod(1 - betas); torch accumulates a float32 cumprod in float64 and stores float32. */
export function alphasCumprod(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f(1 - betas[i]);
    out[i] = acc;
  }
  return out;
}

/**
 * Rescale betas to zero terminal SNR (Lin et al. 2023, "Common Diffusion Noise Schedules and Sample
 * Steps are Flawed", Algorithm 1): shift sqrt(alphas_cumprod) so its last value is 0, scale it so
 * its first value is unchanged, and turn it back into betas.
 */
export function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const roots = alphasCumprod(betas).map((a) => f(Math.sqrt(a)));
  const first = roots[0];
  const last = roots[roots.length - 1];
  const scale = f(first / f(first - last));
  const alphaBar = roots.map((r) => {
    const shifted = f(f(r - last) * scale);
    return f(shifted * shifted);
  });
  const out = new Float32Array(betas.length);
  out[0] = f(1 - alphaBar[0]);
  for (let i = 1; i < betas.length; i++) out[i] = f(1 - f(alphaBar[i] / alphaBar[i - 1]));
  return out;
}

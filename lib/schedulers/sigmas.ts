/**
 * Noise levels of the Karras-style (k-diffusion) schedulers: sigma_t = sqrt((1 - alphabar_t) / alphabar_t),
 * the Karras et al. (2022) schedule between two sigmas, and the way back from a sigma to a
 * (fractional) training timestep.
 */
const f = Math.fround;

/** sqrt((1 - alphas_cumprod) / alphas_cumprod), in float32 as diffusers computes it from the tensor. */
export function sigmasFromAlphasCumprod(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => f(Math.sqrt(f(f(1 - a) / a))));
}

/** Natural logs of float32 sigmas, as float32 (np.log of a float32 array). */
export function logSigmas(sigmas: Float32Array): Float32Array {
  return sigmas.map((s) => f(Math.log(s)));
}

/**
 * Karras et al. (2022), eq. (5): sigmas evenly spaced in sigma^(1/rho) from sigmaMax down to sigmaMin,
 * rho = 7 as in the paper; float64 like diffusers' numpy code.
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, count: number): number[] {
  const rho = 7.0;
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  const ramp = count === 1 ? [0] : Array.from({ length: count }, (_, i) => (i === count - 1 ? 1 : i * (1 / (count - 1))));
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/**
 * The training timestep whose sigma is `sigma`: linear interpolation in log-sigma between the two
 * neighbouring training steps (diffusers' `_sigma_to_t`), clamped to the table.
 */
export function sigmaToT(sigma: number, logSigmaTable: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const n = logSigmaTable.length;
  // the last index whose log-sigma is <= log(sigma); the table increases with t
  let low = 0;
  for (let i = 0; i < n; i++) if (logSigma - logSigmaTable[i] >= 0) low = i;
  low = Math.min(low, n - 2);
  const high = low + 1;
  const lo = logSigmaTable[low];
  const hi = logSigmaTable[high];
  const w = Math.min(Math.max((lo - logSigma) / (lo - hi), 0), 1);
  return (1 - w) * low + w * high;
}

/**
 * The Karras schedule that replaces interpolated sigmas, and the (fractional, float64) training
 * timesteps that carry those sigmas: `count` sigmas between the ends of `sigmas` (highest first),
 * unless the config fixes sigma_min / sigma_max.
 */
export function karrasSchedule(
  sigmas: readonly number[],
  logSigmaTable: Float32Array,
  count: number,
  bounds: { sigmaMin?: number | null; sigmaMax?: number | null } = {},
): { sigmas: number[]; timesteps: number[] } {
  const sigmaMin = bounds.sigmaMin ?? sigmas[sigmas.length - 1];
  const sigmaMax = bounds.sigmaMax ?? sigmas[0];
  const karras = karrasSigmas(sigmaMin, sigmaMax, count);
  return { sigmas: karras, timesteps: karras.map((s) => sigmaToT(s, logSigmaTable)) };
}

/** Largest value of a float32 sigma schedule (`sigmas.max()`). */
export function maxSigma(sigmas: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < sigmas.length; i++) m = Math.max(m, sigmas[i]);
  return m;
}

/**
 * `init_noise_sigma` of the Euler-family schedulers: the largest sigma for "linspace" and
 * "trailing", sqrt(sigma_max^2 + 1) for "leading" (float32, as the tensor is).
 */
export function eulerInitNoiseSigma(sigmas: ArrayLike<number>, spacing: string): number {
  const m = maxSigma(sigmas);
  return spacing === "leading" ? f(Math.sqrt(f(f(m * m) + 1))) : m;
}

/** The k-diffusion input scaling 1 / sqrt(sigma^2 + 1), applied as diffusers does: one float32 division. */
export function scaleBySigma(sample: Float32Array, sigma: number): Float32Array {
  const d = f(Math.sqrt(f(f(sigma * sigma) + 1)));
  return sample.map((x) => x / d);
}

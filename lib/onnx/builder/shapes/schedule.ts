/**
 * The noise schedule the shapes model is the ideal denoiser for: SD's own (scaled_linear betas
 * 0.00085..0.012 over 1000 steps). scheduler_config.json is written from SHAPES_SCHEDULE and the
 * UNet's sigma table is computed from it with the schedulers' own float32 arithmetic, so the two
 * agree to the last bit at integer timesteps.
 */
import { alphasCumprod, makeBetas } from "../../../schedulers/betas.js";
import { logSigmas, sigmasFromAlphasCumprod } from "../../../schedulers/sigmas.js";

export const SHAPES_SCHEDULE = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  trained_betas: null,
} as const;

/** log sigma_t = log sqrt((1 - abar_t) / abar_t) for t = 0..999, float32. */
export function logSigmaTable(): Float32Array {
  return logSigmas(sigmasFromAlphasCumprod(alphasCumprod(makeBetas(SHAPES_SCHEDULE))));
}

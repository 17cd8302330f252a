/**
 * The per-pixel linear map between RGB and the 4 latent channels, shared by the UNet (which builds
 * its target in latent space), the VAE decoder and encoder (which undo it) and the closed form.
 *
 * In the pipeline's scaled latent space (scaling_factor x the VAE latent), a [-1, 1] RGB colour c
 * is the latent LATENT_GAIN * Q c, where Q (4 x 3) has orthonormal columns (three columns of a
 * 4 x 4 Hadamard matrix): every latent channel mixes all three colours, and Q^T Q = I makes
 * c = Q^T latent / LATENT_GAIN the exact left inverse. The gain puts latents in [-3, 3], near the
 * spread of SD's own scaled latents, so the noise left after a DDIM/PNDM run (they stop at
 * alphas_cumprod[0], not at 1) is small in the picture.
 */
export const SCALING_FACTOR = 0.18215;
export const LATENT_GAIN = 2;
export const LATENT_CHANNELS = 4;

/** Q, row-major [4, 3]. */
export const RGB_TO_LATENT: readonly (readonly [number, number, number])[] = [
  [0.5, 0.5, 0.5],
  [-0.5, 0.5, -0.5],
  [0.5, -0.5, -0.5],
  [-0.5, -0.5, 0.5],
];

/** Scaled latent (4) of a [-1, 1] RGB colour. */
export function latentOfRgb(rgb: readonly number[]): number[] {
  return RGB_TO_LATENT.map((row) => LATENT_GAIN * (row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]));
}

/** [-1, 1] RGB of a scaled latent (4). */
export function rgbOfLatent(latent: readonly number[]): number[] {
  return [0, 1, 2].map((c) => RGB_TO_LATENT.reduce((s, row, k) => s + row[c] * latent[k], 0) / LATENT_GAIN);
}

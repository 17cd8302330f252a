/**
 * Forward diffusion q(x_t | x_0) for image-to-image, in the two parametrisations diffusers uses,
 * in float32 like its tensors.
 */
const f = Math.fround;

/** Variance-preserving (DDPM) form: sqrt(alphabar_t) * x0 + sqrt(1 - alphabar_t) * noise. */
export function addNoiseVp(original: Float32Array, noise: Float32Array, alphaCumprod: number): Float32Array {
  checkSameLength(original, noise);
  const a = f(Math.sqrt(alphaCumprod));
  const b = f(Math.sqrt(f(1 - alphaCumprod)));
  return original.map((x, i) => f(a * x) + f(b * noise[i]));
}

/** Variance-exploding (k-diffusion) form: x0 + sigma * noise. */
export function addNoiseVe(original: Float32Array, noise: Float32Array, sigma: number): Float32Array {
  checkSameLength(original, noise);
  return original.map((x, i) => x + f(noise[i] * sigma));
}

export function checkSameLength(a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw new RangeError(`arrays differ in length: ${a.length} and ${b.length}`);
}

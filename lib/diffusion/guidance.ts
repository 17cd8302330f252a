/**
 * Classifier-free guidance: eps = eps_uncond + w * (eps_text - eps_uncond), equation (2) of
 * Imagen (Saharia et al. 2022). Each operation rounds to float32, as torch computes it.
 */
export function applyGuidance(noisePred: Float32Array, guidanceScale: number): Float32Array {
  const half = noisePred.length / 2;
  const out = new Float32Array(half);
  const w = Math.fround(guidanceScale);
  for (let i = 0; i < half; i++) {
    const u = noisePred[i];
    const t = noisePred[half + i];
    out[i] = u + Math.fround(w * Math.fround(t - u));
  }
  return out;
}

/** diffusers guides only when w > 1; at w <= 1 the negative branch is never computed. */
export function doesGuidance(guidanceScale: number): boolean {
  return guidanceScale > 1;
}

/**
 * Guidance-scale conditioning of guidance-distilled UNets (LCM, Luo et al. 2023, section 4.2; the
 * embedding of VDM, Kingma et al. 2021): the UNet's `timestep_cond` input is a sinusoidal
 * embedding of w, sin half first, then cos, of (w - 1) * 1000 as diffusers'
 * get_guidance_scale_embedding(w - 1, embedding_dim) computes it in float32.
 */
const f = Math.fround;

/** [batch, dim] float32: the same embedding of `guidanceScale` for every batch item. */
export function guidanceScaleEmbedding(guidanceScale: number, dim: number, batch: number): Float32Array {
  if (!Number.isInteger(dim) || dim < 4) throw new RangeError(`guidance embedding dim must be an integer >= 4, got ${dim}`);
  const half = Math.floor(dim / 2);
  const w = f(f(f(guidanceScale - 1)) * 1000);
  const step = f(f(Math.log(10000)) / (half - 1));
  const row = new Float32Array(dim); // an odd dim leaves the last entry 0 (diffusers zero-pads)
  for (let i = 0; i < half; i++) {
    const freq = f(Math.exp(f(i * -step)));
    const arg = f(w * freq);
    row[i] = Math.sin(arg);
    row[half + i] = Math.cos(arg);
  }
  const out = new Float32Array(batch * dim);
  for (let b = 0; b < batch; b++) out.set(row, b * dim);
  return out;
}

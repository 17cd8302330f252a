/**
 * From the VAE's [-1, 1] NCHW output to pictures: diffusers' VaeImageProcessor.postprocess
 * ((x / 2 + 0.5) clamped to [0, 1], float32) and numpy_to_pil (uint8(round(x * 255)), numpy's
 * round-half-to-even).
 */
export interface RgbImage {
  width: number;
  height: number;
  /** HWC, 3 channels, 8 bits. */
  data: Uint8Array;
}

/** [B, 3, H, W] in [-1, 1] -> B images as HWC float32 in [0, 1]. */
export function toUnitHWC(data: Float32Array, dims: readonly number[]): Float32Array[] {
  const [b, c, h, w] = dims;
  const out: Float32Array[] = [];
  for (let n = 0; n < b; n++) {
    const img = new Float32Array(h * w * c);
    const base = n * c * h * w;
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        const v = Math.fround(Math.fround(data[base + ch * h * w + p] / 2) + 0.5);
        img[p * c + ch] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
    out.push(img);
  }
  return out;
}

/** Round half to even, as numpy's round. */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function toRgb8(hwc: Float32Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(hwc.length);
  for (let i = 0; i < hwc.length; i++) data[i] = rint(Math.fround(hwc[i] * 255));
  return { width, height, data };
}

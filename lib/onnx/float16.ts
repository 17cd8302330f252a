/**
 * float32 <-> IEEE half conversion. Math.f16round (Node 24) rounds to the nearest half; the bit
 * pattern is read back through a Float16Array when the runtime has one, else computed by hand.
 */
const HasF16 = typeof (globalThis as { Float16Array?: unknown }).Float16Array === "function";

export function float32ToFloat16Bits(src: Float32Array): Uint16Array {
  if (HasF16) {
    const F16 = (globalThis as unknown as { Float16Array: new (a: ArrayLike<number>) => { buffer: ArrayBuffer } }).Float16Array;
    return new Uint16Array(new F16(src).buffer);
  }
  const out = new Uint16Array(src.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < src.length; i++) {
    f[0] = src[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    let exp = ((x >>> 23) & 0xff) - 127 + 15;
    let mant = x & 0x7fffff;
    if (((x >>> 23) & 0xff) === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    if (exp >= 31) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (exp <= 0) {
      if (exp < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - exp;
      let half = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && half & 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (exp << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
    out[i] = sign | half;
    void (exp = 0);
  }
  return out;
}

export function float16BitsToFloat32(src: Uint16Array): Float32Array {
  if (HasF16) {
    const F16 = (globalThis as unknown as { Float16Array: new (b: ArrayBuffer, o: number, n: number) => ArrayLike<number> }).Float16Array;
    return Float32Array.from(new F16(src.buffer as ArrayBuffer, src.byteOffset, src.length));
  }
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i];
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

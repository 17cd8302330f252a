/**
 * A seeded random generator that draws the same numbers as PyTorch's CPU generator, so that a seed
 * gives the same initial latents here as in diffusers (which draws them with
 * `torch.randn(shape, generator=torch.Generator().manual_seed(seed))` on the CPU).
 *
 * Hand-written on purpose: no npm package reproduces torch's stream (its mt19937 seeding, 24-bit float
 * uniforms, the blocks-of-16 Box-Muller fill and the cached second normal of the small-tensor path).
 * The behaviour was learnt from PyTorch 1.13 and is checked against values it produced
 * (test/fixtures/generator, test/reference/generator.py).
 *
 * How torch draws, in the words of this file:
 * - `manual_seed(seed)` seeds a standard MT19937 with the low 32 bits of the seed (as an unsigned
 *   64-bit value: a negative seed is taken in two's complement, so -1 seeds with 0xffffffff) and
 *   forgets any cached normal sample.
 * - A float32 uniform in [0, 1) is one 32-bit draw: `(bits & 0xffffff) / 2^24`. A float64 uniform is
 *   one 64-bit draw (two 32-bit draws, the first one the high half): `(bits & (2^53 - 1)) / 2^53`.
 * - `randn` of 16 elements or more: fill the whole tensor with float32 uniforms, then turn each block
 *   of 16 into normals with Box-Muller in float32 (elements 0..7 give u1, 8..15 give u2;
 *   the cosines go to 0..7, the sines to 8..15). When the count is not a multiple of 16, the last 16
 *   elements are drawn afresh (16 more uniforms) and transformed once more, overwriting the tail.
 * - `randn` of fewer than 16 elements: each element is a float64 normal (Box-Muller from two float64
 *   uniforms) cast to float32; every second element comes from the sine the previous draw cached in
 *   the generator. That cache outlives the call and is only used by this path.
 *
 * Torch's AVX2 kernel (the one a normal x86 build runs) computes log/sin/cos of the large-tensor path
 * with its own vector approximations, so its values can differ from these by about 1e-6.
 */
import { randomInt } from "node:crypto";
import { InvalidInputError } from "../errors.js";

const TWO_POW_32 = 2 ** 32;
const TWO_POW_64 = 1n << 64n;
const MIN_INT64 = -(1n << 63n);
/** The threshold below which torch draws normals one by one in float64. */
const BLOCK = 16;

/** The 32-bit Mersenne Twister, as std::mt19937 and torch's at::mt19937 define it. */
class MersenneTwister {
  private static readonly N = 624;
  private static readonly M = 397;
  private readonly state = new Uint32Array(MersenneTwister.N);
  private index = MersenneTwister.N;

  constructor(seed32: number) {
    const s = this.state;
    s[0] = seed32 >>> 0;
    for (let i = 1; i < MersenneTwister.N; i++) {
      const prev = s[i - 1] ^ (s[i - 1] >>> 30);
      s[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The next 32-bit output, as an unsigned number. */
  next(): number {
    if (this.index >= MersenneTwister.N) this.twist();
    let y = this.state[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const s = this.state;
    const { N, M } = MersenneTwister;
    for (let i = 0; i < N; i++) {
      const y = (s[i] & 0x80000000) | (s[(i + 1) % N] & 0x7fffffff);
      let v = s[(i + M) % N] ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      s[i] = v >>> 0;
    }
    this.index = 0;
  }
}

/** The seed as torch stores it (`Generator.initial_seed()`): an unsigned 64-bit integer. */
function normalizeSeed(seed: number | bigint): bigint {
  let big: bigint;
  if (typeof seed === "bigint") {
    big = seed;
  } else if (typeof seed === "number" && Number.isSafeInteger(seed)) {
    big = BigInt(seed);
  } else {
    throw new InvalidInputError(
      "seed",
      `must be an integer, got ${String(seed)}`,
      "a safe integer (|seed| <= 2^53 - 1) or a bigint in [-2^63, 2^64)",
    );
  }
  if (big < MIN_INT64 || big >= TWO_POW_64) {
    throw new InvalidInputError("seed", `out of range: ${big}`, "a bigint in [-2^63, 2^64), as torch accepts");
  }
  return big < 0n ? big + TWO_POW_64 : big;
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new InvalidInputError("count", `must be a non-negative integer, got ${String(count)}`, "0, 1, 2, ...");
  }
}

/**
 * `torch.Generator().manual_seed(seed)` on the CPU. Successive calls continue one stream, exactly as
 * successive `torch.randn(..., generator=g)` / `torch.rand(..., generator=g)` calls on one generator do.
 */
export class TorchGenerator {
  /**
   * The seed as torch reports it from `initial_seed()`: the given value as an unsigned 64-bit integer
   * (negative seeds in two's complement). Only its low 32 bits seed the Mersenne Twister.
   */
  readonly seed: bigint;
  private readonly engine: MersenneTwister;
  /** The sine half of the last float64 Box-Muller pair, kept for the next small-tensor normal. */
  private cachedNormal: number | undefined;

  /** @param seed any safe integer or a bigint in [-2^63, 2^64); only the low 32 bits matter. */
  constructor(seed: number | bigint) {
    this.seed = normalizeSeed(seed);
    this.engine = new MersenneTwister(Number(this.seed & 0xffffffffn));
  }

  /** `torch.randn(count)`: float32 standard normals for a contiguous tensor of `count` elements. */
  randn(count: number): Float32Array {
    checkCount(count);
    const out = new Float32Array(count);
    if (count >= BLOCK) this.fillNormalBlocks(out);
    else for (let i = 0; i < count; i++) out[i] = this.normalFloat64();
    return out;
  }

  /** `torch.rand(count)`: float32 uniforms in [0, 1). */
  rand(count: number): Float32Array {
    checkCount(count);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.uniformFloat32();
    return out;
  }

  private uniformFloat32(): number {
    return (this.engine.next() & 0xffffff) / 2 ** 24;
  }

  private uniformFloat64(): number {
    const high = this.engine.next();
    const low = this.engine.next();
    // low 53 bits of (high << 32 | low), scaled to [0, 1); exact in float64
    return ((high & 0x1fffff) * TWO_POW_32 + low) / 2 ** 53;
  }

  /** One float64 normal of the small-tensor path, using (and refilling) the cached second sample. */
  private normalFloat64(): number {
    if (this.cachedNormal !== undefined) {
      const cached = this.cachedNormal;
      this.cachedNormal = undefined;
      return cached;
    }
    const u1 = this.uniformFloat64();
    const u2 = this.uniformFloat64();
    const radius = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = radius * Math.sin(theta);
    return radius * Math.cos(theta);
  }

  /** The large-tensor path: uniforms for all, Box-Muller per block of 16, the tail redrawn. */
  private fillNormalBlocks(out: Float32Array): void {
    const n = out.length;
    for (let i = 0; i < n; i++) out[i] = this.uniformFloat32();
    for (let i = 0; i + BLOCK <= n; i += BLOCK) boxMuller16(out, i);
    if (n % BLOCK !== 0) {
      const start = n - BLOCK;
      for (let i = 0; i < BLOCK; i++) out[start + i] = this.uniformFloat32();
      boxMuller16(out, start);
    }
  }
}

/**
 * Box-Muller over out[at..at+16) in float32 arithmetic: each float op is done in float64 and rounded
 * to float32 (Math.fround), which is what torch's scalar float kernel computes up to the last ulp
 * of logf/cosf/sinf.
 */
function boxMuller16(out: Float32Array, at: number): void {
  const f = Math.fround;
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - out[at + j]); // [0, 1) -> (0, 1] so that log is finite
    const u2 = out[at + j + 8];
    const radius = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
    const theta = f(2 * Math.PI * u2); // torch: 2.0f * pi<double> * u2, rounded to float
    out[at + j] = f(radius * f(Math.cos(theta)));
    out[at + j + 8] = f(radius * f(Math.sin(theta)));
  }
}

/** A fresh seed for callers that gave none: a non-negative integer below 2^32 from the crypto RNG. */
export function randomSeed(): number {
  return randomInt(0, TWO_POW_32);
}

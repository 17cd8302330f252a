/**
 * Deterministic random weights for built models.
 *
 * Each tensor gets its own generator, seeded from the model seed and the tensor's name, so a
 * weight does not depend on the order in which the graph was built and the same (seed, name) pair
 * always gives the same bytes. The generator is xoshiro128** (32-bit operations only, fast in JS)
 * seeded through splitmix32; it is hand-written because it is 20 lines and the npm PRNG packages
 * either allocate per draw or lack seeding by a pair of values.
 *
 * Initial values follow PyTorch's defaults in scale: Linear and Conv weights and biases
 * ~U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)), norm weights 1 and biases
 * 0, embeddings uniform with the standard deviation that transformers' CLIP init uses. Uniform draws
 * replace normal ones (same standard deviation), which keeps generation to one multiply per value.
 */

/** How a weight tensor is filled. */
export type WeightInit =
  | { kind: "uniform"; bound: number }
  | { kind: "constant"; value: number };

/** U(-1/sqrt(fanIn), 1/sqrt(fanIn)): PyTorch's default for Linear/Conv weights and biases. */
export function fanInUniform(fanIn: number): WeightInit {
  return { kind: "uniform", bound: 1 / Math.sqrt(fanIn) };
}

/** A uniform init with the given standard deviation (bound = std * sqrt(3)). */
export function uniformWithStd(std: number): WeightInit {
  return { kind: "uniform", bound: std * Math.sqrt(3) };
}

export const ONES: WeightInit = { kind: "constant", value: 1 };
export const ZEROS: WeightInit = { kind: "constant", value: 0 };

/** FNV-1a over the UTF-16 code units of a string, mixed with a salt. */
function hashString(text: string, salt: number): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** splitmix32 step, used only to spread a seed over xoshiro's 128-bit state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Fills `out` with values of `init`, drawn from a generator keyed by (seed, name). */
export function fillWeights(out: Float32Array, init: WeightInit, seed: number, name: string): Float32Array {
  if (init.kind === "constant") return out.fill(init.value);
  // Both 32-bit halves of a safe-integer seed count (the high half mixes in as 0 for seeds < 2^32).
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  const mix = { s: hashString(name, low) ^ Math.imul(low, 0x27d4eb2d) ^ Math.imul(high, 0x165667b1) };
  let a = splitmix32(mix);
  let b = splitmix32(mix);
  let c = splitmix32(mix);
  let d = splitmix32(mix);
  if ((a | b | c | d) === 0) a = 1;
  // Maps the top 24 bits of a draw to [-bound, bound).
  const scale = (2 * init.bound) / 16777216;
  const offset = -init.bound;
  for (let i = 0; i < out.length; i++) {
    // xoshiro128**: result = rotl(b * 5, 7) * 9
    const m = Math.imul(b, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    out[i] = (r >>> 8) * scale + offset;
  }
  return out;
}

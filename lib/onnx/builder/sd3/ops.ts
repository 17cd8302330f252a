/**
 * Building blocks the SD3 components use beyond layers.ts: RMS norms (T5's layer norm, SD3.5's
 * q/k norm), layer norm without affine parameters, tanh-approximated GELU, multi-head attention with
 * an optional scale, bias and per-head q/k norms, and row chunks of a [B, n * D] tensor.
 */
import { attr, type GraphBuilder, type Value } from "../graph.js";
import { ONES } from "../random-weights.js";

/** x * rsqrt(mean(x^2) + eps) over the last axis, times `weight` when given (T5LayerNorm, diffusers' RMSNorm). */
export function rmsNorm(g: GraphBuilder, x: Value, epsilon: number, weight?: Value): Value {
  const meanSquare = g.op("ReduceMean", [g.mul(x, x)], { axes: attr.ints([-1]), keepdims: attr.int(1) });
  const normed = g.div(x, g.op("Sqrt", [g.add(meanSquare, g.scalar(epsilon))]));
  return weight ? g.mul(normed, weight) : normed;
}

/** An RMS norm with its own `<prefix>.weight` [dim] (initialised to ones, as PyTorch does). */
export function rmsNormWeighted(g: GraphBuilder, prefix: string, x: Value, dim: number, epsilon: number): Value {
  const w = g.weight(`${prefix}.weight`, [dim], ONES);
  return g.scope(prefix, () => rmsNorm(g, x, epsilon, w));
}

/** nn.LayerNorm(dim, elementwise_affine=False) over the last axis. */
export function layerNormPlain(g: GraphBuilder, x: Value, dim: number, epsilon: number): Value {
  return g.layerNormalization(x, g.constant("float32", new Array(dim).fill(1)), g.constant("float32", new Array(dim).fill(0)), epsilon);
}

/** GELU, tanh approximation (nn.GELU(approximate="tanh"), transformers' gelu_new). */
export function geluTanh(g: GraphBuilder, x: Value): Value {
  const cube = g.mul(g.mul(x, x), x);
  const inner = g.mul(g.add(x, g.mul(cube, g.scalar(0.044715))), g.scalar(Math.sqrt(2 / Math.PI)));
  return g.mul(g.mul(x, g.scalar(0.5)), g.add(g.op("Tanh", [inner]), g.scalar(1)));
}

/** [B, S, heads * headDim] -> [B, heads, S, headDim]. */
export function splitHeads(g: GraphBuilder, x: Value, heads: number, headDim: number): Value {
  return g.transpose(g.reshape(x, [0, 0, heads, headDim]), [0, 2, 1, 3]);
}

/** [B, heads, S, headDim] -> [B, S, heads * headDim]. */
export function mergeHeads(g: GraphBuilder, x: Value, heads: number, headDim: number): Value {
  return g.reshape(g.transpose(x, [0, 2, 1, 3]), [0, 0, heads * headDim]);
}

/**
 * softmax(q k^T * scale + bias) v over split heads ([B, heads, S, headDim] each). `scale` 1 is T5's
 * unscaled attention; otherwise it is applied to q, the smaller operand.
 */
export function headAttention(g: GraphBuilder, qh: Value, kh: Value, vh: Value, scale: number, bias?: Value): Value {
  const q = scale === 1 ? qh : g.mul(qh, g.scalar(scale));
  let scores = g.matmul(q, g.transpose(kh, [0, 1, 3, 2]));
  if (bias) scores = g.add(scores, bias);
  return g.matmul(g.softmax(scores, -1), vh);
}

/** Splits a [B, n * D] modulation vector into n pieces [B, 1, D] that broadcast over the sequence. */
export function modulationChunks(g: GraphBuilder, x: Value, n: number): Value[] {
  return g.split(g.unsqueeze(x, [1]), 2, n);
}

/** x * (1 + scale) + shift, the adaptive layer norm's modulation (scale, shift: [B, 1, D]). */
export function modulate(g: GraphBuilder, x: Value, shift: Value, scale: Value): Value {
  return g.add(g.mul(x, g.add(scale, g.scalar(1))), shift);
}

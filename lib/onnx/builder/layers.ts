/**
 * Building blocks shared by the model family (CLIP, UNet, VAE), each the ONNX form of one PyTorch
 * module. Weights are named `<prefix>.weight` / `<prefix>.bias` after the module's state_dict key.
 *
 * Stored layouts (what a loader of these initializers must know):
 * - Linear: weight stored TRANSPOSED, [in_features, out_features], so it feeds MatMul directly
 *   (PyTorch keeps [out, in]); bias [out].
 * - Conv2d: weight [out, in, kH, kW] and bias [out], as PyTorch.
 * - GroupNorm / LayerNorm: weight and bias [C], as PyTorch.
 * - Embedding: [num_embeddings, dim], as PyTorch.
 */
import { attr, type GraphBuilder, type Value } from "./graph.js";
import { fanInUniform, ONES, ZEROS } from "./random-weights.js";

/** nn.Linear on the last axis (any rank). */
export function linear(g: GraphBuilder, prefix: string, x: Value, inFeatures: number, outFeatures: number, bias = true): Value {
  const w = g.weight(`${prefix}.weight`, [inFeatures, outFeatures], fanInUniform(inFeatures));
  const y = g.scope(prefix, () => g.matmul(x, w));
  if (!bias) return y;
  const b = g.weight(`${prefix}.bias`, [outFeatures], fanInUniform(inFeatures));
  return g.scope(prefix, () => g.add(y, b));
}

/** nn.Linear on a 2-D input, as one Gemm (time embeddings). */
export function linear2d(g: GraphBuilder, prefix: string, x: Value, inFeatures: number, outFeatures: number): Value {
  const w = g.weight(`${prefix}.weight`, [inFeatures, outFeatures], fanInUniform(inFeatures));
  const b = g.weight(`${prefix}.bias`, [outFeatures], fanInUniform(inFeatures));
  return g.scope(prefix, () => g.gemm(x, w, b));
}

/** nn.Conv2d with bias; `pads` as ONNX [top, left, bottom, right] (default: kernel / 2 all round). */
export function conv2d(
  g: GraphBuilder,
  prefix: string,
  x: Value,
  inChannels: number,
  outChannels: number,
  kernel: number,
  options: { stride?: number; pads?: readonly [number, number, number, number] } = {},
): Value {
  const fanIn = inChannels * kernel * kernel;
  const w = g.weight(`${prefix}.weight`, [outChannels, inChannels, kernel, kernel], fanInUniform(fanIn));
  const b = g.weight(`${prefix}.bias`, [outChannels], fanInUniform(fanIn));
  return g.scope(prefix, () => g.conv(x, w, b, { kernel, ...options }));
}

export interface GroupNormOptions {
  /**
   * Use com.microsoft GroupNorm (NHWC), a contrib op that only ONNX Runtime's CUDA/ROCm/DML
   * providers implement: it marks a "GPU-optimised" export that the CPU provider cannot open.
   */
  contribOp?: boolean;
}

/**
 * nn.GroupNorm on [B, C, H, W] (or [B, C, L]). Written as torch's exporter writes it: reshape to
 * [B, groups, -1], InstanceNormalization (scale 1, bias 0), reshape back, then the per-channel
 * affine. Measured on onnxruntime-node 1.30 CPU (2 vCPU), [2, 320, 64, 64]: 5.5 ms per norm this way,
 * 11.8 ms with GroupNormalization-18 (+ affine) and 10.4 ms with GroupNormalization-21.
 */
export function groupNorm(
  g: GraphBuilder,
  prefix: string,
  x: Value,
  channels: number,
  groups: number,
  epsilon: number,
  options: GroupNormOptions = {},
): Value {
  const gamma = g.weight(`${prefix}.weight`, [channels], ONES);
  const beta = g.weight(`${prefix}.bias`, [channels], ZEROS);
  return g.scope(prefix, () => {
    if (options.contribOp) {
      const nhwc = g.transpose(x, [0, 2, 3, 1]);
      const y = g.op(
        "GroupNorm",
        [nhwc, gamma, beta],
        { epsilon: attr.float(epsilon), groups: attr.int(groups), activation: attr.int(0) },
        "com.microsoft",
      );
      return g.transpose(y, [0, 3, 1, 2]);
    }
    const grouped = g.reshape(x, [0, groups, -1]);
    const normalized = g.instanceNormalization(grouped, g.constant("float32", new Array(groups).fill(1)), g.constant("float32", new Array(groups).fill(0)), epsilon);
    const back = g.reshape(normalized, g.shape(x));
    const trailing = [1, 2];
    return g.add(g.mul(back, g.unsqueeze(gamma, trailing)), g.unsqueeze(beta, trailing));
  });
}

/** nn.LayerNorm over the last axis. */
export function layerNorm(g: GraphBuilder, prefix: string, x: Value, dim: number, epsilon: number): Value {
  const gamma = g.weight(`${prefix}.weight`, [dim], ONES);
  const beta = g.weight(`${prefix}.bias`, [dim], ZEROS);
  return g.scope(prefix, () => g.layerNormalization(x, gamma, beta, epsilon));
}

/**
 * Scaled dot-product attention over [B, S, heads * headDim] projections: split heads, softmax of
 * q k^T / sqrt(headDim) (+ mask), weighted sum of v, merge heads. The scale is applied to q, which
 * is smaller than the score matrix. `mask` is added to the scores ([S, S] or broadcastable).
 */
export function attention(g: GraphBuilder, q: Value, k: Value, v: Value, heads: number, headDim: number, mask?: Value): Value {
  const split = (x: Value, perm: number[]) => g.transpose(g.reshape(x, [0, 0, heads, headDim]), perm);
  const qh = split(g.mul(q, g.scalar(1 / Math.sqrt(headDim))), [0, 2, 1, 3]);
  const kh = split(k, [0, 2, 3, 1]);
  const vh = split(v, [0, 2, 1, 3]);
  let scores = g.matmul(qh, kh);
  if (mask) scores = g.add(scores, mask);
  const out = g.matmul(g.softmax(scores, -1), vh);
  return g.reshape(g.transpose(out, [0, 2, 1, 3]), [0, 0, heads * headDim]);
}

/** [B, C, H, W] -> [B, H*W, C] (channels last, as a token sequence). */
export function toTokens(g: GraphBuilder, x: Value, channels: number): Value {
  return g.transpose(g.reshape(x, [0, channels, -1]), [0, 2, 1]);
}

/** [B, H*W, C] -> [B, C, H, W], taking H and W from `like` ([B, C, H, W]). */
export function fromTokens(g: GraphBuilder, tokens: Value, like: Value): Value {
  return g.reshape(g.transpose(tokens, [0, 2, 1]), g.shape(like));
}

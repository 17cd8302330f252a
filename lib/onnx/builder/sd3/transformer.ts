/**
 * diffusers' SD3Transformer2DModel (MMDiT, Esser et al. 2024, figure 2) as an ONNX graph, with the
 * SD3.5 "MMDiT-X" options of diffusers >= 0.31 (`dual_attention_layers`, `qk_norm: "rms_norm"`):
 *
 * - pos_embed: 2x2 patches by a stride-2 convolution, plus 2-D sin-cos position embeddings cropped
 *   from the centre of a pos_embed_max_size^2 table (so any latent size up to it has positions);
 * - time_text_embed: sinusoidal timestep features (256, cos first) through a 2-layer SiLU MLP, plus
 *   the pooled CLIP embeddings through another; their sum `temb` modulates every block;
 * - context_embedder: the joint text sequence (CLIP + T5, 4096 wide) to the model width;
 * - JointTransformerBlock x num_layers: adaLN-Zero on both streams (shift, scale, gate for attention
 *   and for the MLP), one attention over [image tokens; text tokens] with separate projections per
 *   stream, gated residuals, tanh-GELU MLPs. The last block is `context_pre_only` (the text stream
 *   only feeds keys and values; its norm is AdaLayerNormContinuous and it has no output projection
 *   or MLP). Dual-attention layers add a second, image-only self-attention with its own modulation;
 *   qk_norm RMS-normalises q and k per head (with learned scales) before the dot product;
 * - norm_out (AdaLayerNormContinuous: scale, then shift), proj_out to 2x2 patches of 16 channels,
 *   and unpatchify back to [B, 16, H, W].
 *
 * Inputs as optimum exports it: hidden_states [B, C, H, W], encoder_hidden_states [B, S, 4096],
 * pooled_projections [B, 2048], timestep float [B]; output out_hidden_states [B, C, H, W].
 * Initializer names are the state_dict keys (`transformer_blocks.0.attn.to_q.weight`, ...), layouts as
 * in layers.ts; `pos_embed.pos_embed` is the persistent sin-cos buffer.
 */
import { InvalidInputError } from "../../../errors.js";
import { GraphBuilder, type Value } from "../graph.js";
import { conv2d, linear, linear2d } from "../layers.js";
import { geluTanh, headAttention, layerNormPlain, mergeHeads, modulate, modulationChunks, rmsNormWeighted, splitHeads } from "./ops.js";

export interface Sd3TransformerConfig {
  sampleSize: number;
  patchSize: number;
  inChannels: number;
  outChannels: number;
  numLayers: number;
  attentionHeadDim: number;
  numAttentionHeads: number;
  jointAttentionDim: number;
  captionProjectionDim: number;
  pooledProjectionDim: number;
  posEmbedMaxSize: number;
  /** SD3.5: blocks with the extra image-only self-attention (diffusers >= 0.31). Empty for SD3. */
  dualAttentionLayers: readonly number[];
  /** SD3.5: "rms_norm" on q and k per head; null for SD3. */
  qkNorm: "rms_norm" | null;
}

export interface Sd3TransformerGraphOptions {
  seed: number;
  axes?: { batch: string; sequence: string; height: string; width: string };
}

/** Every norm of the block, the final norm and the q/k norms use eps 1e-6. */
const EPS = 1e-6;
const TIME_CHANNELS = 256;

export function validateSd3TransformerConfig(c: Sd3TransformerConfig): void {
  for (const key of ["sampleSize", "patchSize", "inChannels", "outChannels", "numLayers", "attentionHeadDim", "numAttentionHeads", "jointAttentionDim", "pooledProjectionDim", "posEmbedMaxSize"] as const) {
    if (!Number.isInteger(c[key]) || c[key] <= 0) throw new InvalidInputError(`transformer.${key}`, `got ${c[key]}`, "a positive integer");
  }
  const inner = c.attentionHeadDim * c.numAttentionHeads;
  // diffusers projects the context to caption_projection_dim but the blocks take it at the model width
  if (c.captionProjectionDim !== inner) {
    throw new InvalidInputError("transformer.captionProjectionDim", `${c.captionProjectionDim} differs from the model width ${inner}`, String(inner));
  }
  if ((inner / 2) % 2 !== 0) throw new InvalidInputError("transformer.attentionHeadDim", `width ${inner} is not a multiple of 4`, "a width divisible by 4 (2-D sin-cos embedding)");
  for (const i of c.dualAttentionLayers) {
    if (!Number.isInteger(i) || i < 0 || i >= c.numLayers) throw new InvalidInputError("transformer.dualAttentionLayers", `layer ${i} does not exist`, `indices in [0, ${c.numLayers - 1}]`);
  }
  if (c.qkNorm !== null && c.qkNorm !== "rms_norm") throw new InvalidInputError("transformer.qkNorm", `got ${JSON.stringify(c.qkNorm)}`, '"rms_norm" or null');
}

/**
 * diffusers' `get_2d_sincos_pos_embed(D, P, base_size=sample_size / patch)` as float32 [P * P, D]:
 * grid coordinates i / (P / base_size) in float32, each axis embedded as [sin, cos] of pos * omega_k
 * (omega_k = 10000^(-k / (D / 4)), float64). The column (w) coordinate fills the first half: diffusers'
 * meshgrid puts w first and its "emb_h" is computed from that first grid.
 */
export function sincosPositionTable(dim: number, gridSize: number, baseSize: number): Float32Array {
  const f = Math.fround;
  const quarter = dim / 4;
  const omega = Array.from({ length: quarter }, (_, k) => 1 / 10000 ** (k / quarter));
  const coord = Array.from({ length: gridSize }, (_, i) => f(i / f(gridSize / baseSize)));
  const out = new Float32Array(gridSize * gridSize * dim);
  for (let h = 0; h < gridSize; h++) {
    for (let w = 0; w < gridSize; w++) {
      const row = (h * gridSize + w) * dim;
      for (let k = 0; k < quarter; k++) {
        out[row + k] = Math.sin(coord[w] * omega[k]);
        out[row + quarter + k] = Math.cos(coord[w] * omega[k]);
        out[row + 2 * quarter + k] = Math.sin(coord[h] * omega[k]);
        out[row + 3 * quarter + k] = Math.cos(coord[h] * omega[k]);
      }
    }
  }
  return out;
}

/** exp(-ln(10000) i / half) in float32 steps, as diffusers' get_timestep_embedding computes them. */
function timestepFrequencies(half: number): Float32Array {
  const f = Math.fround;
  const negLog = f(-Math.log(10000));
  return Float32Array.from({ length: half }, (_, i) => f(Math.exp(f(f(negLog * i) / half))));
}

class Sd3TransformerGraph {
  readonly g: GraphBuilder;
  private readonly D: number;
  private readonly heads: number;
  private readonly headDim: number;

  constructor(
    private readonly c: Sd3TransformerConfig,
    options: Sd3TransformerGraphOptions,
  ) {
    this.g = new GraphBuilder({ name: "SD3Transformer2DModel", seed: options.seed, docString: "diffusers SD3Transformer2DModel (diffusion-workbench builder, random weights)" });
    this.heads = c.numAttentionHeads;
    this.headDim = c.attentionHeadDim;
    this.D = this.heads * this.headDim;
    this.axes = options.axes ?? { batch: "batch_size", sequence: "sequence_length", height: "height", width: "width" };
  }

  private readonly axes: NonNullable<Sd3TransformerGraphOptions["axes"]>;

  build(): GraphBuilder {
    const { g, c, D, axes } = this;
    const sample = g.input("hidden_states", "float32", [axes.batch, c.inChannels, axes.height, axes.width]);
    const context = g.input("encoder_hidden_states", "float32", [axes.batch, axes.sequence, c.jointAttentionDim]);
    const pooled = g.input("pooled_projections", "float32", [axes.batch, c.pooledProjectionDim]);
    const timestep = g.input("timestep", "float32", [axes.batch]);

    let x = this.patchEmbed(sample);
    const temb = this.timeTextEmbed(timestep, pooled);
    const tembAct = g.silu(temb);
    let ctx = linear(g, "context_embedder", context, c.jointAttentionDim, c.captionProjectionDim);
    const dual = new Set(c.dualAttentionLayers);
    for (let i = 0; i < c.numLayers; i++) {
      const last = i === c.numLayers - 1;
      [x, ctx] = g.scope(`transformer_blocks.${i}`, () => this.block(`transformer_blocks.${i}`, x, ctx, tembAct, last, dual.has(i)));
    }
    const [scale, shift] = modulationChunks(g, linear2d(g, "norm_out.linear", tembAct, D, 2 * D), 2);
    x = g.scope("norm_out", () => modulate(g, layerNormPlain(g, x, D, EPS), shift, scale));
    const patches = linear(g, "proj_out", x, D, c.patchSize * c.patchSize * c.outChannels);
    g.output(this.unpatchify(patches, sample), "out_hidden_states", "float32", [axes.batch, c.outChannels, axes.height, axes.width]);
    return g;
  }

  /** Patches plus the centre crop of the position table that fits the latent's patch grid. */
  private patchEmbed(sample: Value): Value {
    const { g, c, D } = this;
    const p = c.patchSize;
    const P = c.posEmbedMaxSize;
    const patches = conv2d(g, "pos_embed.proj", sample, c.inChannels, D, p, { stride: p, pads: [0, 0, 0, 0] });
    const table = g.initializer("pos_embed.pos_embed", "float32", [1, P * P, D], () => sincosPositionTable(D, P, c.sampleSize / p));
    return g.scope("pos_embed", () => {
      const tokens = g.transpose(g.reshape(patches, [0, D, -1]), [0, 2, 1]);
      const grid = g.div(g.shape(sample, 2, 4), g.ints([p, p])); // [h, w] in patches
      const start = g.div(g.sub(g.ints([P, P]), grid), g.ints([2, 2]));
      const crop = g.slice(g.reshape(table, [P, P, D]), start, g.add(start, grid), [0, 1]);
      return g.add(tokens, g.reshape(crop, [1, -1, D]));
    });
  }

  private timeTextEmbed(timestep: Value, pooled: Value): Value {
    const { g, c, D } = this;
    const half = TIME_CHANNELS / 2;
    const features = g.scope("time_text_embed/time_proj", () => {
      const args = g.mul(g.unsqueeze(timestep, [1]), g.constant("float32", [...timestepFrequencies(half)], [1, half]));
      return g.concat([g.cos(args), g.sin(args)], 1); // flip_sin_to_cos
    });
    const t = "time_text_embed.timestep_embedder";
    const timeEmb = linear2d(g, `${t}.linear_2`, g.silu(linear2d(g, `${t}.linear_1`, features, TIME_CHANNELS, D)), D, D);
    const p = "time_text_embed.text_embedder";
    const textEmb = linear2d(g, `${p}.linear_2`, g.silu(linear2d(g, `${p}.linear_1`, pooled, c.pooledProjectionDim, D)), D, D);
    return g.scope("time_text_embed", () => g.add(timeEmb, textEmb));
  }

  private qkNorm(prefix: string, x: Value): Value {
    return this.c.qkNorm === "rms_norm" ? rmsNormWeighted(this.g, prefix, x, this.headDim, EPS) : x;
  }

  /** q, k, v of one stream, split into heads, q and k normalised when the model has qk_norm. */
  private projections(a: string, x: Value, names: readonly [string, string, string], norms: readonly [string, string]): Value[] {
    const { g, D, heads, headDim } = this;
    const [q, k, v] = names.map((n) => splitHeads(g, linear(g, `${a}.${n}`, x, D, D), heads, headDim));
    return [this.qkNorm(`${a}.${norms[0]}`, q), this.qkNorm(`${a}.${norms[1]}`, k), v];
  }

  private feedForward(prefix: string, x: Value): Value {
    const { g, D } = this;
    return linear(g, `${prefix}.net.2`, geluTanh(g, linear(g, `${prefix}.net.0.proj`, x, D, 4 * D)), 4 * D, D);
  }

  private block(p: string, x: Value, ctx: Value, tembAct: Value, contextPreOnly: boolean, dualAttention: boolean): [Value, Value] {
    const { g, D, headDim } = this;
    const scale = 1 / Math.sqrt(headDim);

    // norm1: AdaLayerNormZero (6 chunks) or SD35AdaLayerNormZeroX (9, the last three for attn2)
    const mod = modulationChunks(g, linear2d(g, `${p}.norm1.linear`, tembAct, D, (dualAttention ? 9 : 6) * D), dualAttention ? 9 : 6);
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = mod;
    const xNorm = layerNormPlain(g, x, D, EPS);
    const xIn = modulate(g, xNorm, shiftMsa, scaleMsa);

    let ctxIn: Value;
    let cmod: Value[] = [];
    if (contextPreOnly) {
      const [cScale, cShift] = modulationChunks(g, linear2d(g, `${p}.norm1_context.linear`, tembAct, D, 2 * D), 2);
      ctxIn = modulate(g, layerNormPlain(g, ctx, D, EPS), cShift, cScale);
    } else {
      cmod = modulationChunks(g, linear2d(g, `${p}.norm1_context.linear`, tembAct, D, 6 * D), 6);
      ctxIn = modulate(g, layerNormPlain(g, ctx, D, EPS), cmod[0], cmod[1]);
    }

    // Joint attention over [image; text] (JointAttnProcessor2_0).
    const a = `${p}.attn`;
    const [qx, kx, vx] = this.projections(a, xIn, ["to_q", "to_k", "to_v"], ["norm_q", "norm_k"]);
    const [qc, kc, vc] = this.projections(a, ctxIn, ["add_q_proj", "add_k_proj", "add_v_proj"], ["norm_added_q", "norm_added_k"]);
    const joint = g.scope("attn", () =>
      mergeHeads(g, headAttention(g, g.concat([qx, qc], 2), g.concat([kx, kc], 2), g.concat([vx, vc], 2), scale), this.heads, headDim),
    );
    const imageTokens = g.shape(x, 1, 2);
    const attnX = g.slice(joint, g.ints([0]), imageTokens, [1]);
    const attnC = g.slice(joint, imageTokens, g.ints([Number.MAX_SAFE_INTEGER]), [1]);
    x = g.add(x, g.mul(gateMsa, linear(g, `${a}.to_out.0`, attnX, D, D)));

    if (dualAttention) {
      const [shift2, scale2, gate2] = mod.slice(6);
      const a2 = `${p}.attn2`;
      const [q2, k2, v2] = this.projections(a2, modulate(g, xNorm, shift2, scale2), ["to_q", "to_k", "to_v"], ["norm_q", "norm_k"]);
      const self = g.scope("attn2", () => mergeHeads(g, headAttention(g, q2, k2, v2, scale), this.heads, headDim));
      x = g.add(x, g.mul(gate2, linear(g, `${a2}.to_out.0`, self, D, D)));
    }

    const ff = this.feedForward(`${p}.ff`, modulate(g, layerNormPlain(g, x, D, EPS), shiftMlp, scaleMlp));
    x = g.add(x, g.mul(gateMlp, ff));
    if (contextPreOnly) return [x, ctx];

    const [, , cGateMsa, cShiftMlp, cScaleMlp, cGateMlp] = cmod;
    ctx = g.add(ctx, g.mul(cGateMsa, linear(g, `${a}.to_add_out`, attnC, D, D)));
    const cff = this.feedForward(`${p}.ff_context`, modulate(g, layerNormPlain(g, ctx, D, EPS), cShiftMlp, cScaleMlp));
    return [x, g.add(ctx, g.mul(cGateMlp, cff))];
  }

  /** [B, h*w, p*p*C] -> [B, C, h*p, w*p] ("nhwpqc->nchpwq"). */
  private unpatchify(patches: Value, sample: Value): Value {
    const { g, c } = this;
    const p = c.patchSize;
    return g.scope("unpatchify", () => {
      const batch = g.shape(sample, 0, 1);
      const grid = g.div(g.shape(sample, 2, 4), g.ints([p, p]));
      const six = g.reshape(patches, g.concat([batch, grid, g.ints([p, p, c.outChannels])], 0));
      const image = g.transpose(six, [0, 5, 1, 3, 2, 4]);
      return g.reshape(image, g.concat([batch, g.ints([c.outChannels]), g.shape(sample, 2, 4)], 0));
    });
  }
}

export function buildSd3Transformer(config: Sd3TransformerConfig, options: Sd3TransformerGraphOptions): GraphBuilder {
  validateSd3TransformerConfig(config);
  return new Sd3TransformerGraph(config, options).build();
}

/** transformer/config.json as diffusers writes it (SD3.5 keys only when the model uses them). */
export function sd3TransformerConfigJson(c: Sd3TransformerConfig): Record<string, unknown> {
  const sd35 = c.dualAttentionLayers.length > 0 || c.qkNorm !== null;
  return {
    _class_name: "SD3Transformer2DModel",
    _diffusers_version: sd35 ? "0.31.0" : "0.29.2",
    attention_head_dim: c.attentionHeadDim,
    caption_projection_dim: c.captionProjectionDim,
    ...(sd35 ? { dual_attention_layers: [...c.dualAttentionLayers] } : {}),
    in_channels: c.inChannels,
    joint_attention_dim: c.jointAttentionDim,
    num_attention_heads: c.numAttentionHeads,
    num_layers: c.numLayers,
    out_channels: c.outChannels,
    patch_size: c.patchSize,
    pooled_projection_dim: c.pooledProjectionDim,
    pos_embed_max_size: c.posEmbedMaxSize,
    ...(sd35 ? { qk_norm: c.qkNorm } : {}),
    sample_size: c.sampleSize,
  };
}

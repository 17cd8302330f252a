/**
 * diffusers' UNet2DConditionModel (v0.27) for SD 1.x/2.x as an ONNX graph: sinusoidal timestep
 * embedding (flip_sin_to_cos, freq_shift 0) + MLP, conv_in, down blocks (ResNet blocks, optional
 * Transformer2DModel with self-attention, cross-attention over `encoder_hidden_states` and GEGLU,
 * Downsample2D), mid block (resnet, attention, resnet), up blocks with skip concatenation and
 * Upsample2D (nearest x2 + conv), conv_norm_out, SiLU, conv_out. SDXL adds several transformer
 * blocks per Transformer2DModel (`transformer_layers_per_block`) and addition_embed_type "text_time":
 * inputs `text_embeds` and `time_ids`, whose sinusoidal embedding (add_time_proj) is concatenated
 * after `text_embeds` and sent through an MLP (add_embedding) that is added to the time embedding.
 *
 * `attentionHeadDim` has diffusers' meaning, which is the NUMBER OF HEADS per block (a historical
 * misnomer that diffusers keeps: `num_attention_heads = num_attention_heads or attention_head_dim`).
 * SD 1.x: 8 heads everywhere; SD 2.x: [5, 10, 20, 20] heads, i.e. 64 channels per head.
 *
 * Initializer names are the state_dict keys (`down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight`);
 * layouts as in layers.ts.
 */
import { InvalidInputError } from "../../errors.js";
import { GraphBuilder, type Value } from "./graph.js";
import { attention, conv2d, fromTokens, groupNorm, layerNorm, linear, linear2d, toTokens, type GroupNormOptions } from "./layers.js";
import type { AxisNames, TimestepContract } from "./contract.js";

export type UNetDownBlockType = "CrossAttnDownBlock2D" | "DownBlock2D";
export type UNetUpBlockType = "CrossAttnUpBlock2D" | "UpBlock2D";

/** SDXL's addition_embed_type "text_time" (diffusers' addition_time_embed_dim and projection_class_embeddings_input_dim). */
export interface TextTimeEmbeddingConfig {
  /** Sinusoidal size per micro-conditioning id (256 for SDXL). */
  timeEmbedDim: number;
  /** Ids per sample in `time_ids` (6 for SDXL base: original size, crop top-left, target size). */
  timeIds: number;
  /** add_embedding's input: text_embeds dim + timeIds * timeEmbedDim (2816 for SDXL base). */
  projectionInputDim: number;
}

export interface UNetConfig {
  sampleSize: number;
  inChannels: number;
  outChannels: number;
  blockOutChannels: readonly number[];
  layersPerBlock: number;
  downBlockTypes: readonly UNetDownBlockType[];
  upBlockTypes: readonly UNetUpBlockType[];
  /** Heads per block (diffusers' `attention_head_dim`); one number for all blocks or one per block. */
  attentionHeadDim: number | readonly number[];
  crossAttentionDim: number;
  /** SD 2.x: Linear proj_in/proj_out in the transformers instead of 1x1 convs. */
  useLinearProjection: boolean;
  /** SD 2.1 sets it (fp16 softmax upcast); no effect in fp32, kept for config.json. */
  upcastAttention: boolean;
  normNumGroups: number;
  normEps: number;
  /** BasicTransformerBlocks per Transformer2DModel, one number or one per block (default 1; SDXL [1, 2, 10]). */
  transformerLayersPerBlock?: number | readonly number[];
  /** SDXL micro-conditioning inputs `text_embeds` and `time_ids` (absent: none). */
  textTimeEmbedding?: TextTimeEmbeddingConfig;
  /**
   * LCM: width of the `timestep_cond` input (diffusers' time_cond_proj_dim, 256 for LCM), the
   * guidance-scale embedding, projected without bias (time_embedding.cond_proj) and added to the
   * sinusoidal timestep embedding before the time MLP (absent: no such input).
   */
  timeCondProjDim?: number;
}

export interface UNetGraphOptions {
  timestep: TimestepContract;
  axes: AxisNames;
  seed: number;
  /** Use com.microsoft GroupNorm (not implemented by the CPU provider); see layers.ts. */
  gpuOnlyOps: boolean;
}

/** Transformer2DModel builds its GroupNorm with eps 1e-6 whatever the UNet's norm_eps. */
const TRANSFORMER_NORM_EPS = 1e-6;

function headsPerBlock(config: UNetConfig): number[] {
  const n = config.blockOutChannels.length;
  return typeof config.attentionHeadDim === "number" ? new Array(n).fill(config.attentionHeadDim) : [...config.attentionHeadDim];
}

function layersPerTransformer(config: UNetConfig): number[] {
  const n = config.blockOutChannels.length;
  const layers = config.transformerLayersPerBlock ?? 1;
  return typeof layers === "number" ? new Array(n).fill(layers) : [...layers];
}

/** `text_embeds` size of a text_time UNet: what add_embedding takes besides the time ids' embedding. */
export function textEmbedsDim(t: TextTimeEmbeddingConfig): number {
  return t.projectionInputDim - t.timeIds * t.timeEmbedDim;
}

export function validateUNetConfig(config: UNetConfig): void {
  const n = config.blockOutChannels.length;
  if (n === 0) throw new InvalidInputError("unet.blockOutChannels", "is empty", "at least one block");
  if (config.downBlockTypes.length !== n) throw new InvalidInputError("unet.downBlockTypes", `has ${config.downBlockTypes.length} entries`, `${n} (one per block)`);
  if (config.upBlockTypes.length !== n) throw new InvalidInputError("unet.upBlockTypes", `has ${config.upBlockTypes.length} entries`, `${n} (one per block)`);
  const heads = headsPerBlock(config);
  if (heads.length !== n) throw new InvalidInputError("unet.attentionHeadDim", `has ${heads.length} entries`, `a number or ${n} numbers`);
  config.blockOutChannels.forEach((c, i) => {
    if (c % config.normNumGroups !== 0) throw new InvalidInputError("unet.blockOutChannels", `${c} is not divisible by ${config.normNumGroups} groups`, `multiples of ${config.normNumGroups}`);
    if (c % heads[i] !== 0) throw new InvalidInputError("unet.attentionHeadDim", `${heads[i]} heads do not divide ${c} channels`, "divisors of blockOutChannels");
  });
  if (config.blockOutChannels[0] % 2 !== 0) throw new InvalidInputError("unet.blockOutChannels", "the first entry must be even (timestep embedding)", "an even number");
  const layers = layersPerTransformer(config);
  if (layers.length !== n || !layers.every((l) => Number.isInteger(l) && l >= 1)) {
    throw new InvalidInputError("unet.transformerLayersPerBlock", `got ${JSON.stringify(config.transformerLayersPerBlock)}`, `a positive integer or ${n} of them`);
  }
  const tt = config.textTimeEmbedding;
  if (tt) {
    if (!Number.isInteger(tt.timeEmbedDim) || tt.timeEmbedDim <= 0 || tt.timeEmbedDim % 2 !== 0) {
      throw new InvalidInputError("unet.textTimeEmbedding.timeEmbedDim", `got ${tt.timeEmbedDim}`, "a positive even integer");
    }
    if (!Number.isInteger(tt.timeIds) || tt.timeIds <= 0) throw new InvalidInputError("unet.textTimeEmbedding.timeIds", `got ${tt.timeIds}`, "a positive integer");
    if (!Number.isInteger(tt.projectionInputDim) || textEmbedsDim(tt) <= 0) {
      throw new InvalidInputError("unet.textTimeEmbedding.projectionInputDim", `${tt.projectionInputDim} leaves no room for text_embeds`, `more than ${tt.timeIds * tt.timeEmbedDim}`);
    }
  }
}

/** Timestep frequencies exp(-ln(10000) * i / half) as diffusers computes them in float32. */
function timestepFrequencies(half: number): Float32Array {
  const f = Math.fround;
  const negLog = f(-Math.log(10000));
  return Float32Array.from({ length: half }, (_, i) => f(Math.exp(f(f(negLog * i) / half))));
}

class UNetGraph {
  readonly g: GraphBuilder;
  private temb!: Value;
  private tembAct!: Value;
  private context!: Value;
  private textEmbeds?: Value;
  private timeIds?: Value;
  private timestepCond?: Value;
  private readonly timeDim: number;
  private readonly norm: GroupNormOptions;

  constructor(
    private readonly config: UNetConfig,
    private readonly options: UNetGraphOptions,
  ) {
    this.g = new GraphBuilder({ name: "UNet2DConditionModel", seed: options.seed, docString: "diffusers UNet2DConditionModel (diffusion-workbench builder, random weights)" });
    this.timeDim = config.blockOutChannels[0] * 4;
    this.norm = { contribOp: options.gpuOnlyOps };
  }

  build(): GraphBuilder {
    const { g, config, options } = this;
    const { axes } = options;
    const sample = g.input("sample", "float32", [axes.batch, axes.unetChannels(config.inChannels), axes.unetHeight, axes.unetWidth]);
    const timestep =
      options.timestep === "int64-batch" ? g.input("timestep", "int64", axes.timestep) : g.input("timestep", "float32", axes.timestep);
    this.context = g.input("encoder_hidden_states", "float32", [axes.batch, axes.sequence, axes.featureDim(config.crossAttentionDim)]);
    const tt = config.textTimeEmbedding;
    if (tt) {
      // optimum's order and axes: text_embeds {0: batch_size}, time_ids {0: batch_size}, after encoder_hidden_states.
      this.textEmbeds = g.input("text_embeds", "float32", [axes.batch, textEmbedsDim(tt)]);
      this.timeIds = g.input("time_ids", "float32", [axes.batch, tt.timeIds]);
    }
    // optimum's LCM export: timestep_cond {0: batch_size}, after the other conditioning inputs.
    if (config.timeCondProjDim) this.timestepCond = g.input("timestep_cond", "float32", [axes.batch, config.timeCondProjDim]);

    this.timeEmbedding(sample, timestep);
    const boc = config.blockOutChannels;
    const heads = headsPerBlock(config);
    const layers = layersPerTransformer(config);
    let h = conv2d(g, "conv_in", sample, config.inChannels, boc[0], 3);
    const skips: { value: Value; channels: number }[] = [{ value: h, channels: boc[0] }];

    let channels = boc[0];
    config.downBlockTypes.forEach((type, i) => {
      const p = `down_blocks.${i}`;
      for (let j = 0; j < config.layersPerBlock; j++) {
        h = this.resnet(`${p}.resnets.${j}`, h, channels, boc[i]);
        channels = boc[i];
        if (type === "CrossAttnDownBlock2D") h = this.transformer(`${p}.attentions.${j}`, h, channels, heads[i], layers[i]);
        skips.push({ value: h, channels });
      }
      if (i < boc.length - 1) {
        h = conv2d(g, `${p}.downsamplers.0.conv`, h, channels, channels, 3, { stride: 2 });
        skips.push({ value: h, channels });
      }
    });

    const last = boc[boc.length - 1];
    h = this.resnet("mid_block.resnets.0", h, last, last);
    h = this.transformer("mid_block.attentions.0", h, last, heads[heads.length - 1], layers[layers.length - 1]);
    h = this.resnet("mid_block.resnets.1", h, last, last);

    const reversedChannels = [...boc].reverse();
    const reversedHeads = [...heads].reverse();
    const reversedLayers = [...layers].reverse();
    config.upBlockTypes.forEach((type, i) => {
      const p = `up_blocks.${i}`;
      const out = reversedChannels[i];
      for (let j = 0; j <= config.layersPerBlock; j++) {
        const skip = skips.pop()!;
        h = g.scope(p, () => g.concat([h, skip.value], 1));
        h = this.resnet(`${p}.resnets.${j}`, h, channels + skip.channels, out);
        channels = out;
        if (type === "CrossAttnUpBlock2D") h = this.transformer(`${p}.attentions.${j}`, h, channels, reversedHeads[i], reversedLayers[i]);
      }
      if (i < boc.length - 1) {
        const up = g.scope(`${p}/upsamplers.0`, () => g.resizeNearest(h, [1, 1, 2, 2]));
        h = conv2d(g, `${p}.upsamplers.0.conv`, up, channels, channels, 3);
      }
    });

    h = groupNorm(g, "conv_norm_out", h, boc[0], config.normNumGroups, config.normEps, this.norm);
    h = conv2d(g, "conv_out", g.silu(h), boc[0], config.outChannels, 3);
    g.output(h, "out_sample", "float32", [axes.batch, axes.unetChannels(config.outChannels), axes.unetHeight, axes.unetWidth]);
    return g;
  }

  /** diffusers' Timesteps(dim, flip_sin_to_cos=True, freq_shift=0) of a 1-D float tensor: [cos(t f), sin(t f)]. */
  private sinusoidal(scope: string, t: Value, dim: number): Value {
    const { g } = this;
    const half = dim / 2;
    return g.scope(scope, () => {
      const freqs = g.initializer(`/${scope}/frequencies`, "float32", [half], timestepFrequencies(half));
      const args = g.mul(g.unsqueeze(t, [1]), freqs);
      return g.concat([g.cos(args), g.sin(args)], 1);
    });
  }

  /**
   * Timesteps (flip_sin_to_cos, shift 0) -> TimestepEmbedding (linear_1, SiLU, linear_2); with
   * text_time, plus add_embedding(concat(text_embeds, add_time_proj(time_ids) per sample)).
   */
  private timeEmbedding(sample: Value, timestep: Value): void {
    const { g, config } = this;
    // Broadcast a scalar or [1] timestep to the batch, as diffusers' `timesteps.expand(B)` does.
    const batch = g.scope("time_proj", () => {
      const t = this.options.timestep === "int64-batch" ? g.cast(timestep, "float32") : timestep;
      return g.expand(t, g.shape(sample, 0, 1));
    });
    this.temb = this.sinusoidal("time_proj", batch, config.blockOutChannels[0]);
    if (this.timestepCond) {
      // TimestepEmbedding(cond_proj_dim=...): sample + cond_proj(condition), then linear_1.
      const cond = linear(g, "time_embedding.cond_proj", this.timestepCond, config.timeCondProjDim!, config.blockOutChannels[0], false);
      this.temb = g.scope("time_embedding", () => g.add(this.temb, cond));
    }
    const hidden = g.silu(linear2d(g, "time_embedding.linear_1", this.temb, config.blockOutChannels[0], this.timeDim));
    this.temb = linear2d(g, "time_embedding.linear_2", hidden, this.timeDim, this.timeDim);
    const tt = config.textTimeEmbedding;
    if (tt && this.textEmbeds && this.timeIds) {
      // time_ids.flatten() -> [B * ids, timeEmbedDim] -> [B, ids * timeEmbedDim], after text_embeds.
      const flat = g.scope("add_time_proj", () => g.reshape(this.timeIds!, [-1]));
      const perId = this.sinusoidal("add_time_proj", flat, tt.timeEmbedDim);
      const timeEmbeds = g.scope("add_time_proj", () => g.reshape(perId, [-1, tt.timeIds * tt.timeEmbedDim]));
      const addEmbeds = g.concat([this.textEmbeds, timeEmbeds], 1);
      const augHidden = g.silu(linear2d(g, "add_embedding.linear_1", addEmbeds, tt.projectionInputDim, this.timeDim));
      const aug = linear2d(g, "add_embedding.linear_2", augHidden, this.timeDim, this.timeDim);
      this.temb = g.add(this.temb, aug);
    }
    // Every ResNet applies SiLU to the embedding before its projection; compute it once.
    this.tembAct = g.silu(this.temb);
  }

  /** ResnetBlock2D: norm1, SiLU, conv1, + time_emb_proj, norm2, SiLU, conv2, + (1x1) shortcut. */
  private resnet(p: string, x: Value, inChannels: number, outChannels: number): Value {
    const { g, config } = this;
    let h = groupNorm(g, `${p}.norm1`, x, inChannels, config.normNumGroups, config.normEps, this.norm);
    h = conv2d(g, `${p}.conv1`, g.silu(h), inChannels, outChannels, 3);
    const t = linear2d(g, `${p}.time_emb_proj`, this.tembAct, this.timeDim, outChannels);
    h = g.scope(p, () => g.add(h, g.unsqueeze(t, [2, 3])));
    h = groupNorm(g, `${p}.norm2`, h, outChannels, config.normNumGroups, config.normEps, this.norm);
    h = conv2d(g, `${p}.conv2`, g.silu(h), outChannels, outChannels, 3);
    const shortcut = inChannels === outChannels ? x : conv2d(g, `${p}.conv_shortcut`, x, inChannels, outChannels, 1);
    return g.scope(p, () => g.add(shortcut, h));
  }

  /** Transformer2DModel with `layers` BasicTransformerBlocks (self-attn, cross-attn, GEGLU), residual around all. */
  private transformer(p: string, x: Value, channels: number, heads: number, layers: number): Value {
    const { g, config } = this;
    const headDim = channels / heads;
    const inner = heads * headDim;
    const normed = groupNorm(g, `${p}.norm`, x, channels, config.normNumGroups, TRANSFORMER_NORM_EPS, this.norm);
    let tokens = config.useLinearProjection
      ? linear(g, `${p}.proj_in`, toTokens(g, normed, channels), channels, inner)
      : toTokens(g, conv2d(g, `${p}.proj_in`, normed, channels, inner, 1), inner);

    for (let l = 0; l < layers; l++) tokens = this.transformerBlock(`${p}.transformer_blocks.${l}`, tokens, inner, heads, headDim);

    const out = config.useLinearProjection
      ? fromTokens(g, linear(g, `${p}.proj_out`, tokens, inner, channels), x)
      : conv2d(g, `${p}.proj_out`, fromTokens(g, tokens, x), inner, channels, 1);
    return g.scope(p, () => g.add(out, x));
  }

  /** BasicTransformerBlock: self-attention, cross-attention over the context, GEGLU feed-forward; pre-LN residuals. */
  private transformerBlock(b: string, tokens: Value, inner: number, heads: number, headDim: number): Value {
    const { g, config } = this;
    return g.scope(b, () => {
      let t = tokens;
      const n1 = layerNorm(g, `${b}.norm1`, t, inner, 1e-5);
      const self = attention(g, linear(g, `${b}.attn1.to_q`, n1, inner, inner, false), linear(g, `${b}.attn1.to_k`, n1, inner, inner, false), linear(g, `${b}.attn1.to_v`, n1, inner, inner, false), heads, headDim);
      t = g.add(t, linear(g, `${b}.attn1.to_out.0`, self, inner, inner));
      const n2 = layerNorm(g, `${b}.norm2`, t, inner, 1e-5);
      const cross = attention(
        g,
        linear(g, `${b}.attn2.to_q`, n2, inner, inner, false),
        linear(g, `${b}.attn2.to_k`, this.context, config.crossAttentionDim, inner, false),
        linear(g, `${b}.attn2.to_v`, this.context, config.crossAttentionDim, inner, false),
        heads,
        headDim,
      );
      t = g.add(t, linear(g, `${b}.attn2.to_out.0`, cross, inner, inner));
      const n3 = layerNorm(g, `${b}.norm3`, t, inner, 1e-5);
      // GEGLU: one projection to 2 * ff, first half times GELU(second half).
      const ff = inner * 4;
      const [value, gate] = g.split(linear(g, `${b}.ff.net.0.proj`, n3, inner, ff * 2), -1, 2);
      return g.add(t, linear(g, `${b}.ff.net.2`, g.mul(value, g.gelu(gate)), ff, inner));
    });
  }
}

export function buildUNet(config: UNetConfig, options: UNetGraphOptions): GraphBuilder {
  validateUNetConfig(config);
  return new UNetGraph(config, options).build();
}

/** unet/config.json as diffusers 0.27 writes it for these models. */
export function unetConfigJson(config: UNetConfig): Record<string, unknown> {
  return {
    _class_name: "UNet2DConditionModel",
    _diffusers_version: "0.27.2",
    act_fn: "silu",
    addition_embed_type: config.textTimeEmbedding ? "text_time" : null,
    addition_embed_type_num_heads: 64,
    addition_time_embed_dim: config.textTimeEmbedding?.timeEmbedDim ?? null,
    attention_head_dim: config.attentionHeadDim,
    attention_type: "default",
    block_out_channels: config.blockOutChannels,
    center_input_sample: false,
    class_embed_type: null,
    class_embeddings_concat: false,
    conv_in_kernel: 3,
    conv_out_kernel: 3,
    cross_attention_dim: config.crossAttentionDim,
    cross_attention_norm: null,
    down_block_types: config.downBlockTypes,
    downsample_padding: 1,
    dropout: 0.0,
    dual_cross_attention: false,
    encoder_hid_dim: null,
    encoder_hid_dim_type: null,
    flip_sin_to_cos: true,
    freq_shift: 0,
    in_channels: config.inChannels,
    layers_per_block: config.layersPerBlock,
    mid_block_only_cross_attention: null,
    mid_block_scale_factor: 1,
    mid_block_type: "UNetMidBlock2DCrossAttn",
    norm_eps: config.normEps,
    norm_num_groups: config.normNumGroups,
    num_attention_heads: null,
    num_class_embeds: null,
    only_cross_attention: false,
    out_channels: config.outChannels,
    projection_class_embeddings_input_dim: config.textTimeEmbedding?.projectionInputDim ?? null,
    resnet_out_scale_factor: 1.0,
    resnet_skip_time_act: false,
    resnet_time_scale_shift: "default",
    reverse_transformer_layers_per_block: null,
    sample_size: config.sampleSize,
    time_cond_proj_dim: config.timeCondProjDim ?? null,
    time_embedding_act_fn: null,
    time_embedding_dim: null,
    time_embedding_type: "positional",
    timestep_post_act: null,
    transformer_layers_per_block: config.transformerLayersPerBlock ?? 1,
    up_block_types: config.upBlockTypes,
    upcast_attention: config.upcastAttention,
    use_linear_projection: config.useLinearProjection,
  };
}

/**
 * diffusers' AutoencoderKL (v0.27) halves as ONNX graphs, exported the way optimum splits them:
 * - decoder: post_quant_conv, decoder.conv_in, mid block (ResNet, single-head attention, ResNet),
 *   up blocks (ResNets + Upsample2D), conv_norm_out, SiLU, conv_out. Input `latent_sample`
 *   (already divided by scaling_factor by the pipeline), output `sample` [B, 3, 8h, 8w].
 * - encoder: encoder.conv_in, down blocks (ResNets + Downsample2D with (0, 1, 0, 1) padding),
 *   mid block, conv_norm_out, SiLU, conv_out to 2 x latent channels, quant_conv. Output either
 *   `latent_parameters` (mean and logvar concatenated, [B, 8, h, w]; current optimum) or
 *   `latent_sample` (older exports: mean + exp(0.5 * clamp(logvar, -30, 20)) * noise, noise from
 *   RandomNormalLike without a seed, so two runs differ, exactly as those exports behave).
 *
 * Initializer names are the AutoencoderKL state_dict keys (`decoder.mid_block.attentions.0.to_q.weight`),
 * layouts as in layers.ts.
 */
import { InvalidInputError } from "../../errors.js";
import { GraphBuilder, type Value } from "./graph.js";
import { attention, conv2d, fromTokens, groupNorm, linear, toTokens } from "./layers.js";
import type { AxisNames, VaeEncoderOutput } from "./contract.js";

export interface VaeConfig {
  inChannels: number;
  outChannels: number;
  latentChannels: number;
  blockOutChannels: readonly number[];
  layersPerBlock: number;
  normNumGroups: number;
  sampleSize: number;
  /** Latents are multiplied by it after encoding, divided before decoding (0.18215 for SD 1.x/2.x). */
  scalingFactor: number;
  /** quant_conv / post_quant_conv (1x1) around the latents; SD3's VAE has neither. Default true. */
  useQuantConv?: boolean;
}

interface VaeGraphOptions {
  axes: AxisNames;
  seed: number;
}

/** The VAE's ResNets, attention and output norm all use eps 1e-6. */
const VAE_EPS = 1e-6;

export function validateVaeConfig(config: VaeConfig): void {
  if (config.blockOutChannels.length === 0) throw new InvalidInputError("vae.blockOutChannels", "is empty", "at least one block");
  for (const c of config.blockOutChannels) {
    if (c % config.normNumGroups !== 0) throw new InvalidInputError("vae.blockOutChannels", `${c} is not divisible by ${config.normNumGroups} groups`, `multiples of ${config.normNumGroups}`);
  }
}

/** Image size / latent size: 2^(blocks - 1). */
export function vaeScaleFactor(config: VaeConfig): number {
  return 2 ** (config.blockOutChannels.length - 1);
}

function resnet(g: GraphBuilder, p: string, x: Value, inChannels: number, outChannels: number, groups: number): Value {
  let h = groupNorm(g, `${p}.norm1`, x, inChannels, groups, VAE_EPS);
  h = conv2d(g, `${p}.conv1`, g.silu(h), inChannels, outChannels, 3);
  h = groupNorm(g, `${p}.norm2`, h, outChannels, groups, VAE_EPS);
  h = conv2d(g, `${p}.conv2`, g.silu(h), outChannels, outChannels, 3);
  const shortcut = inChannels === outChannels ? x : conv2d(g, `${p}.conv_shortcut`, x, inChannels, outChannels, 1);
  return g.scope(p, () => g.add(shortcut, h));
}

/** The mid block's Attention: GroupNorm, one head over all channels, to_out, residual. */
function spatialAttention(g: GraphBuilder, p: string, x: Value, channels: number, groups: number): Value {
  const tokens = toTokens(g, groupNorm(g, `${p}.group_norm`, x, channels, groups, VAE_EPS), channels);
  const q = linear(g, `${p}.to_q`, tokens, channels, channels);
  const k = linear(g, `${p}.to_k`, tokens, channels, channels);
  const v = linear(g, `${p}.to_v`, tokens, channels, channels);
  const out = linear(g, `${p}.to_out.0`, g.scope(p, () => attention(g, q, k, v, 1, channels)), channels, channels);
  return g.scope(p, () => g.add(fromTokens(g, out, x), x));
}

function midBlock(g: GraphBuilder, p: string, x: Value, channels: number, groups: number): Value {
  let h = resnet(g, `${p}.resnets.0`, x, channels, channels, groups);
  h = spatialAttention(g, `${p}.attentions.0`, h, channels, groups);
  return resnet(g, `${p}.resnets.1`, h, channels, channels, groups);
}

export function buildVaeDecoder(config: VaeConfig, options: VaeGraphOptions): GraphBuilder {
  validateVaeConfig(config);
  const { axes } = options;
  const g = new GraphBuilder({ name: "AutoencoderKL_decoder", seed: options.seed, docString: "diffusers AutoencoderKL decoder (diffusion-workbench builder, random weights)" });
  const boc = config.blockOutChannels;
  const groups = config.normNumGroups;
  const L = config.latentChannels;
  const latent = g.input("latent_sample", "float32", [axes.batch, axes.latent.channels(L), axes.latent.height, axes.latent.width]);

  let h = config.useQuantConv === false ? latent : conv2d(g, "post_quant_conv", latent, L, L, 1);
  const reversed = [...boc].reverse();
  h = conv2d(g, "decoder.conv_in", h, L, reversed[0], 3);
  h = midBlock(g, "decoder.mid_block", h, reversed[0], groups);
  let channels = reversed[0];
  reversed.forEach((out, i) => {
    const p = `decoder.up_blocks.${i}`;
    for (let j = 0; j <= config.layersPerBlock; j++) {
      h = resnet(g, `${p}.resnets.${j}`, h, channels, out, groups);
      channels = out;
    }
    if (i < reversed.length - 1) {
      const up = g.scope(`${p}/upsamplers.0`, () => g.resizeNearest(h, [1, 1, 2, 2]));
      h = conv2d(g, `${p}.upsamplers.0.conv`, up, channels, channels, 3);
    }
  });
  h = groupNorm(g, "decoder.conv_norm_out", h, boc[0], groups, VAE_EPS);
  h = conv2d(g, "decoder.conv_out", g.silu(h), boc[0], config.outChannels, 3);
  const f = vaeScaleFactor(config);
  g.output(h, "sample", "float32", [axes.batch, axes.image.channels(config.outChannels), axes.decodedHeight(f), axes.decodedWidth(f)]);
  return g;
}

export function buildVaeEncoder(config: VaeConfig, options: VaeGraphOptions & { output: VaeEncoderOutput }): GraphBuilder {
  validateVaeConfig(config);
  const { axes } = options;
  const g = new GraphBuilder({ name: "AutoencoderKL_encoder", seed: options.seed, docString: "diffusers AutoencoderKL encoder (diffusion-workbench builder, random weights)" });
  const boc = config.blockOutChannels;
  const groups = config.normNumGroups;
  const L = config.latentChannels;
  const image = g.input("sample", "float32", [axes.batch, axes.image.channels(config.inChannels), axes.image.height, axes.image.width]);

  let h = conv2d(g, "encoder.conv_in", image, config.inChannels, boc[0], 3);
  let channels = boc[0];
  boc.forEach((out, i) => {
    const p = `encoder.down_blocks.${i}`;
    for (let j = 0; j < config.layersPerBlock; j++) {
      h = resnet(g, `${p}.resnets.${j}`, h, channels, out, groups);
      channels = out;
    }
    // Downsample2D(padding=0) pads (0, 1, 0, 1) before its stride-2 conv: ONNX pads [top, left, bottom, right].
    if (i < boc.length - 1) h = conv2d(g, `${p}.downsamplers.0.conv`, h, channels, channels, 3, { stride: 2, pads: [0, 0, 1, 1] });
  });
  const last = boc[boc.length - 1];
  h = midBlock(g, "encoder.mid_block", h, last, groups);
  h = groupNorm(g, "encoder.conv_norm_out", h, last, groups, VAE_EPS);
  h = conv2d(g, "encoder.conv_out", g.silu(h), last, 2 * L, 3);
  const moments = config.useQuantConv === false ? h : conv2d(g, "quant_conv", h, 2 * L, 2 * L, 1);

  const f = vaeScaleFactor(config);
  const dims = (c: number) => [axes.batch, axes.latent.channels(c), axes.encodedHeight(f), axes.encodedWidth(f)];
  if (options.output === "latent_parameters") {
    g.output(moments, "latent_parameters", "float32", dims(2 * L));
  } else {
    const sample = g.scope("latent_dist", () => {
      const [mean, logvar] = g.split(moments, 1, 2);
      const std = g.exp(g.mul(g.clip(logvar, -30, 20), g.scalar(0.5)));
      return g.add(mean, g.mul(std, g.randomNormalLike(mean)));
    });
    g.output(sample, "latent_sample", "float32", dims(L));
  }
  return g;
}

/** vae_encoder/config.json and vae_decoder/config.json (both hold the AutoencoderKL config). */
export function vaeConfigJson(config: VaeConfig): Record<string, unknown> {
  const n = config.blockOutChannels.length;
  return {
    _class_name: "AutoencoderKL",
    _diffusers_version: "0.27.2",
    act_fn: "silu",
    block_out_channels: config.blockOutChannels,
    down_block_types: new Array(n).fill("DownEncoderBlock2D"),
    force_upcast: true,
    in_channels: config.inChannels,
    latent_channels: config.latentChannels,
    latents_mean: null,
    latents_std: null,
    layers_per_block: config.layersPerBlock,
    norm_num_groups: config.normNumGroups,
    out_channels: config.outChannels,
    sample_size: config.sampleSize,
    scaling_factor: config.scalingFactor,
    up_block_types: new Array(n).fill("UpDecoderBlock2D"),
  };
}

/**
 * Size presets of the model family. `tiny` is for tests (a UNet step of a few milliseconds at
 * 64x64 px), `small` for benchmarks of the pipeline around the models, `sd15` and `sd2` are the real
 * Stable Diffusion 1.5 and 2.x sizes (random weights, same shapes and FLOPs as the released models).
 */
import type { ClipTextConfig } from "./clip-text-encoder.js";
import type { UNetConfig } from "./unet.js";
import type { VaeConfig } from "./vae.js";

export type ModelFamily = "sd1" | "sd2";
export const MODEL_FAMILIES = ["sd1", "sd2"] as const satisfies readonly ModelFamily[];

/** The text encoder's sizes; `vocabSize: "tokenizer"` takes the size of the tokenizer written beside it. */
export type ClipTextSizes = Omit<ClipTextConfig, "vocabSize"> & { vocabSize: number | "tokenizer" };

export interface ModelSizes {
  textEncoder: ClipTextSizes;
  unet: UNetConfig;
  vae: VaeConfig;
}

export type PresetName = "tiny" | "small" | "sd15" | "sd2";
export const PRESET_NAMES = ["tiny", "small", "sd15", "sd2"] as const satisfies readonly PresetName[];

/** SD 1.x topology: cross-attention in all but the deepest block. */
const SD_DOWN = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"] as const;
const SD_UP = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"] as const;

const SD_VAE: VaeConfig = {
  inChannels: 3,
  outChannels: 3,
  latentChannels: 4,
  blockOutChannels: [128, 256, 512, 512],
  layersPerBlock: 2,
  normNumGroups: 32,
  sampleSize: 512,
  scalingFactor: 0.18215,
};

/** Four VAE blocks even at tiny size, so images are 8x the latents as in SD. */
const TINY_VAE: VaeConfig = { ...SD_VAE, blockOutChannels: [32, 32, 64, 64], layersPerBlock: 1, sampleSize: 64 };

const TINY_TEXT: ClipTextSizes = {
  vocabSize: "tokenizer",
  hiddenSize: 32,
  intermediateSize: 37,
  numHiddenLayers: 3,
  numAttentionHeads: 4,
  maxPositionEmbeddings: 77,
  hiddenAct: "quick_gelu",
  layerNormEps: 1e-5,
  projectionDim: 32,
};

const TINY_UNET: UNetConfig = {
  sampleSize: 8,
  inChannels: 4,
  outChannels: 4,
  blockOutChannels: [32, 64],
  layersPerBlock: 2,
  downBlockTypes: ["DownBlock2D", "CrossAttnDownBlock2D"],
  upBlockTypes: ["CrossAttnUpBlock2D", "UpBlock2D"],
  attentionHeadDim: 8,
  crossAttentionDim: 32,
  useLinearProjection: false,
  upcastAttention: false,
  normNumGroups: 32,
  normEps: 1e-5,
};

const SD15_TEXT: ClipTextSizes = {
  vocabSize: 49408,
  hiddenSize: 768,
  intermediateSize: 3072,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  maxPositionEmbeddings: 77,
  hiddenAct: "quick_gelu",
  layerNormEps: 1e-5,
  projectionDim: 768,
};

const SD15_UNET: UNetConfig = {
  sampleSize: 64,
  inChannels: 4,
  outChannels: 4,
  blockOutChannels: [320, 640, 1280, 1280],
  layersPerBlock: 2,
  downBlockTypes: SD_DOWN,
  upBlockTypes: SD_UP,
  attentionHeadDim: 8,
  crossAttentionDim: 768,
  useLinearProjection: false,
  upcastAttention: false,
  normNumGroups: 32,
  normEps: 1e-5,
};

/** OpenCLIP ViT-H text tower as SD 2.x ships it (23 of 24 layers, transformers' CLIPTextModel). */
const SD2_TEXT: ClipTextSizes = {
  ...SD15_TEXT,
  hiddenSize: 1024,
  intermediateSize: 4096,
  numHiddenLayers: 23,
  numAttentionHeads: 16,
  hiddenAct: "gelu",
  projectionDim: 512,
};

/** SD 2.1 (768 px): linear projections, 64 channels per head ([5, 10, 20, 20] heads). */
const SD2_UNET: UNetConfig = {
  ...SD15_UNET,
  sampleSize: 96,
  attentionHeadDim: [5, 10, 20, 20],
  crossAttentionDim: 1024,
  useLinearProjection: true,
  upcastAttention: true,
};

/** Makes an SD 2.x-shaped variant of SD 1.x-shaped sizes: gelu text encoder, linear projections, per-block heads. */
function asSd2(sizes: ModelSizes, heads: readonly number[]): ModelSizes {
  return {
    textEncoder: { ...sizes.textEncoder, hiddenAct: "gelu" },
    unet: { ...sizes.unet, attentionHeadDim: heads, useLinearProjection: true, upcastAttention: true },
    vae: sizes.vae,
  };
}

const TINY_SD1: ModelSizes = { textEncoder: TINY_TEXT, unet: TINY_UNET, vae: TINY_VAE };

const SMALL_SD1: ModelSizes = {
  textEncoder: { ...TINY_TEXT, hiddenSize: 128, intermediateSize: 512, numHiddenLayers: 4, numAttentionHeads: 4, projectionDim: 128 },
  unet: { ...SD15_UNET, sampleSize: 32, blockOutChannels: [64, 128, 256, 256], crossAttentionDim: 128 },
  vae: { ...SD_VAE, blockOutChannels: [32, 64, 128, 128], layersPerBlock: 1, sampleSize: 256 },
};

/** Sizes per preset and family; `sd15` exists only for sd1, `sd2` only for sd2. */
export const PRESETS: Readonly<Record<PresetName, Readonly<Partial<Record<ModelFamily, ModelSizes>>>>> = {
  tiny: { sd1: TINY_SD1, sd2: asSd2(TINY_SD1, [2, 4]) },
  small: { sd1: SMALL_SD1, sd2: asSd2(SMALL_SD1, [1, 2, 4, 4]) },
  sd15: { sd1: { textEncoder: SD15_TEXT, unet: SD15_UNET, vae: SD_VAE } },
  sd2: { sd2: { textEncoder: SD2_TEXT, unet: SD2_UNET, vae: { ...SD_VAE, sampleSize: 768 } } },
};

/** The family a preset builds when none is named. */
export const PRESET_DEFAULT_FAMILY: Readonly<Record<PresetName, ModelFamily>> = { tiny: "sd1", small: "sd1", sd15: "sd1", sd2: "sd2" };

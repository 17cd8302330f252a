/**
 * Size presets of the SD3 family. `tiny` is for tests (a transformer step of milliseconds at 64x64
 * px); `sd3-medium` and `sd35-medium` are the real Stable Diffusion 3 Medium and 3.5 Medium sizes
 * (random weights, same shapes and FLOPs as the released models: a 2.03B / 2.24B-parameter
 * transformer, 8.3 / 9.9 GB in float32 with its position table, so its weights go to external data;
 * about 12 / 13 GB per folder).
 *
 * The real-size presets leave out T5 (`textEncoder3: null`): T5-XXL is 4.7B parameters (19 GB in
 * float32), more than the transformer itself, and diffusers runs SD3 without it (zeros in place of
 * its embeddings). Pass `sizes.textEncoder3: T5_XXL` to build it anyway.
 */
import type { ClipTextSizes } from "../presets.js";
import type { VaeConfig } from "../vae.js";
import type { T5EncoderConfig } from "./t5-encoder.js";
import type { Sd3TransformerConfig } from "./transformer.js";

/** T5 sizes; `vocabSize: "tokenizer"` takes the size of the tokenizer_3 written beside it. */
export type T5Sizes = Omit<T5EncoderConfig, "vocabSize"> & { vocabSize: number | "tokenizer" };

/** SD3's VAE: AutoencoderKL with 16 latent channels, a shift factor, and no quant convs. */
export type Sd3VaeConfig = VaeConfig & { shiftFactor: number };

export interface Sd3Sizes {
  /** CLIP-L with projection (text_encoder). */
  textEncoder: ClipTextSizes;
  /** OpenCLIP bigG with projection (text_encoder_2). */
  textEncoder2: ClipTextSizes;
  /** T5 v1.1 encoder (text_encoder_3), or null for a folder without it. */
  textEncoder3: T5Sizes | null;
  transformer: Sd3TransformerConfig;
  vae: Sd3VaeConfig;
}

export type Sd3PresetName = "tiny" | "sd3-medium" | "sd35-medium";
export const SD3_PRESET_NAMES = ["tiny", "sd3-medium", "sd35-medium"] as const satisfies readonly Sd3PresetName[];

const SD3_VAE: Sd3VaeConfig = {
  inChannels: 3,
  outChannels: 3,
  latentChannels: 16,
  blockOutChannels: [128, 256, 512, 512],
  layersPerBlock: 2,
  normNumGroups: 32,
  sampleSize: 1024,
  scalingFactor: 1.5305,
  shiftFactor: 0.0609,
  useQuantConv: false,
};

const CLIP_L: ClipTextSizes = {
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

const CLIP_G: ClipTextSizes = {
  ...CLIP_L,
  hiddenSize: 1280,
  intermediateSize: 5120,
  numHiddenLayers: 32,
  numAttentionHeads: 20,
  hiddenAct: "gelu",
  projectionDim: 1280,
};

/** google/t5-v1_1-xxl's encoder, as SD3 ships it. */
export const T5_XXL: T5Sizes = {
  vocabSize: 32128,
  dModel: 4096,
  dKv: 64,
  dFf: 10240,
  numLayers: 24,
  numHeads: 64,
  relativeAttentionNumBuckets: 32,
  relativeAttentionMaxDistance: 128,
  layerNormEpsilon: 1e-6,
};

const SD3_MEDIUM_TRANSFORMER: Sd3TransformerConfig = {
  sampleSize: 128,
  patchSize: 2,
  inChannels: 16,
  outChannels: 16,
  numLayers: 24,
  attentionHeadDim: 64,
  numAttentionHeads: 24,
  jointAttentionDim: 4096,
  captionProjectionDim: 1536,
  pooledProjectionDim: 2048,
  posEmbedMaxSize: 192,
  dualAttentionLayers: [],
  qkNorm: null,
};

/** stabilityai/stable-diffusion-3.5-medium transformer/config.json (MMDiT-X). */
const SD35_MEDIUM_TRANSFORMER: Sd3TransformerConfig = {
  ...SD3_MEDIUM_TRANSFORMER,
  posEmbedMaxSize: 384,
  dualAttentionLayers: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  qkNorm: "rms_norm",
};

const TINY_CLIP: ClipTextSizes = {
  vocabSize: "tokenizer",
  hiddenSize: 32,
  intermediateSize: 37,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  maxPositionEmbeddings: 77,
  hiddenAct: "quick_gelu",
  layerNormEps: 1e-5,
  projectionDim: 32,
};

/**
 * Tiny: CLIP widths 32 + 48 fit in the joint width 96 (zero-padded, as SD3's 768 + 1280 in 4096),
 * pooled 32 + 48 = 80; two MMDiT blocks, the first with SD3.5's dual attention, q/k RMS norms.
 */
const TINY: Sd3Sizes = {
  textEncoder: TINY_CLIP,
  textEncoder2: { ...TINY_CLIP, hiddenSize: 48, intermediateSize: 64, hiddenAct: "gelu", projectionDim: 48 },
  textEncoder3: {
    vocabSize: "tokenizer",
    dModel: 96,
    dKv: 8,
    dFf: 64,
    numLayers: 2,
    numHeads: 4,
    relativeAttentionNumBuckets: 32,
    relativeAttentionMaxDistance: 128,
    layerNormEpsilon: 1e-6,
  },
  transformer: {
    sampleSize: 8,
    patchSize: 2,
    inChannels: 16,
    outChannels: 16,
    numLayers: 2,
    attentionHeadDim: 8,
    numAttentionHeads: 4,
    jointAttentionDim: 96,
    captionProjectionDim: 32,
    pooledProjectionDim: 80,
    posEmbedMaxSize: 16,
    dualAttentionLayers: [0],
    qkNorm: "rms_norm",
  },
  vae: { ...SD3_VAE, blockOutChannels: [32, 32, 64, 64], layersPerBlock: 1, sampleSize: 64 },
};

const REAL_ENCODERS = { textEncoder: CLIP_L, textEncoder2: CLIP_G, textEncoder3: null, vae: SD3_VAE } as const;

export const SD3_PRESETS: Readonly<Record<Sd3PresetName, Sd3Sizes>> = {
  tiny: TINY,
  "sd3-medium": { ...REAL_ENCODERS, transformer: SD3_MEDIUM_TRANSFORMER },
  "sd35-medium": { ...REAL_ENCODERS, transformer: SD35_MEDIUM_TRANSFORMER },
};

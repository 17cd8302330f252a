/**
 * SDXL size presets: `tiny` for tests (64 px images, two blocks, two transformer layers in the
 * deeper one, an 8-wide add_time_proj, as diffusers' own tiny SDXL test models) and `sdxl`, the
 * real Stable Diffusion XL 1.0 base sizes (random weights; same shapes and FLOPs as the released
 * model: UNet 2.57 G parameters, about 10.3 GB in float32).
 */
import { PRESETS, type ClipTextSizes } from "../presets.js";
import type { UNetConfig } from "../unet.js";
import type { VaeConfig } from "../vae.js";

export interface SdxlSizes {
  /** CLIP ViT-L text tower (CLIPTextModel, quick_gelu). */
  textEncoder: ClipTextSizes;
  /** OpenCLIP ViT-bigG text tower with projection (CLIPTextModelWithProjection, gelu). */
  textEncoder2: ClipTextSizes;
  unet: UNetConfig;
  vae: VaeConfig;
}

export type SdxlPresetName = "tiny" | "sdxl";
export const SDXL_PRESET_NAMES = ["tiny", "sdxl"] as const satisfies readonly SdxlPresetName[];

/** SDXL's VAE: SD's architecture, retrained, with its own latent scale (vae/config.json of SDXL 1.0). */
const SDXL_VAE_SCALING_FACTOR = 0.13025;

const TINY_SD1 = PRESETS.tiny.sd1!;
const SD15 = PRESETS.sd15.sd1!;

const TINY_UNET: UNetConfig = {
  sampleSize: 8,
  inChannels: 4,
  outChannels: 4,
  blockOutChannels: [32, 64],
  layersPerBlock: 2,
  downBlockTypes: ["DownBlock2D", "CrossAttnDownBlock2D"],
  upBlockTypes: ["CrossAttnUpBlock2D", "UpBlock2D"],
  attentionHeadDim: [2, 4],
  crossAttentionDim: 64,
  useLinearProjection: true,
  upcastAttention: false,
  normNumGroups: 32,
  normEps: 1e-5,
  transformerLayersPerBlock: [1, 2],
  // text_embeds (32) + 6 ids x 8
  textTimeEmbedding: { timeEmbedDim: 8, timeIds: 6, projectionInputDim: 80 },
};

const TINY: SdxlSizes = {
  textEncoder: TINY_SD1.textEncoder,
  textEncoder2: { ...TINY_SD1.textEncoder, hiddenAct: "gelu" },
  unet: TINY_UNET,
  vae: { ...TINY_SD1.vae, scalingFactor: SDXL_VAE_SCALING_FACTOR },
};

const SDXL: SdxlSizes = {
  textEncoder: SD15.textEncoder,
  textEncoder2: {
    ...SD15.textEncoder,
    hiddenSize: 1280,
    intermediateSize: 5120,
    numHiddenLayers: 32,
    numAttentionHeads: 20,
    hiddenAct: "gelu",
    projectionDim: 1280,
  },
  unet: {
    sampleSize: 128,
    inChannels: 4,
    outChannels: 4,
    blockOutChannels: [320, 640, 1280],
    layersPerBlock: 2,
    downBlockTypes: ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    upBlockTypes: ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    attentionHeadDim: [5, 10, 20],
    crossAttentionDim: 2048,
    useLinearProjection: true,
    upcastAttention: false,
    normNumGroups: 32,
    normEps: 1e-5,
    transformerLayersPerBlock: [1, 2, 10],
    // text_embeds (1280) + 6 ids x 256
    textTimeEmbedding: { timeEmbedDim: 256, timeIds: 6, projectionInputDim: 2816 },
  },
  vae: { ...SD15.vae, sampleSize: 1024, scalingFactor: SDXL_VAE_SCALING_FACTOR },
};

export const SDXL_PRESETS: Readonly<Record<SdxlPresetName, SdxlSizes>> = { tiny: TINY, sdxl: SDXL };

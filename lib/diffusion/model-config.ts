/**
 * What a pipeline needs from a model folder's configs before it runs: the scheduler config, the
 * latent shape rules (UNet sample_size, in_channels, down-sampling depth; VAE down-sampling) and
 * the VAE latent scaling. Shared by the families whose denoiser is a UNet2DConditionModel.
 */
import path from "node:path";
import { readJson, readOptionalJson } from "../models/model-index.js";
import type { VaeScaling } from "./decode.js";

export interface DenoiserConfig {
  schedulerConfig: Record<string, unknown>;
  /** unet/config.json ({} for legacy exports without one). */
  unetConfig: Record<string, unknown>;
  /** vae_decoder/config.json, else vae/config.json, else {}. */
  vaeConfig: Record<string, unknown>;
  sampleSize: number;
  latentChannels: number;
  vaeScaleFactor: number;
  /** Latent sizes must be multiples of this (2^number of UNet down-samplings). */
  latentMultiple: number;
  vae: VaeScaling;
}

export interface DenoiserConfigDefaults {
  /** UNet sample_size when the folder has no unet config (64 for SD 1.x legacy exports). */
  sampleSize: number;
  /** VAE scaling_factor when the folder has no VAE config (legacy exports: SD 1.x's 0.18215). */
  scalingFactor: number;
}

const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);

export async function readDenoiserConfig(root: string, defaults: DenoiserConfigDefaults): Promise<DenoiserConfig> {
  const schedulerConfig = await readJson(path.join(root, "scheduler", "scheduler_config.json"), "scheduler");
  const unetConfig = (await readOptionalJson(path.join(root, "unet", "config.json"), "unet")) ?? {};
  const vaeConfig =
    (await readOptionalJson(path.join(root, "vae_decoder", "config.json"), "vae_decoder")) ??
    (await readOptionalJson(path.join(root, "vae", "config.json"), "vae")) ??
    {};
  const vaeBlocks = Array.isArray(vaeConfig.block_out_channels) ? vaeConfig.block_out_channels.length : 4;
  // Without a unet config (legacy exports) the down-sampling depth is unknown: only multiples of 8 are checked.
  const unetBlocks = Array.isArray(unetConfig.block_out_channels) ? unetConfig.block_out_channels.length : 1;
  return {
    schedulerConfig,
    unetConfig,
    vaeConfig,
    sampleSize: num(unetConfig.sample_size, defaults.sampleSize),
    latentChannels: num(unetConfig.in_channels, 4),
    vaeScaleFactor: 2 ** (vaeBlocks - 1),
    latentMultiple: 2 ** (unetBlocks - 1),
    vae: { scalingFactor: num(vaeConfig.scaling_factor, defaults.scalingFactor), shiftFactor: num(vaeConfig.shift_factor, 0) },
  };
}

/**
 * The pipelines a built SD 1.x/2.x-architecture folder can be, beyond plain text-to-image, each as
 * its released model folder describes itself:
 * - "lcm": a Latent Consistency Model (SimianLuo/LCM_Dreamshaper_v7: SD 1.5 architecture whose
 *   UNet takes the guidance embedding `timestep_cond` [B, 256]), model_index
 *   LatentConsistencyModelPipeline, LCMScheduler distilled on 50 steps;
 * - "turbo": an adversarially distilled one-step model (stabilityai/sd-turbo: SD 2.1 architecture,
 *   StableDiffusionPipeline), sampled at guidance 0 with Euler ancestral on "trailing" timesteps so
 *   that one step starts at t = 999.
 */
import { modelIndexJson, schedulerConfigJson, type PredictionType } from "./folder-writer.js";
import type { ModelFamily } from "./presets.js";

export const PIPELINE_KINDS = ["sd", "lcm", "turbo"] as const;
export type PipelineKind = (typeof PIPELINE_KINDS)[number];

/** The architecture family each kind is released on. */
export const PIPELINE_KIND_FAMILY: Readonly<Record<PipelineKind, ModelFamily | undefined>> = { sd: undefined, lcm: "sd1", turbo: "sd2" };

/** LCM's time_cond_proj_dim (the guidance embedding's width). */
export const LCM_TIME_COND_DIM = 256;

export function pipelineModelIndex(kind: PipelineKind): Record<string, unknown> {
  const base = modelIndexJson();
  if (kind === "lcm") return { ...base, _class_name: "LatentConsistencyModelPipeline", scheduler: ["diffusers", "LCMScheduler"] };
  if (kind === "turbo") return { ...base, scheduler: ["diffusers", "EulerAncestralDiscreteScheduler"] };
  return base;
}

export function pipelineSchedulerConfig(kind: PipelineKind, predictionType: PredictionType): Record<string, unknown> {
  const base = schedulerConfigJson(predictionType);
  if (kind === "lcm") {
    const { skip_prk_steps: _skip, ...rest } = base;
    return {
      ...rest,
      _class_name: "LCMScheduler",
      clip_sample_range: 1.0,
      original_inference_steps: 50,
      rescale_betas_zero_snr: false,
      set_alpha_to_one: true,
      thresholding: false,
      timestep_scaling: 10.0,
    };
  }
  if (kind === "turbo") {
    const { skip_prk_steps: _skip, set_alpha_to_one: _alpha, clip_sample: _clip, ...rest } = base;
    return { ...rest, _class_name: "EulerAncestralDiscreteScheduler", timestep_spacing: "trailing", rescale_betas_zero_snr: false };
  }
  return base;
}

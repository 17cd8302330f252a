/**
 * What every family's text-to-image pipeline offers, so the CLI, the runtime, the MCP server and
 * the notebooks work with any model folder. Families: lib/diffusion/stable-diffusion.ts (SD 1.x/2.x),
 * and the others registered in load-pipeline.ts.
 */
import type { ExecutionProviderName } from "../onnx/providers.js";
import type { Family, ModelIndex } from "../models/model-index.js";
import type { GenerateOptions, GenerateOptionsInput } from "./options.js";
import type { GenerateResult, RunOptions } from "./stable-diffusion.js";
import type { Latents } from "./latents.js";
import type { RgbImage } from "../images/postprocess.js";

export interface PipelineDescription {
  family: Family;
  className: string;
  provider: ExecutionProviderName;
  dtype: string;
  dtypeReason: string;
  contracts: object;
}

export interface TextToImagePipeline {
  readonly index: ModelIndex;
  readonly dir: string;
  /** Validate a request against this model; returns it with defaults filled in (width/height included). */
  resolve(input: GenerateOptionsInput | GenerateOptions): GenerateOptions & { width: number; height: number };
  generate(input: GenerateOptionsInput | GenerateOptions, run?: RunOptions): Promise<GenerateResult>;
  /**
   * Decode latents (e.g. `StepProgress.latents` during a run, or `tensors.finalLatents`) to pictures
   * with this model's VAE: the denoising film strip.
   */
  decodeLatents(latents: Latents, options?: { signal?: AbortSignal }): Promise<RgbImage[]>;
  describe(): PipelineDescription;
  /** Components whose sessions are open now. */
  loadedComponents(): string[];
  dispose(): Promise<void>;
}

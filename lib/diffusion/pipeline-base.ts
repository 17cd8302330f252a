/**
 * What every family's pipeline does the same way over its open components: where it came from,
 * which sessions are open, decoding latents with its VAE, describing itself, closing.
 */
import type { Components } from "../onnx/components.js";
import type { VaeDecoderContract } from "../onnx/contracts.js";
import type { ExecutionProviderName } from "../onnx/providers.js";
import type { RuntimeOptions } from "../onnx/runtime-options.js";
import type { RgbImage } from "../images/postprocess.js";
import type { ModelIndex } from "../models/model-index.js";
import { decodeToImages, type VaeScaling } from "./decode.js";
import type { Latents } from "./latents.js";
import type { PipelineDescription } from "./pipeline.js";

export abstract class PipelineBase {
  abstract readonly index: ModelIndex;
  protected abstract readonly components: Components;
  protected abstract readonly contracts: { vaeDecoder: VaeDecoderContract };
  abstract readonly config: { vae: VaeScaling; provider: ExecutionProviderName; dtypeReason: string };
  abstract readonly runtime: RuntimeOptions;
  /** The denoiser's precision as opened (its sample input's element type). */
  protected abstract get denoiserDtype(): string;

  get dir(): string {
    return this.index.dir;
  }

  /** Components whose sessions are open now (none between calls with CPU offload). */
  loadedComponents(): string[] {
    return this.components.loaded();
  }

  /** Latents to pictures with this model's VAE decoder (a denoising film strip: `StepProgress.latents`). */
  decodeLatents(latents: Latents, options: { signal?: AbortSignal } = {}): Promise<RgbImage[]> {
    return decodeToImages(this.components, this.contracts.vaeDecoder, latents, this.config.vae, {
      slicing: this.runtime.vaeSlicing === true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Execution provider and precision of the denoiser, as opened. */
  describe(): PipelineDescription {
    return {
      family: this.index.family,
      className: this.index.className,
      provider: this.config.provider,
      dtype: this.denoiserDtype,
      dtypeReason: this.config.dtypeReason,
      contracts: this.contracts,
    };
  }

  async dispose(): Promise<void> {
    await this.components.dispose();
  }
}

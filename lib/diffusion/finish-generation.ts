/**
 * The last stages every text-to-image family shares: decode the final latents with the VAE
 * (latents / scaling_factor + shift_factor), post-process to RGB, and assemble the result with its
 * timings. Family pipelines call this after their denoising loop.
 */
import type { Components } from "../onnx/components.js";
import type { VaeDecoderContract } from "../onnx/contracts.js";
import type { Scheduler } from "../schedulers/scheduler.js";
import { decodeLatents, type DecodedImages, type VaeScaling } from "./decode.js";
import { toGeneratedImages } from "./generated-images.js";
import type { Latents } from "./latents.js";
import type { GenerateOptions } from "./options.js";
import type { GenerateResult, Timings } from "./stable-diffusion.js";
import { withComponent } from "./with-component.js";

export interface FinishGeneration {
  components: Components;
  vaeDecoder: VaeDecoderContract;
  vae: VaeScaling;
  /** ENABLE_VAE_SLICING: decode one image at a time. */
  vaeSlicing: boolean;
  latents: Latents;
  prompts: readonly string[];
  /** The negative prompts when guidance ran, else undefined. */
  negatives: readonly string[] | undefined;
  imagesPerPrompt: number;
  scheduler: Scheduler;
  seed: number;
  options: GenerateOptions;
  /** Stage timings so far; decode, post-process and totals are added here. */
  timings: Pick<Timings, "tokenizeMs" | "textEncoderMs" | "imageEncodeMs" | "denoiseMs" | "stepMs">;
  /** The timesteps that ran, when not all of the scheduler's (image-to-image). */
  timesteps?: readonly number[];
  /** performance.now() at the start of generate, and the components' session.run total then. */
  startedAt: number;
  runMsAtStart: number;
  initialNoise: Latents;
  returnTensors?: boolean;
  signal?: AbortSignal;
}

export async function finishGeneration(x: FinishGeneration): Promise<GenerateResult> {
  let t = performance.now();
  const decoded: DecodedImages = await withComponent(x.components, "vae_decoder", (vae) =>
    decodeLatents(vae, x.vaeDecoder, x.latents, x.vae, { slicing: x.vaeSlicing, signal: x.signal }),
  );
  const decodeMs = performance.now() - t;
  t = performance.now();
  const { images, unit } = toGeneratedImages(decoded, x.prompts, x.negatives, x.imagesPerPrompt);
  const postprocessMs = performance.now() - t;
  return {
    images,
    seed: x.seed,
    scheduler: x.scheduler.className,
    timesteps: [...(x.timesteps ?? x.scheduler.timesteps)],
    options: x.options,
    timings: {
      ...x.timings,
      decodeMs,
      postprocessMs,
      totalMs: performance.now() - x.startedAt,
      sessionRunMs: x.components.totalRunMs() - x.runMsAtStart,
    },
    ...(x.returnTensors ? { tensors: { initialNoise: x.initialNoise, finalLatents: x.latents, images: unit, decoded } } : {}),
  };
}

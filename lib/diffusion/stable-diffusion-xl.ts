/**
 * Text-to-image and image-to-image for Stable Diffusion XL (StableDiffusionXLPipeline,
 * StableDiffusionXLImg2ImgPipeline without refiner options, and their optimum ONNX exports), on ONNX
 * Runtime. `generate` reads as diffusers' pipelines: check, encode with both text encoders,
 * micro-conditioning, prepare latents (from noise, or from the init image), denoise, decode.
 */
import path from "node:path";
import { throwIfCancelled, ModelLoadError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { readModelIndex, type ModelIndex } from "../models/model-index.js";
import { Components } from "../onnx/components.js";
import { floatTensor, timestepTensor, toFloat32, vaeDecoderContract, type VaeDecoderContract } from "../onnx/contracts.js";
import {
  sdxlConditioningTensors,
  sdxlTextEncoderContract,
  sdxlUNetContract,
  type SdxlTextEncoderContract,
  type SdxlUNetContract,
} from "../onnx/contracts-sdxl.js";
import { resolveDtype } from "../onnx/dtype.js";
import type { ExecutionProviderName } from "../onnx/providers.js";
import type { RuntimeOptions } from "../onnx/runtime-options.js";
import type { ModelSession } from "../onnx/session.js";
import { createScheduler } from "../schedulers/index.js";
import { CLIPTokenizer } from "../tokenizers/clip.js";
import { denoise } from "./denoise.js";
import { encodePromptXL, zeroEmbeddings, type XLPromptEmbeddings, type XLTextEncoder } from "./encode-prompt-xl.js";
import { TorchGenerator, randomSeed } from "./generator.js";
import { doesGuidance } from "./guidance.js";
import { latentShape, repeatEach, type Latents } from "./latents.js";
import { readDenoiserConfig, type DenoiserConfig } from "./model-config.js";
import { parseGenerateOptions, rejectUnusedFields, type GenerateOptions, type GenerateOptionsInput } from "./options.js";
import type { TextToImagePipeline } from "./pipeline.js";
import { perPrompt, promptList, resolveImageSize } from "./resolve-request.js";
import { addTimeIds, checkAddEmbeddingSize, microConditioning, timeIdsRows } from "./sdxl-micro-conditioning.js";
import { withComponent } from "./with-component.js";
import { PipelineBase } from "./pipeline-base.js";
import { finishGeneration } from "./finish-generation.js";
import { readRequestImage, startLatents } from "./encode-image.js";
import { img2imgSchedule, requireImageForStrength } from "./img2img.js";
import type { InitImage } from "../images/init-image.js";
import type { GenerateResult, RunOptions } from "./stable-diffusion.js";

/** SDXL base's UNet sample_size (128 latents = 1024 px), for a folder without unet/config.json. */
const SDXL_UNET_SAMPLE_SIZE = 128;
/** SDXL's VAE scaling factor, for a folder without a VAE config (optimum always writes one). */
const SDXL_VAE_SCALING_FACTOR = 0.13025;
/** diffusers' StableDiffusionXLPipeline default for force_zeros_for_empty_prompt. */
const FORCE_ZEROS_DEFAULT = true;
/** Micro-conditioning ids of the base model: original size, crop top-left, target size. */
const TIME_IDS = 6;

/** The request fields SDXL uses beyond SD 1.x's. */
const SDXL_FIELDS = ["prompt_2", "negative_prompt_2", "original_size", "target_size", "crops_coords_top_left", "image", "strength"] as const;
/** StableDiffusionXLImg2ImgPipeline's default strength (SD 1.x's is 0.8). */
export const SDXL_DEFAULT_STRENGTH = 0.3;

interface XLContracts {
  textEncoder: SdxlTextEncoderContract;
  textEncoder2: SdxlTextEncoderContract;
  unet: SdxlUNetContract;
  vaeDecoder: VaeDecoderContract;
}

interface XLConfig extends DenoiserConfig {
  /** model_index.json's force_zeros_for_empty_prompt: no negative prompt given means zero negative embeddings. */
  forceZerosForEmptyPrompt: boolean;
  provider: ExecutionProviderName;
  dtypeReason: string;
}

export class StableDiffusionXLPipeline extends PipelineBase implements TextToImagePipeline {
  private constructor(
    readonly index: ModelIndex,
    readonly tokenizers: readonly [CLIPTokenizer, CLIPTokenizer],
    protected readonly components: Components,
    protected readonly contracts: XLContracts,
    readonly config: XLConfig,
    readonly runtime: RuntimeOptions,
    readonly logger: Logger,
  ) {
    super();
  }

  protected get denoiserDtype(): string {
    return this.contracts.unet.sampleType;
  }

  /** Open an SDXL model folder: read its configs, open each component, recognise each tensor contract. */
  static async load(dir: string, runtime: RuntimeOptions = {}): Promise<StableDiffusionXLPipeline> {
    const logger = runtime.logger ?? consoleLogger;
    const index = await readModelIndex(dir);
    if (index.family !== "sdxl") {
      throw new ModelLoadError(`${index.className} (family ${index.family}) is not supported by this pipeline; it runs Stable Diffusion XL`);
    }
    if (index.components.text_encoder?.[0] == null || index.components.tokenizer?.[0] == null) {
      throw new ModelLoadError("model_index.json has no text_encoder/tokenizer: SDXL refiner-style folders (text_encoder_2 only) are not supported");
    }
    const root = index.dir;
    const config = await readDenoiserConfig(root, { sampleSize: SDXL_UNET_SAMPLE_SIZE, scalingFactor: SDXL_VAE_SCALING_FACTOR });
    if (config.vaeConfig.latents_mean != null || config.vaeConfig.latents_std != null) {
      throw new ModelLoadError("VAE configs with latents_mean/latents_std (per-channel latent statistics) are not supported", "vae_decoder");
    }
    const tokenizers = [
      await CLIPTokenizer.fromFolder(path.join(root, "tokenizer")),
      await CLIPTokenizer.fromFolder(path.join(root, "tokenizer_2")),
    ] as const;
    createScheduler(config.schedulerConfig, undefined, { logger: (m: string) => logger.warn(`scheduler_config.json: ${m}`) });

    const components = new Components(root, { ...runtime, logger });
    try {
      const textEncoder = await withComponent(components, "text_encoder", (s) => sdxlTextEncoderContract(s, { pooled: false }));
      const textEncoder2 = await withComponent(components, "text_encoder_2", (s) => sdxlTextEncoderContract(s, { pooled: true }));
      let provider: ExecutionProviderName = "cpu";
      const unet = await withComponent(components, "unet", (s) => {
        provider = s.provider;
        return sdxlUNetContract(s);
      });
      checkAddEmbeddingSize(config.unetConfig, textEncoder2.pooledDim ?? unet.textEmbeds.dim, TIME_IDS);
      if (unet.timeIds.count !== undefined && unet.timeIds.count !== TIME_IDS) {
        throw new ModelLoadError(`input 'time_ids' takes ${unet.timeIds.count} ids; SDXL base pipelines give ${TIME_IDS} (refiner-style aesthetic-score UNets are not supported)`, "unet");
      }
      const vaeDecoder = await withComponent(components, "vae_decoder", vaeDecoderContract);
      const requested = runtime.dtype ?? "auto";
      const choice = resolveDtype(requested, provider, [unet.sampleType]);
      const fellBack = requested !== "auto" && requested !== "native" && requested !== choice.dtype;
      (fellBack ? logger.warn : logger.info).call(logger, `dtype: ${choice.reason}`);
      const force = index.raw.force_zeros_for_empty_prompt;
      return new StableDiffusionXLPipeline(
        index,
        tokenizers,
        components,
        { textEncoder, textEncoder2, unet, vaeDecoder },
        { ...config, forceZerosForEmptyPrompt: typeof force === "boolean" ? force : FORCE_ZEROS_DEFAULT, provider, dtypeReason: choice.reason },
        runtime,
        logger,
      );
    } catch (err) {
      await components.dispose();
      throw err;
    }
  }

  /** Check a request against the model: sizes, scheduler, per-prompt fields. Returns it with defaults filled in. */
  resolve(input: GenerateOptionsInput | GenerateOptions): GenerateOptions & { width: number; height: number } {
    const o = parseGenerateOptions(input);
    rejectUnusedFields(o, SDXL_FIELDS, "SDXL");
    requireImageForStrength(o);
    const { width, height } = resolveImageSize(o, this.config);
    const count = promptList(o.prompt).length;
    perPrompt("negative_prompt", o.negative_prompt, count);
    perPrompt("prompt_2", o.prompt_2, count);
    perPrompt("negative_prompt_2", o.negative_prompt_2, count);
    if (o.scheduler !== undefined) createScheduler(this.config.schedulerConfig, o.scheduler);
    return { ...o, width, height };
  }

  async generate(input: GenerateOptionsInput | GenerateOptions, run: RunOptions = {}): Promise<GenerateResult> {
    const t0 = performance.now();
    const runMs0 = this.components.totalRunMs();
    const signal = run.signal;
    const check = () => throwIfCancelled(signal);

    // 1. Check inputs; an init image is decoded first, its size is the default output size.
    let o = this.resolve(input);
    let init: InitImage | undefined;
    let imageEncodeMs = 0;
    if (o.image !== undefined) {
      const sizeMultiple = this.config.vaeScaleFactor * this.config.latentMultiple;
      ({ options: o, image: init, ms: imageEncodeMs } = await readRequestImage(input, o, { sizeMultiple, resolve: (i) => this.resolve(i), components: this.components }));
    }
    const prompts = promptList(o.prompt);
    const guided = doesGuidance(o.guidance_scale);
    const n = o.num_images_per_prompt;
    const batch = prompts.length * n;
    const seed = o.seed ?? randomSeed();
    const generator = new TorchGenerator(seed);
    const scheduler = createScheduler(this.config.schedulerConfig, o.scheduler);
    check();

    // 2. Encode the prompts with both encoders; the negative branch as diffusers' encode_prompt:
    //    zeros when force_zeros_for_empty_prompt and no negative_prompt (negative_prompt_2 alone does
    //    not count), else negative_prompt || "" and negative_prompt_2 || negative_prompt.
    let t = performance.now();
    const prompts2 = perPrompt("prompt_2", o.prompt_2 || undefined, prompts.length) ?? prompts;
    const encoders = this.textEncoders();
    const positive = await encodePromptXL(this.components, encoders, prompts, prompts2, signal);
    let negatives: string[] | undefined;
    let negative: XLPromptEmbeddings | undefined;
    if (guided && o.negative_prompt === undefined && this.config.forceZerosForEmptyPrompt) {
      negative = zeroEmbeddings(positive);
      negatives = prompts.map(() => "");
    } else if (guided) {
      negatives = perPrompt("negative_prompt", o.negative_prompt || "", prompts.length)!;
      const negatives2 = perPrompt("negative_prompt_2", o.negative_prompt_2 || undefined, prompts.length) ?? negatives;
      negative = await encodePromptXL(this.components, encoders, negatives, negatives2, signal);
    }
    // [negatives..., prompts...], each repeated num_images_per_prompt times.
    const rows = (pick: (e: XLPromptEmbeddings) => Float32Array, size: number) =>
      repeatEach(negative ? concat(pick(negative), pick(positive)) : pick(positive), size, n);
    const hiddenStates = rows((e) => e.hidden, positive.seq * positive.dim);
    const textEmbeds = rows((e) => e.pooled, positive.pooledDim);
    const tokenizeMs = positive.tokenizeMs + (negative?.tokenizeMs ?? 0);
    const textEncoderMs = performance.now() - t - tokenizeMs;
    check();

    // 3. Micro-conditioning: the same time ids for every row, negative rows included; sizes default
    //    to the output size (image-to-image: the init image's, as the img2img pipeline's latents give).
    const unetBatch = guided ? 2 * batch : batch;
    const timeIds = timeIdsRows(addTimeIds(microConditioning(o, o.height, o.width)), unetBatch);

    // 4. Timesteps and initial latents: noise, or (image-to-image) the encoded image noised to the
    //    first timestep get_timesteps keeps. Generator order as diffusers: the latent sample, then the noise.
    scheduler.setTimesteps(o.num_inference_steps);
    const dims = latentShape(batch, this.config.latentChannels, o.height, o.width, this.config.vaeScaleFactor);
    const schedule = () => img2imgSchedule(scheduler, o.num_inference_steps, o.strength ?? SDXL_DEFAULT_STRENGTH);
    const start = await startLatents({ components: this.components, image: init, schedule, scheduler, vae: this.config.vae, dims, generator, givenNoise: run.latents, signal });
    const { timesteps, latents: latents0, noise: initialNoise } = start;
    imageEncodeMs += start.encodeMs;
    check();

    // 5. Denoise.
    t = performance.now();
    const { latents, stepMs } = await withComponent(this.components, "unet", (unet) =>
      denoise({
        scheduler,
        latents: latents0.data,
        dims,
        timesteps,
        guidanceScale: o.guidance_scale,
        generator,
        eta: o.eta,
        predict: (sample, step) => this.predictNoise(unet, sample, step, { hiddenStates, seq: positive.seq, textEmbeds, timeIds }, unetBatch, dims, signal),
        onStep: run.onStep,
        signal,
      }),
    );
    const denoiseMs = performance.now() - t;
    check();

    // 6. Decode and post-process.
    return finishGeneration({
      components: this.components,
      vaeDecoder: this.contracts.vaeDecoder,
      vae: this.config.vae,
      vaeSlicing: this.runtime.vaeSlicing === true,
      latents: { data: latents, dims },
      prompts,
      negatives: guided ? negatives : undefined,
      imagesPerPrompt: n,
      scheduler,
      seed,
      options: o,
      timings: { tokenizeMs, textEncoderMs, ...(init ? { imageEncodeMs } : {}), denoiseMs, stepMs },
      timesteps,
      startedAt: t0,
      runMsAtStart: runMs0,
      initialNoise,
      returnTensors: run.returnTensors,
      signal,
    });
  }

  private textEncoders(): [XLTextEncoder, XLTextEncoder] {
    return [
      { name: "text_encoder", tokenizer: this.tokenizers[0], contract: this.contracts.textEncoder },
      { name: "text_encoder_2", tokenizer: this.tokenizers[1], contract: this.contracts.textEncoder2 },
    ];
  }

  /** One UNet evaluation; with attention slicing the guided batch runs as two half batches. */
  private async predictNoise(
    unet: ModelSession,
    sample: Float32Array,
    step: number,
    cond: { hiddenStates: Float32Array; seq: number; textEmbeds: Float32Array; timeIds: Float32Array },
    batch: number,
    dims: Latents["dims"],
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const c = this.contracts.unet;
    const [, ch, h, w] = dims;
    const perSample = ch * h * w;
    const per = (x: Float32Array) => x.length / batch;
    const rowsOf = (x: Float32Array, start: number, count: number) => x.subarray(start * per(x), (start + count) * per(x));
    const parts = this.runtime.attentionSlicing && batch > 1 ? 2 : 1;
    const out = new Float32Array(batch * perSample);
    const size = Math.ceil(batch / parts);
    for (let start = 0; start < batch; start += size) {
      const k = Math.min(size, batch - start);
      const feeds = {
        sample: floatTensor(c.sampleType, rowsOf(sample, start, k), [k, ch, h, w]),
        timestep: timestepTensor(c, step, k),
        encoder_hidden_states: floatTensor(c.hiddenType, rowsOf(cond.hiddenStates, start, k), [k, cond.seq, per(cond.hiddenStates) / cond.seq]),
        ...sdxlConditioningTensors(c, rowsOf(cond.textEmbeds, start, k), rowsOf(cond.timeIds, start, k), k),
      };
      const result = await unet.run(feeds, signal);
      out.set(toFloat32(result[c.output]), start * perSample);
    }
    return out;
  }

}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

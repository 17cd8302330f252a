/**
 * Text-to-image and image-to-image for the SD 1.x/2.x family (StableDiffusionPipeline,
 * StableDiffusionImg2ImgPipeline and their ONNX exports, SD-Turbo included) and for Latent
 * Consistency Models (LatentConsistencyModelPipeline and LatentConsistencyModelImg2ImgPipeline), on
 * ONNX Runtime. `generate` reads as the algorithm: check, encode, prepare latents (from noise, or
 * from the init image), denoise, decode.
 *
 * LCM differs in four places, as diffusers' LCM pipelines: the guidance scale reaches the UNet as
 * its `timestep_cond` embedding instead of classifier-free guidance (one UNet batch, no negative
 * prompt), the LCMScheduler draws fresh noise between steps, image-to-image's `strength` shortens
 * LCMScheduler's schedule instead of cutting its tail, and its defaults are 4 steps at guidance 8.5.
 */
import path from "node:path";
import { throwIfCancelled, InvalidInputError, ModelLoadError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { readModelIndex, type ModelIndex } from "../models/model-index.js";
import { Components } from "../onnx/components.js";
import {
  floatTensor,
  textEncoderContract,
  timestepTensor,
  toFloat32,
  unetContract,
  vaeDecoderContract,
  type TextEncoderContract,
  type UNetContract,
  type VaeDecoderContract,
} from "../onnx/contracts.js";
import { resolveDtype } from "../onnx/dtype.js";
import { providerOrder, type ExecutionProviderName } from "../onnx/providers.js";
import { findPrecisionVariants, type PrecisionVariant } from "../onnx/variants.js";
import type { RuntimeOptions } from "../onnx/runtime-options.js";
import type { ModelSession } from "../onnx/session.js";
import { createScheduler } from "../schedulers/index.js";
import type { Scheduler } from "../schedulers/scheduler.js";
import { CLIPTokenizer } from "../tokenizers/clip.js";
import type { RgbImage } from "../images/postprocess.js";
import type { DecodedImages } from "./decode.js";
import type { InitImage } from "../images/init-image.js";
import { encodeTokens, tokenize, type PromptEmbeddings } from "./encode-prompt.js";
import { TorchGenerator, randomSeed } from "./generator.js";
import { applyGuidance, doesGuidance } from "./guidance.js";
import { guidanceScaleEmbedding } from "./guidance-embedding.js";
import { readRequestImage, startLatents } from "./encode-image.js";
import { img2imgSchedule, lcmImg2imgSchedule, requireImageForStrength } from "./img2img.js";
import { duplicateBatch, latentShape, repeatEach, type Latents } from "./latents.js";
import { finishGeneration } from "./finish-generation.js";
import { PipelineBase } from "./pipeline-base.js";
import { parseGenerateOptions, rejectUnusedFields, type GenerateOptions, type GenerateOptionsInput } from "./options.js";
import type { TextToImagePipeline } from "./pipeline.js";
import { readDenoiserConfig, type DenoiserConfig } from "./model-config.js";
import { perPrompt, promptList, resolveImageSize } from "./resolve-request.js";
import { withComponent } from "./with-component.js";

/**
 * diffusers' legacy ONNX export writes no vae_decoder/config.json; its OnnxStableDiffusionPipeline
 * hard-codes SD 1.x's VAE scaling factor. Used only when the folder has no config saying otherwise.
 */
const LEGACY_VAE_SCALING_FACTOR = 0.18215;
/** SD 1.x UNet sample_size (64 latents = 512 px), the default size of legacy exports without a unet config. */
const LEGACY_UNET_SAMPLE_SIZE = 64;
/** diffusers' StableDiffusionImg2ImgPipeline and LatentConsistencyModelImg2ImgPipeline default strength. */
export const DEFAULT_STRENGTH = 0.8;
/** diffusers' LatentConsistencyModelPipeline defaults, used when a request to an LCM model leaves them out. */
export const LCM_DEFAULTS = { num_inference_steps: 4, guidance_scale: 8.5 } as const;

export interface StepProgress {
  /** 1-based index of the step just finished. */
  step: number;
  totalSteps: number;
  timestep: number;
  elapsedMs: number;
  /**
   * The latents after this step (the scheduler's prev_sample), e.g. to decode a denoising film strip
   * with `pipeline.decodeLatents`. The array is not reused by the pipeline; copy is not needed.
   */
  latents?: Latents;
}

export interface RunOptions {
  /**
   * Caller-given initial noise, [B*num_images_per_prompt, 4, h, w], instead of the seed's: before
   * init_noise_sigma for text-to-image, the noise added to the image latents for image-to-image.
   */
  latents?: Float32Array;
  /** Called after every denoising step. */
  onStep?: (progress: StepProgress) => void;
  /** Aborts between steps and between stages. */
  signal?: AbortSignal;
  /** Also return the initial noise, the final latents and the decoded float images. */
  returnTensors?: boolean;
}

export interface Timings {
  tokenizeMs: number;
  textEncoderMs: number;
  /** Image-to-image: decoding and resizing the init image, and the VAE encoder. */
  imageEncodeMs?: number;
  denoiseMs: number;
  stepMs: number[];
  decodeMs: number;
  postprocessMs: number;
  totalMs: number;
  /** Time spent inside onnxruntime's `session.run` during this call. */
  sessionRunMs: number;
}

export interface GeneratedImage extends RgbImage {
  prompt: string;
  negativePrompt: string | undefined;
  /** Index of the image in the batch (prompt-major, then num_images_per_prompt). */
  index: number;
}

export interface GenerateResult {
  images: GeneratedImage[];
  seed: number;
  /** Scheduler class used (diffusers name). */
  scheduler: string;
  /** The timesteps that ran (image-to-image: the tail of the schedule that `strength` keeps). */
  timesteps: number[];
  options: GenerateOptions;
  timings: Timings;
  tensors?: {
    initialNoise: Latents;
    finalLatents: Latents;
    /** HWC float32 images in [0, 1], as diffusers' output_type="np". */
    images: Float32Array[];
    decoded: DecodedImages;
  };
}

interface FamilyConfig extends DenoiserConfig {
  /** Execution provider the UNet opened on, and why the precision is what it is. */
  provider: ExecutionProviderName;
  dtypeReason: string;
  /** Precision of the variant the graphs were opened from (the UNet's input type for a single-precision folder). */
  dtype: "float32" | "float16";
  /** Width of the UNet's `timestep_cond` (LCM's guidance embedding), when it has one. */
  timeCondDim?: number;
}

export class StableDiffusionPipeline extends PipelineBase implements TextToImagePipeline {
  private constructor(
    readonly index: ModelIndex,
    readonly tokenizer: CLIPTokenizer,
    protected readonly components: Components,
    protected readonly contracts: { textEncoder: TextEncoderContract; unet: UNetContract; vaeDecoder: VaeDecoderContract },
    readonly config: FamilyConfig,
    readonly runtime: RuntimeOptions,
    readonly logger: Logger,
  ) {
    super();
  }

  protected get denoiserDtype(): string {
    return this.config.dtype;
  }

  /** Open a model folder: read its configs, open each component, recognise each tensor contract. */
  static async load(dir: string, runtime: RuntimeOptions = {}): Promise<StableDiffusionPipeline> {
    const logger = runtime.logger ?? consoleLogger;
    const index = await readModelIndex(dir);
    if (index.family !== "sd" && index.family !== "lcm") {
      throw new ModelLoadError(`${index.className} (family ${index.family}) is not supported by this pipeline; it runs the SD 1.x/2.x and LCM families`);
    }
    const root = index.dir;
    const denoiser = await readDenoiserConfig(root, { sampleSize: LEGACY_UNET_SAMPLE_SIZE, scalingFactor: LEGACY_VAE_SCALING_FACTOR });
    const { schedulerConfig, unetConfig } = denoiser;
    const tokenizer = await CLIPTokenizer.fromFolder(path.join(root, "tokenizer"));
    createScheduler(schedulerConfig, undefined, { logger: (m: string) => logger.warn(`scheduler_config.json: ${m}`) });

    // A folder with float32 and float16 variants: DTYPE picks one before any session opens, for the
    // provider sessions are expected to open on (the first of the requested order that is usable).
    const requested = runtime.dtype ?? "auto";
    const variants = await findPrecisionVariants(root);
    let variant: PrecisionVariant = variants[0];
    let variantReason: string | undefined;
    if (variants.length > 1) {
      const expected = providerOrder(runtime.providers ?? ["auto"])[0];
      const choice = resolveDtype(requested, expected, variants.map((v) => v.dtype!));
      variant = variants.find((v) => v.dtype === choice.dtype)!;
      variantReason = `${choice.reason} (the folder holds float32 and float16: ${variant.layout}; using ${path.relative(root, path.join(variant.dir, "unet", variant.graphFiles[0])) || variant.dir})`;
      const fellBack = requested !== "auto" && requested !== "native" && requested !== choice.dtype;
      (fellBack ? logger.warn : logger.info).call(logger, `dtype: ${variantReason}`);
    }
    const components = new Components(root, { ...runtime, logger }, variant);
    const open = <T>(name: string, read: (s: ModelSession) => T): Promise<T> => withComponent(components, name, read);
    try {
      const textEncoder = await open("text_encoder", textEncoderContract);
      let provider: ExecutionProviderName = "cpu";
      const unet = await open("unet", (s) => {
        provider = s.provider;
        return unetContract(s);
      });
      const vaeDecoder = await open("vae_decoder", vaeDecoderContract);
      let dtype = variant.dtype ?? unet.sampleType;
      let dtypeReason = variantReason;
      if (dtypeReason === undefined) {
        // One precision in the folder: what the UNet graph declares.
        const choice = resolveDtype(requested, provider, [unet.sampleType]);
        const fellBack = requested !== "auto" && requested !== "native" && requested !== choice.dtype;
        (fellBack ? logger.warn : logger.info).call(logger, `dtype: ${choice.reason}`);
        dtype = choice.dtype;
        dtypeReason = choice.reason;
      }
      const timeCondDim = unet.timestepCond?.dim ?? (typeof unetConfig.time_cond_proj_dim === "number" ? unetConfig.time_cond_proj_dim : undefined);
      if (unet.timestepCond && timeCondDim === undefined) {
        throw new ModelLoadError("input 'timestep_cond' has no static width and unet/config.json has no time_cond_proj_dim", "unet");
      }
      const config: FamilyConfig = {
        ...denoiser,
        provider,
        dtypeReason,
        dtype,
        ...(unet.timestepCond ? { timeCondDim } : {}),
      };
      return new StableDiffusionPipeline(index, tokenizer, components, { textEncoder, unet, vaeDecoder }, config, runtime, logger);
    } catch (err) {
      await components.dispose();
      throw err;
    }
  }

  /** LatentConsistencyModelPipeline: no classifier-free guidance, w reaches the UNet as an embedding. */
  private get isLcm(): boolean {
    return this.index.family === "lcm";
  }

  /** Pixel sizes must be multiples of this: the VAE factor times the UNet's down-sampling. */
  private get sizeMultiple(): number {
    return this.config.vaeScaleFactor * this.config.latentMultiple;
  }

  /**
   * Check a request against the model: sizes, scheduler, batch, family fields. Returns the options
   * with defaults filled in. For image-to-image without width/height, `generate` takes the size
   * from the image (which this synchronous check cannot read) and this returns the model's default.
   */
  resolve(input: GenerateOptionsInput | GenerateOptions): GenerateOptions & { width: number; height: number } {
    const raw = input as Record<string, unknown>;
    // LCM's own defaults (4 steps, w 8.5) where the request leaves them out.
    const o = parseGenerateOptions(
      this.isLcm && raw !== null && typeof raw === "object"
        ? { ...(raw.num_inference_steps === undefined ? { num_inference_steps: LCM_DEFAULTS.num_inference_steps } : {}), ...(raw.guidance_scale === undefined ? { guidance_scale: LCM_DEFAULTS.guidance_scale } : {}), ...raw }
        : input,
    );
    if (this.isLcm) {
      rejectUnusedFields(o, ["image", "strength"], "LCM");
      if (o.negative_prompt !== undefined) {
        throw new InvalidInputError(
          "negative_prompt",
          "is not used by LCM models: guidance_scale reaches the UNet as an embedding, with no negative branch (as diffusers' LatentConsistencyModelPipeline)",
          "no negative_prompt; lower or raise guidance_scale instead",
        );
      }
    } else {
      rejectUnusedFields(o, ["image", "strength"], "SD 1.x/2.x");
    }
    requireImageForStrength(o);
    const { width, height } = resolveImageSize(o, this.config);
    perPrompt("negative_prompt", o.negative_prompt, promptList(o.prompt).length);
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
      const read = await readRequestImage(input, o, { sizeMultiple: this.sizeMultiple, resolve: (i) => this.resolve(i), components: this.components });
      ({ options: o, image: init, ms: imageEncodeMs } = read);
    }
    const prompts = Array.isArray(o.prompt) ? o.prompt : [o.prompt];
    const negatives = prompts.map((_, i) =>
      Array.isArray(o.negative_prompt) ? o.negative_prompt[i] : (o.negative_prompt ?? ""),
    );
    // LCM: never doubled, w goes through the UNet's guidance embedding instead.
    const guided = !this.isLcm && doesGuidance(o.guidance_scale);
    const perPrompt = o.num_images_per_prompt;
    const batch = prompts.length * perPrompt;
    const seed = o.seed ?? randomSeed();
    const generator = new TorchGenerator(seed);
    const scheduler: Scheduler = createScheduler(this.config.schedulerConfig, o.scheduler);
    check();

    // 2. Encode the prompt (and the negative prompt for classifier-free guidance).
    let t = performance.now();
    const ids = tokenize(this.tokenizer, guided ? [...negatives, ...prompts] : prompts);
    const tokenizeMs = performance.now() - t;
    t = performance.now();
    const encoder = await this.components.acquire("text_encoder");
    let embeds: PromptEmbeddings;
    try {
      embeds = await encodeTokens(encoder, this.contracts.textEncoder, ids, signal);
    } finally {
      await this.components.release("text_encoder");
    }
    const [, seq, hidden] = embeds.dims;
    // [negatives..., prompts...], each repeated num_images_per_prompt times, as diffusers' encode_prompt.
    const hiddenStates = repeatEach(embeds.data, seq * hidden, perPrompt);
    const textEncoderMs = performance.now() - t;
    check();

    // 3. Timesteps and initial latents: noise, or (image-to-image) the encoded image noised to the
    // first timestep `strength` keeps. Generator order as diffusers: the latent sample, then the noise.
    scheduler.setTimesteps(o.num_inference_steps);
    const dims = latentShape(batch, this.config.latentChannels, o.height, o.width, this.config.vaeScaleFactor);
    // LCM: strength shortens LCMScheduler's own schedule (all steps run); SD: the tail get_timesteps keeps.
    const strength = o.strength ?? DEFAULT_STRENGTH;
    const schedule = () => (this.isLcm ? lcmImg2imgSchedule : img2imgSchedule)(scheduler, o.num_inference_steps, strength);
    const start = await startLatents({ components: this.components, image: init, schedule, scheduler, vae: this.config.vae, dims, generator, givenNoise: run.latents, signal });
    const { latents: latents0, noise: initialNoise } = start;
    const timesteps = start.timesteps ?? scheduler.timesteps;
    imageEncodeMs += start.encodeMs;
    // Guidance-distilled UNets take w as an embedding (diffusers passes it whenever the UNet has time_cond_proj_dim).
    const timestepCond = this.config.timeCondDim !== undefined ? guidanceScaleEmbedding(o.guidance_scale, this.config.timeCondDim, 1) : undefined;

    // 4. Denoise.
    t = performance.now();
    const stepMs: number[] = [];
    let latents = latents0.data;
    const unet = await this.components.acquire("unet");
    try {
      for (let i = 0; i < timesteps.length; i++) {
        check();
        const ts = performance.now();
        const step = timesteps[i];
        const modelInput = scheduler.scaleModelInput(guided ? duplicateBatch(latents) : latents, step);
        const noise = await this.predictNoise(unet, modelInput, step, hiddenStates, seq, guided ? batch * 2 : batch, dims, timestepCond, signal);
        const noisePred = guided ? applyGuidance(noise, o.guidance_scale) : noise;
        latents = scheduler.step(noisePred, step, latents, { generator, eta: o.eta }).prevSample;
        stepMs.push(performance.now() - ts);
        run.onStep?.({ step: i + 1, totalSteps: timesteps.length, timestep: step, elapsedMs: performance.now() - t, latents: { data: latents, dims } });
      }
    } finally {
      await this.components.release("unet");
    }
    const denoiseMs = performance.now() - t;
    check();

    // 5. Decode and post-process (the stage every family shares).
    return finishGeneration({
      components: this.components,
      vaeDecoder: this.contracts.vaeDecoder,
      vae: this.config.vae,
      vaeSlicing: this.runtime.vaeSlicing === true,
      latents: { data: latents, dims },
      prompts,
      negatives: guided ? negatives : undefined,
      imagesPerPrompt: perPrompt,
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

  /** One UNet evaluation; with attention slicing the guided batch runs as two half batches. */
  private async predictNoise(
    unet: ModelSession,
    sample: Float32Array,
    step: number,
    hiddenStates: Float32Array,
    seq: number,
    batch: number,
    dims: Latents["dims"],
    timestepCond: Float32Array | undefined,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const c = this.contracts.unet;
    const [, ch, h, w] = dims;
    const perSample = ch * h * w;
    const perHidden = hiddenStates.length / batch;
    const parts = this.runtime.attentionSlicing && batch > 1 ? 2 : 1;
    const out = new Float32Array(batch * perSample);
    const per = Math.ceil(batch / parts);
    for (let start = 0; start < batch; start += per) {
      const n = Math.min(per, batch - start);
      const feeds = {
        sample: floatTensor(c.sampleType, sample.subarray(start * perSample, (start + n) * perSample), [n, ch, h, w]),
        timestep: timestepTensor(c, step, n),
        encoder_hidden_states: floatTensor(
          c.hiddenType,
          hiddenStates.subarray(start * perHidden, (start + n) * perHidden),
          [n, seq, perHidden / seq],
        ),
        ...(timestepCond && c.timestepCond
          ? { timestep_cond: floatTensor(c.timestepCond.type, repeatEach(timestepCond, timestepCond.length, n), [n, timestepCond.length]) }
          : {}),
      };
      const result = await unet.run(feeds, signal);
      out.set(toFloat32(result[c.output]), start * perSample);
    }
    return out;
  }
}

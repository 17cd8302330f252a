/**
 * Text-to-image for the SD 1.x/2.x family (StableDiffusionPipeline and its ONNX exports), on ONNX
 * Runtime. `generate` reads as the algorithm: check, encode, prepare latents, denoise, decode.
 */
import path from "node:path";
import { CancelledError, InvalidInputError, ModelLoadError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { readModelIndex, readOptionalJson, readJson, type ModelIndex } from "../models/model-index.js";
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
import type { ExecutionProviderName } from "../onnx/providers.js";
import type { RuntimeOptions } from "../onnx/runtime-options.js";
import type { ModelSession } from "../onnx/session.js";
import { createScheduler } from "../schedulers/index.js";
import type { Scheduler } from "../schedulers/scheduler.js";
import { CLIPTokenizer } from "../tokenizers/clip.js";
import { toRgb8, toUnitHWC, type RgbImage } from "../images/postprocess.js";
import { decodeLatents, type DecodedImages, type VaeScaling } from "./decode.js";
import { encodeTokens, tokenize, type PromptEmbeddings } from "./encode-prompt.js";
import { TorchGenerator, randomSeed } from "./generator.js";
import { applyGuidance, doesGuidance } from "./guidance.js";
import { duplicateBatch, latentShape, prepareLatents, repeatEach, type Latents } from "./latents.js";
import { parseGenerateOptions, rejectUnusedFields, type GenerateOptions, type GenerateOptionsInput } from "./options.js";
import type { PipelineDescription, TextToImagePipeline } from "./pipeline.js";

/**
 * diffusers' legacy ONNX export writes no vae_decoder/config.json; its OnnxStableDiffusionPipeline
 * hard-codes SD 1.x's VAE scaling factor. Used only when the folder has no config saying otherwise.
 */
const LEGACY_VAE_SCALING_FACTOR = 0.18215;
/** SD 1.x UNet sample_size (64 latents = 512 px), the default size of legacy exports without a unet config. */
const LEGACY_UNET_SAMPLE_SIZE = 64;

export interface StepProgress {
  /** 1-based index of the step just finished. */
  step: number;
  totalSteps: number;
  timestep: number;
  elapsedMs: number;
}

export interface RunOptions {
  /** Caller-given initial noise, [B*num_images_per_prompt, 4, h, w] (before init_noise_sigma), instead of the seed's. */
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

interface FamilyConfig {
  schedulerConfig: Record<string, unknown>;
  sampleSize: number;
  latentChannels: number;
  vaeScaleFactor: number;
  /** Latent sizes must be multiples of this (2^number of UNet down-samplings). */
  latentMultiple: number;
  vae: VaeScaling;
  /** Execution provider the UNet opened on, and why the precision is what it is. */
  provider: ExecutionProviderName;
  dtypeReason: string;
}

export class StableDiffusionPipeline implements TextToImagePipeline {
  private constructor(
    readonly index: ModelIndex,
    readonly tokenizer: CLIPTokenizer,
    private readonly components: Components,
    private readonly contracts: { textEncoder: TextEncoderContract; unet: UNetContract; vaeDecoder: VaeDecoderContract },
    readonly config: FamilyConfig,
    readonly runtime: RuntimeOptions,
    readonly logger: Logger,
  ) {}

  get dir(): string {
    return this.index.dir;
  }

  /** Components whose sessions are open now (none between calls with CPU offload). */
  loadedComponents(): string[] {
    return this.components.loaded();
  }

  /** Execution provider and precision of the denoiser, as opened. */
  describe(): PipelineDescription {
    return {
      family: this.index.family,
      className: this.index.className,
      provider: this.config.provider,
      dtype: this.contracts.unet.sampleType,
      dtypeReason: this.config.dtypeReason,
      contracts: this.contracts,
    };
  }

  /** Open a model folder: read its configs, open each component, recognise each tensor contract. */
  static async load(dir: string, runtime: RuntimeOptions = {}): Promise<StableDiffusionPipeline> {
    const logger = runtime.logger ?? consoleLogger;
    const index = await readModelIndex(dir);
    if (index.family !== "sd") {
      throw new ModelLoadError(`${index.className} (family ${index.family}) is not supported by this pipeline; it runs the SD 1.x/2.x family`);
    }
    const root = index.dir;
    const schedulerConfig = await readJson(path.join(root, "scheduler", "scheduler_config.json"), "scheduler");
    const unetConfig = (await readOptionalJson(path.join(root, "unet", "config.json"), "unet")) ?? {};
    const vaeConfig =
      (await readOptionalJson(path.join(root, "vae_decoder", "config.json"), "vae_decoder")) ??
      (await readOptionalJson(path.join(root, "vae", "config.json"), "vae")) ??
      {};
    const tokenizer = await CLIPTokenizer.fromFolder(path.join(root, "tokenizer"));
    createScheduler(schedulerConfig, undefined, { logger: (m: string) => logger.warn(`scheduler_config.json: ${m}`) });

    const components = new Components(root, { ...runtime, logger });
    const open = async <T>(name: string, read: (s: ModelSession) => T): Promise<T> => {
      const s = await components.acquire(name);
      try {
        return read(s);
      } finally {
        await components.release(name);
      }
    };
    try {
      const textEncoder = await open("text_encoder", textEncoderContract);
      let provider: ExecutionProviderName = "cpu";
      const unet = await open("unet", (s) => {
        provider = s.provider;
        return unetContract(s);
      });
      const vaeDecoder = await open("vae_decoder", vaeDecoderContract);
      // One precision per folder here (the UNet's); fp16/fp32 variants side by side are chosen between upstream.
      const requested = runtime.dtype ?? "auto";
      const choice = resolveDtype(requested, provider, [unet.sampleType]);
      const fellBack = requested !== "auto" && requested !== "native" && requested !== choice.dtype;
      (fellBack ? logger.warn : logger.info).call(logger, `dtype: ${choice.reason}`);
      const blockOut = Array.isArray(vaeConfig.block_out_channels) ? vaeConfig.block_out_channels.length : 4;
      // Without a unet config (legacy exports) the down-sampling depth is unknown: only multiples of 8 are checked.
      const unetBlocks = Array.isArray(unetConfig.block_out_channels) ? unetConfig.block_out_channels.length : 1;
      const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);
      const config: FamilyConfig = {
        schedulerConfig,
        sampleSize: num(unetConfig.sample_size, LEGACY_UNET_SAMPLE_SIZE),
        latentChannels: num(unetConfig.in_channels, 4),
        vaeScaleFactor: 2 ** (blockOut - 1),
        latentMultiple: 2 ** (unetBlocks - 1),
        vae: {
          scalingFactor: num(vaeConfig.scaling_factor, LEGACY_VAE_SCALING_FACTOR),
          shiftFactor: num(vaeConfig.shift_factor, 0),
        },
        provider,
        dtypeReason: choice.reason,
      };
      return new StableDiffusionPipeline(index, tokenizer, components, { textEncoder, unet, vaeDecoder }, config, runtime, logger);
    } catch (err) {
      await components.dispose();
      throw err;
    }
  }

  /** Check a request against the model: sizes, scheduler, batch. Returns the options with defaults filled in. */
  resolve(input: GenerateOptionsInput | GenerateOptions): GenerateOptions & { width: number; height: number } {
    const o = parseGenerateOptions(input);
    rejectUnusedFields(o, [], "SD 1.x/2.x");
    const defaultSize = this.config.sampleSize * this.config.vaeScaleFactor;
    const width = o.width ?? defaultSize;
    const height = o.height ?? defaultSize;
    const multiple = this.config.vaeScaleFactor * this.config.latentMultiple;
    for (const [field, v] of [["width", width], ["height", height]] as const) {
      if (v % multiple !== 0) {
        throw new InvalidInputError(field, `${v} does not fit this model's UNet`, `a multiple of ${multiple}`);
      }
    }
    const prompts = Array.isArray(o.prompt) ? o.prompt : [o.prompt];
    if (Array.isArray(o.negative_prompt) && o.negative_prompt.length !== prompts.length) {
      throw new InvalidInputError(
        "negative_prompt",
        `has ${o.negative_prompt.length} entries for ${prompts.length} prompts`,
        `one string, or an array of ${prompts.length}`,
      );
    }
    if (o.scheduler !== undefined) createScheduler(this.config.schedulerConfig, o.scheduler);
    return { ...o, width, height };
  }

  async generate(input: GenerateOptionsInput | GenerateOptions, run: RunOptions = {}): Promise<GenerateResult> {
    const t0 = performance.now();
    const runMs0 = this.components.totalRunMs();
    const signal = run.signal;
    const check = () => {
      if (signal?.aborted) throw new CancelledError(signal.reason);
    };

    // 1. Check inputs.
    const o = this.resolve(input);
    const prompts = Array.isArray(o.prompt) ? o.prompt : [o.prompt];
    const negatives = prompts.map((_, i) =>
      Array.isArray(o.negative_prompt) ? o.negative_prompt[i] : (o.negative_prompt ?? ""),
    );
    const guided = doesGuidance(o.guidance_scale);
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

    // 3. Timesteps and initial latents.
    scheduler.setTimesteps(o.num_inference_steps);
    const dims = latentShape(batch, this.config.latentChannels, o.height, o.width, this.config.vaeScaleFactor);
    const latents0 = prepareLatents(dims, scheduler.initNoiseSigma, generator, run.latents);
    const initialNoise: Latents = { data: run.latents ?? latents0.data.map((v) => v / scheduler.initNoiseSigma), dims };

    // 4. Denoise.
    t = performance.now();
    const stepMs: number[] = [];
    let latents = latents0.data;
    const unet = await this.components.acquire("unet");
    try {
      const timesteps = scheduler.timesteps;
      for (let i = 0; i < timesteps.length; i++) {
        check();
        const ts = performance.now();
        const step = timesteps[i];
        const modelInput = scheduler.scaleModelInput(guided ? duplicateBatch(latents) : latents, step);
        const noise = await this.predictNoise(unet, modelInput, step, hiddenStates, seq, guided ? batch * 2 : batch, dims, signal);
        const noisePred = guided ? applyGuidance(noise, o.guidance_scale) : noise;
        latents = scheduler.step(noisePred, step, latents, { generator, eta: o.eta }).prevSample;
        stepMs.push(performance.now() - ts);
        run.onStep?.({ step: i + 1, totalSteps: timesteps.length, timestep: step, elapsedMs: performance.now() - t });
      }
    } finally {
      await this.components.release("unet");
    }
    const denoiseMs = performance.now() - t;
    check();

    // 5. Decode and post-process.
    t = performance.now();
    const finalLatents: Latents = { data: latents, dims };
    const vae = await this.components.acquire("vae_decoder");
    let decoded: DecodedImages;
    try {
      decoded = await decodeLatents(vae, this.contracts.vaeDecoder, finalLatents, this.config.vae, {
        slicing: this.runtime.vaeSlicing === true,
        signal,
      });
    } finally {
      await this.components.release("vae_decoder");
    }
    const decodeMs = performance.now() - t;
    t = performance.now();
    const [, , H, W] = decoded.dims;
    const unit = toUnitHWC(decoded.data, decoded.dims);
    const images: GeneratedImage[] = unit.map((img, i) => ({
      ...toRgb8(img, W, H),
      prompt: prompts[Math.floor(i / perPrompt)],
      negativePrompt: guided ? negatives[Math.floor(i / perPrompt)] : undefined,
      index: i,
    }));
    const postprocessMs = performance.now() - t;

    return {
      images,
      seed,
      scheduler: scheduler.className,
      timesteps: [...scheduler.timesteps],
      options: o,
      timings: {
        tokenizeMs,
        textEncoderMs,
        denoiseMs,
        stepMs,
        decodeMs,
        postprocessMs,
        totalMs: performance.now() - t0,
        sessionRunMs: this.components.totalRunMs() - runMs0,
      },
      ...(run.returnTensors ? { tensors: { initialNoise, finalLatents, images: unit, decoded } } : {}),
    };
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
      };
      const result = await unet.run(feeds, signal);
      out.set(toFloat32(result[c.output]), start * perSample);
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.components.dispose();
  }
}

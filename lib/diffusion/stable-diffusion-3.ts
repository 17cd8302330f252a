/**
 * Text-to-image and image-to-image for Stable Diffusion 3 and 3.5 (StableDiffusion3Pipeline,
 * StableDiffusion3Img2ImgPipeline and their optimum ONNX exports), on ONNX Runtime. `generate` reads
 * as diffusers' pipelines: check, encode with CLIP-L, CLIP-G and T5, prepare the 16-channel latents
 * (from noise, or from the init image), denoise with the rectified-flow Euler scheduler, decode
 * with the VAE's scaling and shift factors.
 */
import path from "node:path";
import { throwIfCancelled, InvalidInputError, ModelLoadError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { readJson, readModelIndex, readOptionalJson, type ModelIndex } from "../models/model-index.js";
import { Components } from "../onnx/components.js";
import { floatTensor, toFloat32, vaeDecoderContract, type VaeDecoderContract } from "../onnx/contracts.js";
import {
  sd3ClipContract,
  sd3TimestepTensor,
  sd3TransformerContract,
  t5Contract,
  type Sd3ClipContract,
  type Sd3TransformerContract,
  type T5Contract,
} from "../onnx/contracts-sd3.js";
import { resolveDtype } from "../onnx/dtype.js";
import type { ExecutionProviderName } from "../onnx/providers.js";
import type { RuntimeOptions } from "../onnx/runtime-options.js";
import type { ModelSession } from "../onnx/session.js";
import { createScheduler } from "../schedulers/index.js";
import { CLIPTokenizer } from "../tokenizers/clip.js";
import { T5Tokenizer, T5_DEFAULT_MAX_LENGTH } from "../tokenizers/t5.js";
import type { VaeScaling } from "./decode.js";
import { denoise } from "./denoise.js";
import { encodePromptSd3, type Sd3Encoders, type Sd3PromptEmbeddings } from "./encode-prompt-sd3.js";
import { TorchGenerator, randomSeed } from "./generator.js";
import { doesGuidance } from "./guidance.js";
import { latentShape, repeatEach, type Latents } from "./latents.js";
import { parseGenerateOptions, rejectUnusedFields, type GenerateOptions, type GenerateOptionsInput } from "./options.js";
import type { TextToImagePipeline } from "./pipeline.js";
import { perPrompt, promptList } from "./resolve-request.js";
import { withComponent } from "./with-component.js";
import { PipelineBase } from "./pipeline-base.js";
import { finishGeneration } from "./finish-generation.js";
import { readRequestImage, startLatents } from "./encode-image.js";
import { requireImageForStrength, sd3Img2ImgSchedule } from "./img2img.js";
import type { InitImage } from "../images/init-image.js";
import type { GenerateResult, RunOptions } from "./stable-diffusion.js";

/** The request fields SD3 uses beyond SD 1.x's. */
const SD3_FIELDS = ["prompt_2", "negative_prompt_2", "prompt_3", "negative_prompt_3", "max_sequence_length", "image", "strength"] as const;
/** StableDiffusion3Img2ImgPipeline's default strength. */
export const SD3_DEFAULT_STRENGTH = 0.6;

/** StableDiffusion3Pipeline.__call__ defaults that differ from the shared schema's (50 steps, 7.5). */
export const SD3_DEFAULTS = { num_inference_steps: 28, guidance_scale: 7.0 } as const;

/** The schedulers SD3's velocity-predicting transformer can be stepped with. */
const FLOW_MATCH_SCHEDULERS = ["FlowMatchEulerDiscreteScheduler", "flow_match_euler", "FlowMatchEuler"];

interface Sd3Contracts {
  textEncoder: Sd3ClipContract;
  textEncoder2: Sd3ClipContract;
  textEncoder3?: T5Contract;
  transformer: Sd3TransformerContract;
  vaeDecoder: VaeDecoderContract;
}

export interface Sd3Config {
  schedulerConfig: Record<string, unknown>;
  transformerConfig: Record<string, unknown>;
  /** transformer sample_size (128 latents = 1024 px). */
  sampleSize: number;
  latentChannels: number;
  patchSize: number;
  /** Largest latent side / patch size the position table covers. */
  posEmbedMaxSize: number;
  jointAttentionDim: number;
  vaeScaleFactor: number;
  vae: VaeScaling;
  provider: ExecutionProviderName;
  dtypeReason: string;
}

const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);

/** The component is in the folder: model_index.json names a class for it. */
function present(index: ModelIndex, name: string): boolean {
  return index.components[name]?.[0] != null;
}

export class StableDiffusion3Pipeline extends PipelineBase implements TextToImagePipeline {
  private constructor(
    readonly index: ModelIndex,
    readonly tokenizers: { clipL: CLIPTokenizer; clipG: CLIPTokenizer; t5?: T5Tokenizer },
    protected readonly components: Components,
    protected readonly contracts: Sd3Contracts,
    readonly config: Sd3Config,
    readonly runtime: RuntimeOptions,
    readonly logger: Logger,
  ) {
    super();
  }

  /** Whether the folder has T5 (text_encoder_3); without it its embeddings are zeros. */
  get hasT5(): boolean {
    return this.contracts.textEncoder3 !== undefined;
  }

  protected get denoiserDtype(): string {
    return this.contracts.transformer.sampleType;
  }

  /** Open an SD3 model folder: read its configs, open each component, recognise each tensor contract. */
  static async load(dir: string, runtime: RuntimeOptions = {}): Promise<StableDiffusion3Pipeline> {
    const logger = runtime.logger ?? consoleLogger;
    const index = await readModelIndex(dir);
    if (index.family !== "sd3") {
      throw new ModelLoadError(`${index.className} (family ${index.family}) is not supported by this pipeline; it runs Stable Diffusion 3`);
    }
    const root = index.dir;
    const schedulerConfig = await readJson(path.join(root, "scheduler", "scheduler_config.json"), "scheduler");
    const transformerConfig = (await readOptionalJson(path.join(root, "transformer", "config.json"), "transformer")) ?? {};
    const vaeConfig = (await readOptionalJson(path.join(root, "vae_decoder", "config.json"), "vae_decoder")) ?? {};
    const withT5 = present(index, "text_encoder_3");
    const tokenizers = {
      clipL: await CLIPTokenizer.fromFolder(path.join(root, "tokenizer")),
      clipG: await CLIPTokenizer.fromFolder(path.join(root, "tokenizer_2")),
      ...(withT5 ? { t5: await T5Tokenizer.fromFolder(path.join(root, "tokenizer_3")) } : {}),
    };
    const scheduler = createScheduler(schedulerConfig, undefined, { logger: (m: string) => logger.warn(`scheduler_config.json: ${m}`) });
    if (!FLOW_MATCH_SCHEDULERS.includes(scheduler.className)) {
      throw new ModelLoadError(`scheduler_config.json names ${scheduler.className}; SD3 needs FlowMatchEulerDiscreteScheduler`, "scheduler");
    }

    const components = new Components(root, { ...runtime, logger });
    try {
      const textEncoder = await withComponent(components, "text_encoder", sd3ClipContract);
      const textEncoder2 = await withComponent(components, "text_encoder_2", sd3ClipContract);
      const textEncoder3 = withT5 ? await withComponent(components, "text_encoder_3", t5Contract) : undefined;
      let provider: ExecutionProviderName = "cpu";
      const transformer = await withComponent(components, "transformer", (s) => {
        provider = s.provider;
        return sd3TransformerContract(s);
      });
      const vaeDecoder = await withComponent(components, "vae_decoder", vaeDecoderContract);
      const requested = runtime.dtype ?? "auto";
      const choice = resolveDtype(requested, provider, [transformer.sampleType]);
      const fellBack = requested !== "auto" && requested !== "native" && requested !== choice.dtype;
      (fellBack ? logger.warn : logger.info).call(logger, `dtype: ${choice.reason}`);
      if (!withT5) logger.info("no text_encoder_3 (T5) in this folder: its embeddings are zeros, as diffusers runs SD3 without T5");
      const vaeBlocks = Array.isArray(vaeConfig.block_out_channels) ? vaeConfig.block_out_channels.length : 4;
      const config: Sd3Config = {
        schedulerConfig,
        transformerConfig,
        sampleSize: num(transformerConfig.sample_size, 128),
        latentChannels: num(transformerConfig.in_channels, 16),
        patchSize: num(transformerConfig.patch_size, 2),
        posEmbedMaxSize: num(transformerConfig.pos_embed_max_size, 96),
        jointAttentionDim: num(transformerConfig.joint_attention_dim, 4096),
        vaeScaleFactor: 2 ** (vaeBlocks - 1),
        // SD3's VAE values, for a folder whose vae_decoder/config.json lacks them
        vae: { scalingFactor: num(vaeConfig.scaling_factor, 1.5305), shiftFactor: num(vaeConfig.shift_factor, 0.0609) },
        provider,
        dtypeReason: choice.reason,
      };
      return new StableDiffusion3Pipeline(
        index,
        tokenizers,
        components,
        { textEncoder, textEncoder2, ...(textEncoder3 ? { textEncoder3 } : {}), transformer, vaeDecoder },
        config,
        runtime,
        logger,
      );
    } catch (err) {
      await components.dispose();
      throw err;
    }
  }

  /** Check a request against the model: sizes, scheduler, per-prompt fields. Returns it with SD3's defaults filled in. */
  resolve(input: GenerateOptionsInput | GenerateOptions): GenerateOptions & { width: number; height: number } {
    const given = Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined));
    const o = parseGenerateOptions({ ...SD3_DEFAULTS, ...given });
    rejectUnusedFields(o, SD3_FIELDS, "SD3");
    requireImageForStrength(o);
    const c = this.config;
    const multiple = c.vaeScaleFactor * c.patchSize;
    const largest = c.posEmbedMaxSize * multiple;
    const width = o.width ?? c.sampleSize * c.vaeScaleFactor;
    const height = o.height ?? c.sampleSize * c.vaeScaleFactor;
    for (const [field, v] of [["width", width], ["height", height]] as const) {
      if (v % multiple !== 0 || v > largest) {
        throw new InvalidInputError(field, `${v} does not fit this model's transformer`, `a multiple of ${multiple} up to ${largest}`);
      }
    }
    const count = promptList(o.prompt).length;
    for (const field of ["negative_prompt", "prompt_2", "negative_prompt_2", "prompt_3", "negative_prompt_3"] as const) perPrompt(field, o[field], count);
    if (o.scheduler !== undefined) {
      const s = createScheduler(c.schedulerConfig, o.scheduler);
      if (!FLOW_MATCH_SCHEDULERS.includes(s.className)) {
        throw new InvalidInputError("scheduler", `${o.scheduler} cannot step SD3's flow-matching (velocity) predictions`, FLOW_MATCH_SCHEDULERS.join(", "));
      }
    }
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
      const sizeMultiple = this.config.vaeScaleFactor * this.config.patchSize;
      ({ options: o, image: init, ms: imageEncodeMs } = await readRequestImage(input, o, { sizeMultiple, resolve: (i) => this.resolve(i), components: this.components }));
    }
    const prompts = promptList(o.prompt);
    const guided = doesGuidance(o.guidance_scale);
    const n = o.num_images_per_prompt;
    const batch = prompts.length * n;
    const seed = o.seed ?? randomSeed();
    const generator = new TorchGenerator(seed);
    const scheduler = createScheduler(this.config.schedulerConfig, o.scheduler);
    const maxSequenceLength = o.max_sequence_length ?? T5_DEFAULT_MAX_LENGTH;
    check();

    // 2. Encode, as diffusers' encode_prompt: prompt_2 || prompt and prompt_3 || prompt; for the
    //    negative branch negative_prompt || "", negative_prompt_2/3 || negative_prompt.
    let t = performance.now();
    const list = (field: "prompt_2" | "prompt_3" | "negative_prompt" | "negative_prompt_2" | "negative_prompt_3", value: string | string[] | undefined) =>
      perPrompt(field, value || undefined, prompts.length);
    const encoders = this.encoders();
    const positive = await encodePromptSd3(
      this.components,
      encoders,
      { clipL: prompts, clipG: list("prompt_2", o.prompt_2) ?? prompts, t5: list("prompt_3", o.prompt_3) ?? prompts },
      maxSequenceLength,
      signal,
    );
    let negatives: string[] | undefined;
    let negative: Sd3PromptEmbeddings | undefined;
    if (guided) {
      negatives = list("negative_prompt", o.negative_prompt) ?? prompts.map(() => "");
      const texts = { clipL: negatives, clipG: list("negative_prompt_2", o.negative_prompt_2) ?? negatives, t5: list("negative_prompt_3", o.negative_prompt_3) ?? negatives };
      negative = await encodePromptSd3(this.components, encoders, texts, maxSequenceLength, signal);
    }
    // [negatives..., prompts...], each repeated num_images_per_prompt times.
    const rows = (pick: (e: Sd3PromptEmbeddings) => Float32Array, size: number) =>
      repeatEach(negative ? concat(pick(negative), pick(positive)) : pick(positive), size, n);
    const hiddenStates = rows((e) => e.hidden, positive.seq * positive.dim);
    const pooled = rows((e) => e.pooled, positive.pooledDim);
    const tokenizeMs = positive.tokenizeMs + (negative?.tokenizeMs ?? 0);
    const textEncoderMs = performance.now() - t - tokenizeMs;
    check();

    // 3. Timesteps and initial latents: randn, as prepare_latents (FlowMatch's init sigma is 1), or
    //    (image-to-image) the encoded image, (z - shift_factor) * scaling_factor, moved along the
    //    flow to the first sigma kept: sigma noise + (1 - sigma) z (scale_noise). Generator order as
    //    diffusers: the latent sample, then the noise.
    scheduler.setTimesteps(o.num_inference_steps);
    const dims = latentShape(batch, this.config.latentChannels, o.height, o.width, this.config.vaeScaleFactor);
    const schedule = () => sd3Img2ImgSchedule(scheduler, o.num_inference_steps, o.strength ?? SD3_DEFAULT_STRENGTH);
    const start = await startLatents({ components: this.components, image: init, schedule, scheduler, vae: this.config.vae, dims, generator, givenNoise: run.latents, signal });
    const { timesteps, latents: latents0, noise: initialNoise } = start;
    imageEncodeMs += start.encodeMs;
    check();

    // 4. Denoise.
    const transformerBatch = guided ? 2 * batch : batch;
    t = performance.now();
    const { latents, stepMs } = await withComponent(this.components, "transformer", (transformer) =>
      denoise({
        scheduler,
        latents: latents0.data,
        dims,
        timesteps,
        guidanceScale: o.guidance_scale,
        generator,
        eta: o.eta,
        predict: (sample, step) => this.predictVelocity(transformer, sample, step, { hiddenStates, seq: positive.seq, pooled }, transformerBatch, dims, signal),
        onStep: run.onStep,
        signal,
      }),
    );
    const denoiseMs = performance.now() - t;
    check();

    // 5. Decode (latents / scaling_factor + shift_factor) and post-process.
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

  private encoders(): Sd3Encoders {
    const { tokenizers: tk, contracts: c } = this;
    return {
      clip: [
        { name: "text_encoder", tokenizer: tk.clipL, contract: c.textEncoder },
        { name: "text_encoder_2", tokenizer: tk.clipG, contract: c.textEncoder2 },
      ],
      ...(tk.t5 && c.textEncoder3 ? { t5: { tokenizer: tk.t5, contract: c.textEncoder3 } } : {}),
      jointDim: this.config.jointAttentionDim,
    };
  }

  /** One transformer evaluation; with attention slicing the guided batch runs as two half batches. */
  private async predictVelocity(
    transformer: ModelSession,
    sample: Float32Array,
    step: number,
    cond: { hiddenStates: Float32Array; seq: number; pooled: Float32Array },
    batch: number,
    dims: Latents["dims"],
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const c = this.contracts.transformer;
    const [, ch, h, w] = dims;
    const per = (x: Float32Array) => x.length / batch;
    const rowsOf = (x: Float32Array, start: number, count: number) => x.subarray(start * per(x), (start + count) * per(x));
    const parts = this.runtime.attentionSlicing && batch > 1 ? 2 : 1;
    const out = new Float32Array(sample.length);
    const size = Math.ceil(batch / parts);
    for (let start = 0; start < batch; start += size) {
      const k = Math.min(size, batch - start);
      const feeds = {
        hidden_states: floatTensor(c.sampleType, rowsOf(sample, start, k), [k, ch, h, w]),
        encoder_hidden_states: floatTensor(c.hiddenType, rowsOf(cond.hiddenStates, start, k), [k, cond.seq, per(cond.hiddenStates) / cond.seq]),
        pooled_projections: floatTensor(c.pooledType, rowsOf(cond.pooled, start, k), [k, per(cond.pooled)]),
        timestep: sd3TimestepTensor(c, step, k),
      };
      const result = await transformer.run(feeds, signal);
      out.set(toFloat32(result[c.output]), start * per(sample));
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

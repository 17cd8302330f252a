/**
 * `buildSdxlModelFolder`: a Stable Diffusion XL ONNX model folder with random, deterministic weights,
 * in the layout and tensor contracts of optimum's SDXL export (DESIGN.md section 3):
 *
 *   model_index.json (StableDiffusionXLPipeline, force_zeros_for_empty_prompt), scheduler/ (SDXL's
 *   EulerDiscreteScheduler config), tokenizer/ (pads with <|endoftext|>), tokenizer_2/ (pads with "!"),
 *   text_encoder/ (CLIPTextModel: last_hidden_state, pooler_output, hidden_states.0..N),
 *   text_encoder_2/ (CLIPTextModelWithProjection: text_embeds, last_hidden_state, hidden_states.0..N),
 *   unet/ (inputs sample, timestep, encoder_hidden_states, text_embeds, time_ids), vae_decoder/, vae_encoder/.
 *
 * The input_ids / timestep / VAE encoder contract variants are those of the SD 1.x builder.
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../../errors.js";
import { buildClipTextEncoder, clipTextConfigJson, type ClipTextConfig } from "../clip-text-encoder.js";
import { INPUT_IDS_TYPES, TIMESTEP_CONTRACTS, VAE_ENCODER_OUTPUTS, axisNames, type TensorContract } from "../contract.js";
import { checkOptionKeys, json, oneOf, writeComponent, writeModelFolder, type PredictionType } from "../folder-writer.js";
import type { GraphBuilder } from "../graph.js";
import type { ExternalDataOption } from "../model-writer.js";
import type { ClipTextSizes } from "../presets.js";
import { writeClipTokenizer, type TokenizerSource, type WrittenTokenizer } from "../tokenizer-files.js";
import { buildUNet, textEmbedsDim, unetConfigJson } from "../unet.js";
import { buildVaeDecoder, buildVaeEncoder, vaeConfigJson } from "../vae.js";
import { SDXL_PRESETS, SDXL_PRESET_NAMES, type SdxlPresetName, type SdxlSizes } from "./presets.js";

export interface BuildSdxlModelFolderOptions {
  /** Folder to create; its parent is created when missing. */
  outDir: string;
  /** Replace `outDir` when it exists (default false). */
  overwrite?: boolean;
  /** "tiny" (default, tests) or "sdxl" (SDXL 1.0 base sizes, ~13.9 GB in float32; UNet weights in external data). */
  preset?: SdxlPresetName;
  /** Explicit sizes, replacing the preset's per component. */
  sizes?: Partial<SdxlSizes>;
  /** Seed of the random weights (default 0). */
  seed?: number;
  inputIds?: TensorContract["inputIds"];
  timestep?: TensorContract["timestep"];
  vaeEncoderOutput?: TensorContract["vaeEncoderOutput"];
  /** The scheduler's prediction_type (default "epsilon"). */
  predictionType?: PredictionType;
  /** Both tokenizers' vocabulary (default "small"). */
  tokenizer?: TokenizerSource;
  /** model_index.json's force_zeros_for_empty_prompt (default true, as SDXL base). */
  forceZerosForEmptyPrompt?: boolean;
  externalData?: ExternalDataOption;
  externalThresholdBytes?: number;
}

export type SdxlComponentName = "text_encoder" | "text_encoder_2" | "unet" | "vae_decoder" | "vae_encoder";

export interface BuiltSdxlModelFolder {
  dir: string;
  preset: SdxlPresetName;
  seed: number;
  contract: TensorContract;
  sizes: SdxlSizes & { textEncoder: ClipTextConfig; textEncoder2: ClipTextConfig };
  tokenizer: WrittenTokenizer;
  components: { name: SdxlComponentName; files: string[]; externalData: boolean; bytes: number }[];
}

const KNOWN_OPTIONS = [
  "outDir", "overwrite", "preset", "sizes", "seed", "inputIds", "timestep", "vaeEncoderOutput", "predictionType",
  "tokenizer", "forceZerosForEmptyPrompt", "externalData", "externalThresholdBytes",
] as const;

/** model_index.json as optimum writes it for an SDXL base export. */
export function sdxlModelIndexJson(forceZerosForEmptyPrompt: boolean): Record<string, unknown> {
  return {
    _class_name: "StableDiffusionXLPipeline",
    _diffusers_version: "0.27.2",
    feature_extractor: [null, null],
    force_zeros_for_empty_prompt: forceZerosForEmptyPrompt,
    image_encoder: [null, null],
    scheduler: ["diffusers", "EulerDiscreteScheduler"],
    text_encoder: ["transformers", "CLIPTextModel"],
    text_encoder_2: ["transformers", "CLIPTextModelWithProjection"],
    tokenizer: ["transformers", "CLIPTokenizer"],
    tokenizer_2: ["transformers", "CLIPTokenizer"],
    unet: ["diffusers", "UNet2DConditionModel"],
    vae: ["diffusers", "AutoencoderKL"],
  };
}

/** SDXL 1.0 base's scheduler/scheduler_config.json (Euler, "leading" spacing, steps_offset 1). */
export function sdxlSchedulerConfigJson(predictionType: PredictionType): Record<string, unknown> {
  return {
    _class_name: "EulerDiscreteScheduler",
    _diffusers_version: "0.27.2",
    beta_end: 0.012,
    beta_schedule: "scaled_linear",
    beta_start: 0.00085,
    clip_sample: false,
    interpolation_type: "linear",
    num_train_timesteps: 1000,
    prediction_type: predictionType,
    sample_max_value: 1.0,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    timestep_spacing: "leading",
    trained_betas: null,
    use_karras_sigmas: false,
  };
}

/** writeClipTokenizer writes `<dir>/tokenizer`; SDXL's second one lives in `tokenizer_2`. */
async function writeTokenizerAs(dir: string, folder: string, source: TokenizerSource, padWithBang: boolean): Promise<WrittenTokenizer> {
  const scratch = await mkdtemp(path.join(dir, `.${folder}-`));
  try {
    const written = await writeClipTokenizer(scratch, source, padWithBang ? "sd2" : "sd1");
    await rename(path.join(scratch, "tokenizer"), path.join(dir, folder));
    return written;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function withVocab(sizes: ClipTextSizes, tokenizer: WrittenTokenizer, field: string): ClipTextConfig {
  const vocabSize = sizes.vocabSize === "tokenizer" ? tokenizer.vocabSize : sizes.vocabSize;
  if (tokenizer.vocabSize > vocabSize) {
    throw new InvalidInputError(`sizes.${field}.vocabSize`, `${vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`, `>= ${tokenizer.vocabSize}`);
  }
  return { ...sizes, vocabSize };
}

/** The UNet must take what the encoders give: concatenated hidden states and the projected pooled state. */
function checkSizes(sizes: SdxlSizes): void {
  const { textEncoder, textEncoder2, unet } = sizes;
  const context = textEncoder.hiddenSize + textEncoder2.hiddenSize;
  if (unet.crossAttentionDim !== context) {
    throw new InvalidInputError("sizes.unet.crossAttentionDim", `${unet.crossAttentionDim} differs from the two text encoders' hidden sizes together (${context})`, String(context));
  }
  const tt = unet.textTimeEmbedding;
  if (!tt) throw new InvalidInputError("sizes.unet.textTimeEmbedding", "is missing", 'an SDXL UNet (addition_embed_type "text_time")');
  if (textEmbedsDim(tt) !== textEncoder2.projectionDim) {
    throw new InvalidInputError(
      "sizes.unet.textTimeEmbedding.projectionInputDim",
      `${tt.projectionInputDim} leaves ${textEmbedsDim(tt)} for text_embeds, but text_encoder_2 projects to ${textEncoder2.projectionDim}`,
      String(textEncoder2.projectionDim + tt.timeIds * tt.timeEmbedDim),
    );
  }
}

export async function buildSdxlModelFolder(options: BuildSdxlModelFolderOptions): Promise<BuiltSdxlModelFolder> {
  checkOptionKeys(options, KNOWN_OPTIONS, "buildSdxlModelFolder");
  if (typeof options.outDir !== "string" || options.outDir === "") throw new InvalidInputError("outDir", "is required", "a folder path");
  const preset = oneOf("preset", options.preset, SDXL_PRESET_NAMES, "tiny");
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new InvalidInputError("seed", `got ${seed}`, "an integer");
  const contract: TensorContract = {
    inputIds: oneOf("inputIds", options.inputIds, INPUT_IDS_TYPES, "int64"),
    timestep: oneOf("timestep", options.timestep, TIMESTEP_CONTRACTS, "float-scalar"),
    vaeEncoderOutput: oneOf("vaeEncoderOutput", options.vaeEncoderOutput, VAE_ENCODER_OUTPUTS, "latent_parameters"),
  };
  const predictionType = oneOf<PredictionType>("predictionType", options.predictionType, ["epsilon", "v_prediction"], "epsilon");
  const sizes: SdxlSizes = { ...SDXL_PRESETS[preset], ...options.sizes };
  checkSizes(sizes);
  const source = options.tokenizer ?? "small";

  const { dir, result } = await writeModelFolder({ outDir: options.outDir, overwrite: options.overwrite, predictionType }, async (tmp) => {
    // writeModelFolder writes SD 1.x's model_index.json and scheduler config; SDXL's replace them.
    await writeFile(path.join(tmp, "model_index.json"), json(sdxlModelIndexJson(options.forceZerosForEmptyPrompt ?? true)));
    await writeFile(path.join(tmp, "scheduler", "scheduler_config.json"), json(sdxlSchedulerConfigJson(predictionType)));
    const tokenizer = await writeTokenizerAs(tmp, "tokenizer", source, false);
    await writeTokenizerAs(tmp, "tokenizer_2", source, true);
    const textEncoder = withVocab(sizes.textEncoder, tokenizer, "textEncoder");
    const textEncoder2 = withVocab(sizes.textEncoder2, tokenizer, "textEncoder2");
    const axes = axisNames(contract.timestep);
    const save = { externalData: options.externalData ?? "auto", externalThresholdBytes: options.externalThresholdBytes };

    // One component at a time: its graph is built, its weights generated tensor by tensor while written.
    const components: BuiltSdxlModelFolder["components"] = [];
    const component = async (name: SdxlComponentName, build: () => GraphBuilder, config: Record<string, unknown>) => {
      components.push({ ...(await writeComponent(tmp, name, build(), config, save)), name });
    };
    const ids = { bos: 0, eos: 2, pad: 1 }; // SDXL's text encoder configs keep transformers' legacy ids (argmax pooling)
    const clip = (config: ClipTextConfig, projection?: number) =>
      buildClipTextEncoder(config, { inputIds: contract.inputIds, axes, outputHiddenStates: true, seed, projection });
    await component("text_encoder", () => clip(textEncoder), clipTextConfigJson(textEncoder, ids));
    await component("text_encoder_2", () => clip(textEncoder2, textEncoder2.projectionDim), {
      ...clipTextConfigJson(textEncoder2, ids),
      architectures: ["CLIPTextModelWithProjection"],
    });
    await component("unet", () => buildUNet(sizes.unet, { timestep: contract.timestep, axes, seed, gpuOnlyOps: false }), unetConfigJson(sizes.unet));
    await component("vae_decoder", () => buildVaeDecoder(sizes.vae, { axes, seed }), vaeConfigJson(sizes.vae));
    await component("vae_encoder", () => buildVaeEncoder(sizes.vae, { axes, seed, output: contract.vaeEncoderOutput }), vaeConfigJson(sizes.vae));
    return { textEncoder, textEncoder2, tokenizer, components };
  });
  return {
    dir,
    preset,
    seed,
    contract,
    sizes: { ...sizes, textEncoder: result.textEncoder, textEncoder2: result.textEncoder2 },
    tokenizer: result.tokenizer,
    components: result.components,
  };
}

/**
 * `buildSd3ModelFolder`: a Stable Diffusion 3 / 3.5 ONNX model folder with random, deterministic
 * weights, in the layout and tensor contracts of optimum's SD3 export (DESIGN.md section 3):
 *
 *   model_index.json (StableDiffusion3Pipeline), scheduler/ (FlowMatchEulerDiscreteScheduler, shift 3),
 *   tokenizer/ (CLIP, pads with <|endoftext|>), tokenizer_2/ (CLIP, pads with "!"), tokenizer_3/ (T5
 *   tokenizer.json), text_encoder/ and text_encoder_2/ (CLIPTextModelWithProjection: text_embeds,
 *   last_hidden_state, hidden_states.0..N), text_encoder_3/ (T5EncoderModel: last_hidden_state),
 *   transformer/ (hidden_states, encoder_hidden_states, pooled_projections, timestep -> out_hidden_states),
 *   vae_decoder/ and vae_encoder/ (16 latent channels; config with scaling_factor and shift_factor).
 *
 * Without T5 (`sizes.textEncoder3: null`, the real-size presets' default) text_encoder_3 and
 * tokenizer_3 are absent and model_index.json lists them as [null, null], as a diffusers folder saved
 * with `text_encoder_3=None`.
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../../errors.js";
import { buildClipTextEncoder, clipTextConfigJson, type ClipTextConfig } from "../clip-text-encoder.js";
import { INPUT_IDS_TYPES, VAE_ENCODER_OUTPUTS, axisNames, type InputIdsType, type VaeEncoderOutput } from "../contract.js";
import { checkOptionKeys, json, oneOf, writeComponent, writeModelFolder } from "../folder-writer.js";
import type { GraphBuilder } from "../graph.js";
import type { ExternalDataOption } from "../model-writer.js";
import type { ClipTextSizes } from "../presets.js";
import { writeClipTokenizer, type TokenizerSource, type WrittenTokenizer } from "../tokenizer-files.js";
import { buildVaeDecoder, buildVaeEncoder, vaeConfigJson } from "../vae.js";
import { SD3_PRESETS, SD3_PRESET_NAMES, type Sd3PresetName, type Sd3Sizes, type Sd3VaeConfig } from "./presets.js";
import { buildT5Encoder, t5ConfigJson, type T5EncoderConfig } from "./t5-encoder.js";
import { writeT5Tokenizer } from "./t5-tokenizer-files.js";
import { buildSd3Transformer, sd3TransformerConfigJson } from "./transformer.js";

export interface BuildSd3ModelFolderOptions {
  /** Folder to create; its parent is created when missing. */
  outDir: string;
  /** Replace `outDir` when it exists (default false). */
  overwrite?: boolean;
  /** "tiny" (default, tests), "sd3-medium" or "sd35-medium" (real sizes, without T5 unless `sizes.textEncoder3` is given). */
  preset?: Sd3PresetName;
  /** Explicit sizes, replacing the preset's per component (`textEncoder3: null` leaves T5 out). */
  sizes?: Partial<Sd3Sizes>;
  /** Seed of the random weights (default 0). */
  seed?: number;
  /** input_ids type of the three text encoders (default int64, as optimum). */
  inputIds?: InputIdsType;
  vaeEncoderOutput?: VaeEncoderOutput;
  /** The scheduler's `shift` (default 3.0, SD3's). */
  shift?: number;
  /** The CLIP tokenizers' vocabulary (default "small"). */
  tokenizer?: TokenizerSource;
  externalData?: ExternalDataOption;
  externalThresholdBytes?: number;
}

export type Sd3ComponentName = "text_encoder" | "text_encoder_2" | "text_encoder_3" | "transformer" | "vae_decoder" | "vae_encoder";

export interface BuiltSd3ModelFolder {
  dir: string;
  preset: Sd3PresetName;
  seed: number;
  sizes: Sd3Sizes & { textEncoder: ClipTextConfig; textEncoder2: ClipTextConfig; textEncoder3: T5EncoderConfig | null };
  tokenizer: WrittenTokenizer;
  components: { name: Sd3ComponentName; files: string[]; externalData: boolean; bytes: number }[];
}

const KNOWN_OPTIONS = [
  "outDir", "overwrite", "preset", "sizes", "seed", "inputIds", "vaeEncoderOutput", "shift", "tokenizer",
  "externalData", "externalThresholdBytes",
] as const;

/** model_index.json as diffusers saves StableDiffusion3Pipeline (T5 entries null when it is left out). */
export function sd3ModelIndexJson(withT5: boolean): Record<string, unknown> {
  return {
    _class_name: "StableDiffusion3Pipeline",
    _diffusers_version: "0.29.2",
    scheduler: ["diffusers", "FlowMatchEulerDiscreteScheduler"],
    text_encoder: ["transformers", "CLIPTextModelWithProjection"],
    text_encoder_2: ["transformers", "CLIPTextModelWithProjection"],
    text_encoder_3: withT5 ? ["transformers", "T5EncoderModel"] : [null, null],
    tokenizer: ["transformers", "CLIPTokenizer"],
    tokenizer_2: ["transformers", "CLIPTokenizer"],
    tokenizer_3: withT5 ? ["transformers", "T5TokenizerFast"] : [null, null],
    transformer: ["diffusers", "SD3Transformer2DModel"],
    vae: ["diffusers", "AutoencoderKL"],
  };
}

/** SD3's scheduler/scheduler_config.json. */
export function sd3SchedulerConfigJson(shift: number): Record<string, unknown> {
  return { _class_name: "FlowMatchEulerDiscreteScheduler", _diffusers_version: "0.29.2", num_train_timesteps: 1000, shift };
}

/** The VAE config with SD3's keys: shift_factor and no quant convs. */
export function sd3VaeConfigJson(vae: Sd3VaeConfig): Record<string, unknown> {
  return {
    ...vaeConfigJson(vae),
    _diffusers_version: "0.29.2",
    shift_factor: vae.shiftFactor,
    use_post_quant_conv: vae.useQuantConv !== false,
    use_quant_conv: vae.useQuantConv !== false,
  };
}

/** writeClipTokenizer writes `<dir>/tokenizer`; the second CLIP tokenizer lives in `tokenizer_2`. */
async function writeClipTokenizerAs(dir: string, folder: string, source: TokenizerSource, padWithBang: boolean): Promise<WrittenTokenizer> {
  const scratch = await mkdtemp(path.join(dir, `.${folder}-`));
  try {
    const written = await writeClipTokenizer(scratch, source, padWithBang ? "sd2" : "sd1");
    await rename(path.join(scratch, "tokenizer"), path.join(dir, folder));
    return written;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function resolveVocab<T extends { vocabSize: number | "tokenizer" }>(sizes: T, tokenizerSize: number, field: string): T & { vocabSize: number } {
  const vocabSize = sizes.vocabSize === "tokenizer" ? tokenizerSize : sizes.vocabSize;
  if (tokenizerSize > vocabSize) {
    throw new InvalidInputError(`sizes.${field}.vocabSize`, `${vocabSize} is smaller than the tokenizer's ${tokenizerSize} tokens`, `>= ${tokenizerSize}`);
  }
  return { ...sizes, vocabSize };
}

/** The transformer must take what the encoders give (diffusers' encode_prompt). */
function checkSizes(s: Sd3Sizes): void {
  const t = s.transformer;
  const clipWidth = s.textEncoder.hiddenSize + s.textEncoder2.hiddenSize;
  if (clipWidth > t.jointAttentionDim) {
    throw new InvalidInputError("sizes.transformer.jointAttentionDim", `${t.jointAttentionDim} is narrower than the two CLIP hidden sizes together (${clipWidth})`, `>= ${clipWidth}`);
  }
  const pooled = s.textEncoder.projectionDim + s.textEncoder2.projectionDim;
  if (pooled !== t.pooledProjectionDim) {
    throw new InvalidInputError("sizes.transformer.pooledProjectionDim", `${t.pooledProjectionDim} differs from the two CLIP projections together (${pooled})`, String(pooled));
  }
  if (s.textEncoder3 && s.textEncoder3.dModel !== t.jointAttentionDim) {
    throw new InvalidInputError("sizes.textEncoder3.dModel", `${s.textEncoder3.dModel} differs from the transformer's jointAttentionDim ${t.jointAttentionDim}`, String(t.jointAttentionDim));
  }
  if (s.vae.latentChannels !== t.inChannels || t.outChannels !== t.inChannels) {
    throw new InvalidInputError("sizes.vae.latentChannels", `${s.vae.latentChannels} differs from the transformer's in/out channels ${t.inChannels}/${t.outChannels}`, String(t.inChannels));
  }
}

export async function buildSd3ModelFolder(options: BuildSd3ModelFolderOptions): Promise<BuiltSd3ModelFolder> {
  checkOptionKeys(options, KNOWN_OPTIONS, "buildSd3ModelFolder");
  if (typeof options.outDir !== "string" || options.outDir === "") throw new InvalidInputError("outDir", "is required", "a folder path");
  const preset = oneOf("preset", options.preset, SD3_PRESET_NAMES, "tiny");
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new InvalidInputError("seed", `got ${seed}`, "an integer");
  const inputIds = oneOf("inputIds", options.inputIds, INPUT_IDS_TYPES, "int64");
  const vaeEncoderOutput = oneOf("vaeEncoderOutput", options.vaeEncoderOutput, VAE_ENCODER_OUTPUTS, "latent_parameters");
  const shift = options.shift ?? 3.0;
  if (!(shift > 0) || !Number.isFinite(shift)) throw new InvalidInputError("shift", `got ${shift}`, "a positive number");
  const sizes: Sd3Sizes = { ...SD3_PRESETS[preset], ...options.sizes };
  checkSizes(sizes);
  const source = options.tokenizer ?? "small";
  const withT5 = sizes.textEncoder3 !== null;

  const { dir, result } = await writeModelFolder({ outDir: options.outDir, overwrite: options.overwrite, predictionType: "epsilon" }, async (tmp) => {
    // writeModelFolder writes SD 1.x's model_index.json and scheduler config; SD3's replace them.
    await writeFile(path.join(tmp, "model_index.json"), json(sd3ModelIndexJson(withT5)));
    await writeFile(path.join(tmp, "scheduler", "scheduler_config.json"), json(sd3SchedulerConfigJson(shift)));
    const tokenizer = await writeClipTokenizerAs(tmp, "tokenizer", source, false);
    await writeClipTokenizerAs(tmp, "tokenizer_2", source, true);
    const t5Tokenizer = withT5 ? await writeT5Tokenizer(tmp) : undefined;
    const textEncoder = resolveVocab<ClipTextSizes>(sizes.textEncoder, tokenizer.vocabSize, "textEncoder");
    const textEncoder2 = resolveVocab<ClipTextSizes>(sizes.textEncoder2, tokenizer.vocabSize, "textEncoder2");
    const textEncoder3 = sizes.textEncoder3 && t5Tokenizer ? resolveVocab(sizes.textEncoder3, t5Tokenizer.vocabSize, "textEncoder3") : null;
    const axes = axisNames("float-scalar");
    const save = { externalData: options.externalData ?? "auto", externalThresholdBytes: options.externalThresholdBytes };

    // One component at a time: its graph is built, its weights generated tensor by tensor while written.
    const components: BuiltSd3ModelFolder["components"] = [];
    const component = async (name: Sd3ComponentName, build: () => GraphBuilder, config: Record<string, unknown>) => {
      components.push({ ...(await writeComponent(tmp, name, build(), config, save)), name });
    };
    const ids = { bos: 0, eos: 2, pad: 1 }; // SD3's CLIP configs keep transformers' legacy ids (argmax pooling)
    const clip = (config: ClipTextConfig) => buildClipTextEncoder(config, { inputIds, axes, outputHiddenStates: true, seed, projection: config.projectionDim });
    const clipJson = (config: ClipTextConfig) => ({ ...clipTextConfigJson(config, ids), architectures: ["CLIPTextModelWithProjection"] });
    await component("text_encoder", () => clip(textEncoder), clipJson(textEncoder));
    await component("text_encoder_2", () => clip(textEncoder2), clipJson(textEncoder2));
    if (textEncoder3) {
      await component("text_encoder_3", () => buildT5Encoder(textEncoder3, { inputIds, axes, seed }), t5ConfigJson(textEncoder3));
    }
    await component("transformer", () => buildSd3Transformer(sizes.transformer, { seed }), sd3TransformerConfigJson(sizes.transformer));
    await component("vae_decoder", () => buildVaeDecoder(sizes.vae, { axes, seed }), sd3VaeConfigJson(sizes.vae));
    await component("vae_encoder", () => buildVaeEncoder(sizes.vae, { axes, seed, output: vaeEncoderOutput }), sd3VaeConfigJson(sizes.vae));
    return { textEncoder, textEncoder2, textEncoder3, tokenizer, components };
  });
  return {
    dir,
    preset,
    seed,
    sizes: { ...sizes, textEncoder: result.textEncoder, textEncoder2: result.textEncoder2, textEncoder3: result.textEncoder3 },
    tokenizer: result.tokenizer,
    components: result.components,
  };
}

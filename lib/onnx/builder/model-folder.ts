/**
 * `buildModelFolder`: writes a complete Stable Diffusion 1.x/2.x ONNX model folder with random,
 * deterministic weights, laid out as optimum's `optimum-cli export onnx` does (DESIGN.md section 3):
 *
 *   model_index.json, scheduler/scheduler_config.json, tokenizer/{vocab.json, merges.txt, ...},
 *   text_encoder/ unet/ vae_decoder/ vae_encoder/  each with model.onnx (+ model.onnx_data) + config.json
 *
 * The tensor contract is selectable (input_ids int64/int32; timestep rank-0 float / int64 [B] /
 * float [B]; latent_parameters / latent_sample) so loaders can be tested on every variant real
 * exports use; `gpuOnlyOps` writes a UNet with a CUDA-only contrib op. The folder is written under
 * a temporary name beside `outDir` and renamed into place.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../errors.js";
import { buildClipTextEncoder, clipTextConfigJson, type ClipTextConfig } from "./clip-text-encoder.js";
import {
  INPUT_IDS_TYPES,
  TIMESTEP_CONTRACTS,
  VAE_ENCODER_OUTPUTS,
  axisNames,
  type InputIdsType,
  type TensorContract,
  type TimestepContract,
  type VaeEncoderOutput,
} from "./contract.js";
import type { GraphBuilder } from "./graph.js";
import type { ExternalDataOption } from "./model-writer.js";
import { MODEL_FAMILIES, PRESETS, PRESET_DEFAULT_FAMILY, PRESET_NAMES, type ModelFamily, type ModelSizes, type PresetName } from "./presets.js";
import { writeClipTokenizer, type TokenizerSource } from "./tokenizer-files.js";
import { buildUNet, unetConfigJson } from "./unet.js";
import { buildVaeDecoder, buildVaeEncoder, vaeConfigJson } from "./vae.js";

export { PRESETS, type ModelFamily, type ModelSizes, type PresetName } from "./presets.js";
export type { InputIdsType, TimestepContract, VaeEncoderOutput, TensorContract } from "./contract.js";
export type { TokenizerSource } from "./tokenizer-files.js";

export type PredictionType = "epsilon" | "v_prediction";

export interface BuildModelFolderOptions {
  /** Folder to create; its parent is created when missing. */
  outDir: string;
  /** Replace `outDir` when it exists (default false: an existing folder is an error). */
  overwrite?: boolean;
  /** "sd1" (CLIP-L, conv projections) or "sd2" (OpenCLIP-H, linear projections); default: the preset's. */
  family?: ModelFamily;
  /** Size preset (default "tiny"); ignored for the components given in `sizes`. */
  preset?: PresetName;
  /** Explicit sizes, replacing the preset's per component. */
  sizes?: Partial<ModelSizes>;
  /** Seed of the random weights (default 0); the same seed gives byte-identical files. */
  seed?: number;
  /** text_encoder `input_ids` type (default "int64", as optimum). */
  inputIds?: InputIdsType;
  /** UNet `timestep` contract (default "float-scalar", optimum >= 1.24); also picks the axis names. */
  timestep?: TimestepContract;
  /** vae_encoder output (default "latent_parameters"). */
  vaeEncoderOutput?: VaeEncoderOutput;
  /** scheduler prediction_type (default "epsilon"; SD 2.1 768 px uses "v_prediction"). */
  predictionType?: PredictionType;
  /** Tokenizer vocabulary (default "small"). */
  tokenizer?: TokenizerSource;
  /** Also output `hidden_states.0..N` from the text encoder (SDXL-style exports). */
  textEncoderHiddenStates?: boolean;
  /** Write the UNet with com.microsoft GroupNorm, which the CPU provider cannot run. */
  gpuOnlyOps?: boolean;
  /** Per component: weights in model.onnx_data (true), inline (false), or external when over ~1.9 GB ("auto", default). */
  externalData?: ExternalDataOption;
  /** Byte total above which "auto" goes external (default 1.9e9). */
  externalThresholdBytes?: number;
}

export interface BuiltComponent {
  name: "text_encoder" | "unet" | "vae_decoder" | "vae_encoder";
  /** Files written in the component folder. */
  files: string[];
  externalData: boolean;
  bytes: number;
}

export interface BuiltModelFolder {
  dir: string;
  family: ModelFamily;
  preset: PresetName;
  seed: number;
  contract: TensorContract;
  sizes: ModelSizes & { textEncoder: ClipTextConfig };
  tokenizer: { vocabSize: number; bosTokenId: number; eosTokenId: number; padTokenId: number };
  components: BuiltComponent[];
}

const KNOWN_OPTIONS = new Set<string>([
  "outDir", "overwrite", "family", "preset", "sizes", "seed", "inputIds", "timestep", "vaeEncoderOutput",
  "predictionType", "tokenizer", "textEncoderHiddenStates", "gpuOnlyOps", "externalData", "externalThresholdBytes",
]);

function oneOf<T extends string>(field: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new InvalidInputError(field, `unknown value ${JSON.stringify(value)}`, allowed.join(", "));
  return value;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";

function modelIndex(): Record<string, unknown> {
  return {
    _class_name: "StableDiffusionPipeline",
    _diffusers_version: "0.27.2",
    feature_extractor: [null, null],
    image_encoder: [null, null],
    requires_safety_checker: false,
    safety_checker: [null, null],
    scheduler: ["diffusers", "PNDMScheduler"],
    text_encoder: ["transformers", "CLIPTextModel"],
    tokenizer: ["transformers", "CLIPTokenizer"],
    unet: ["diffusers", "UNet2DConditionModel"],
    vae: ["diffusers", "AutoencoderKL"],
  };
}

/** SD's released PNDM config, with every key diffusers' `save_config` writes. */
function schedulerConfig(predictionType: PredictionType): Record<string, unknown> {
  return {
    _class_name: "PNDMScheduler",
    _diffusers_version: "0.27.2",
    beta_end: 0.012,
    beta_schedule: "scaled_linear",
    beta_start: 0.00085,
    clip_sample: false,
    num_train_timesteps: 1000,
    prediction_type: predictionType,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    timestep_spacing: "leading",
    trained_betas: null,
  };
}

export async function buildModelFolder(options: BuildModelFolderOptions): Promise<BuiltModelFolder> {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new InvalidInputError(key, "is not an option of buildModelFolder", [...KNOWN_OPTIONS].join(", "));
  }
  if (typeof options.outDir !== "string" || options.outDir === "") throw new InvalidInputError("outDir", "is required", "a folder path");
  const preset = oneOf("preset", options.preset, PRESET_NAMES, "tiny");
  const family = oneOf("family", options.family, MODEL_FAMILIES, PRESET_DEFAULT_FAMILY[preset]);
  const presetSizes = PRESETS[preset][family];
  if (!presetSizes && !(options.sizes?.textEncoder && options.sizes.unet && options.sizes.vae)) {
    const families = Object.keys(PRESETS[preset]).join(", ");
    throw new InvalidInputError("family", `preset "${preset}" has no ${family} sizes`, families);
  }
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new InvalidInputError("seed", `got ${seed}`, "an integer");
  const contract: TensorContract = {
    inputIds: oneOf("inputIds", options.inputIds, INPUT_IDS_TYPES, "int64"),
    timestep: oneOf("timestep", options.timestep, TIMESTEP_CONTRACTS, "float-scalar"),
    vaeEncoderOutput: oneOf("vaeEncoderOutput", options.vaeEncoderOutput, VAE_ENCODER_OUTPUTS, "latent_parameters"),
  };
  const predictionType = oneOf<PredictionType>("predictionType", options.predictionType, ["epsilon", "v_prediction"], "epsilon");
  const textSizes = options.sizes?.textEncoder ?? presetSizes!.textEncoder;
  const unet = options.sizes?.unet ?? presetSizes!.unet;
  const vae = options.sizes?.vae ?? presetSizes!.vae;
  if (textSizes.hiddenSize !== unet.crossAttentionDim) {
    throw new InvalidInputError("sizes.unet.crossAttentionDim", `${unet.crossAttentionDim} differs from the text encoder's hiddenSize ${textSizes.hiddenSize}`, String(textSizes.hiddenSize));
  }

  const outDir = path.resolve(options.outDir);
  if ((await exists(outDir)) && !options.overwrite) {
    throw new InvalidInputError("outDir", `${outDir} already exists`, "a new folder, or overwrite: true");
  }
  await mkdir(path.dirname(outDir), { recursive: true });
  const tmp = path.join(path.dirname(outDir), `.${path.basename(outDir)}.${randomBytes(6).toString("hex")}.tmp`);
  await mkdir(tmp);
  try {
    const tokenizer = await writeClipTokenizer(tmp, options.tokenizer ?? "small", family);
    const vocabSize = textSizes.vocabSize === "tokenizer" ? tokenizer.vocabSize : textSizes.vocabSize;
    if (tokenizer.vocabSize > vocabSize) {
      throw new InvalidInputError("sizes.textEncoder.vocabSize", `${vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`, `>= ${tokenizer.vocabSize}`);
    }
    const textEncoder: ClipTextConfig = { ...textSizes, vocabSize };
    const axes = axisNames(contract.timestep);
    const save = { externalData: options.externalData ?? "auto", externalThresholdBytes: options.externalThresholdBytes };

    await writeFile(path.join(tmp, "model_index.json"), json(modelIndex()));
    await mkdir(path.join(tmp, "scheduler"));
    await writeFile(path.join(tmp, "scheduler", "scheduler_config.json"), json(schedulerConfig(predictionType)));

    // Each component's graph is built and written before the next one is built: weights are
    // generated tensor by tensor during the write, so memory stays at one tensor plus the graph.
    const components: BuiltComponent[] = [];
    const writeComponent = async (name: BuiltComponent["name"], build: () => GraphBuilder, config: Record<string, unknown>) => {
      const folder = path.join(tmp, name);
      await mkdir(folder);
      const result = await build().save(path.join(folder, "model.onnx"), save);
      await writeFile(path.join(folder, "config.json"), json(config));
      const files = ["model.onnx", ...(result.external ? ["model.onnx_data"] : []), "config.json"];
      components.push({ name, files, externalData: result.external, bytes: result.bytes });
    };
    const ids = { bos: 0, eos: 2, pad: 1 }; // SD 1.x/2.x text encoder configs keep transformers' legacy ids (argmax pooling)
    await writeComponent(
      "text_encoder",
      () => buildClipTextEncoder(textEncoder, { inputIds: contract.inputIds, axes, outputHiddenStates: options.textEncoderHiddenStates ?? false, seed }),
      clipTextConfigJson(textEncoder, ids),
    );
    await writeComponent("unet", () => buildUNet(unet, { timestep: contract.timestep, axes, seed, gpuOnlyOps: options.gpuOnlyOps ?? false }), unetConfigJson(unet));
    await writeComponent("vae_decoder", () => buildVaeDecoder(vae, { axes, seed }), vaeConfigJson(vae));
    await writeComponent("vae_encoder", () => buildVaeEncoder(vae, { axes, seed, output: contract.vaeEncoderOutput }), vaeConfigJson(vae));

    if (await exists(outDir)) await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
    return { dir: outDir, family, preset, seed, contract, sizes: { textEncoder, unet, vae }, tokenizer, components };
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

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
import { checkOptionKeys, json, oneOf, writeComponent, writeModelFolder, type PredictionType } from "./folder-writer.js";
import { LCM_TIME_COND_DIM, PIPELINE_KIND_FAMILY, PIPELINE_KINDS, pipelineModelIndex, pipelineSchedulerConfig, type PipelineKind } from "./pipeline-kinds.js";
import { PRECISIONS, withPrecision, type Precision } from "./precision.js";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { GraphBuilder } from "./graph.js";
import type { ExternalDataOption } from "./model-writer.js";
import { MODEL_FAMILIES, PRESETS, PRESET_DEFAULT_FAMILY, PRESET_NAMES, type ModelFamily, type ModelSizes, type PresetName } from "./presets.js";
import { writeClipTokenizer, type TokenizerSource } from "./tokenizer-files.js";
import { buildUNet, unetConfigJson } from "./unet.js";
import { buildVaeDecoder, buildVaeEncoder, vaeConfigJson } from "./vae.js";

export { PRESETS, type ModelFamily, type ModelSizes, type PresetName } from "./presets.js";
export type { InputIdsType, TimestepContract, VaeEncoderOutput, TensorContract } from "./contract.js";
export type { TokenizerSource } from "./tokenizer-files.js";

export type { PredictionType } from "./folder-writer.js";
export { PIPELINE_KINDS, type PipelineKind } from "./pipeline-kinds.js";
export { PRECISIONS, type Precision } from "./precision.js";

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
  /**
   * What the folder is (pipeline-kinds.ts): "sd" (default), "lcm" (LatentConsistencyModelPipeline,
   * UNet with `timestep_cond`, LCMScheduler; family sd1 unless given) or "turbo" (SD-Turbo-like:
   * Euler ancestral on trailing timesteps; family sd2 unless given).
   */
  pipeline?: PipelineKind;
  /** Weights and I/O precision (precision.ts): "float32" (default), "float16", "float16-fp32-io". */
  precision?: Precision;
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
  pipeline: PipelineKind;
  precision: Precision;
}

const KNOWN_OPTIONS = [
  "outDir", "overwrite", "family", "preset", "sizes", "seed", "inputIds", "timestep", "vaeEncoderOutput",
  "predictionType", "tokenizer", "textEncoderHiddenStates", "gpuOnlyOps", "externalData", "externalThresholdBytes",
  "pipeline", "precision",
] as const;

export async function buildModelFolder(options: BuildModelFolderOptions): Promise<BuiltModelFolder> {
  checkOptionKeys(options, KNOWN_OPTIONS, "buildModelFolder");
  if (typeof options.outDir !== "string" || options.outDir === "") throw new InvalidInputError("outDir", "is required", "a folder path");
  const preset = oneOf("preset", options.preset, PRESET_NAMES, "tiny");
  const pipeline = oneOf("pipeline", options.pipeline, PIPELINE_KINDS, "sd");
  const precision = oneOf("precision", options.precision, PRECISIONS, "float32");
  const family = oneOf("family", options.family, MODEL_FAMILIES, PIPELINE_KIND_FAMILY[pipeline] ?? PRESET_DEFAULT_FAMILY[preset]);
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
  const unetSizes = options.sizes?.unet ?? presetSizes!.unet;
  const unet = pipeline === "lcm" ? { ...unetSizes, timeCondProjDim: unetSizes.timeCondProjDim ?? LCM_TIME_COND_DIM } : unetSizes;
  const vae = options.sizes?.vae ?? presetSizes!.vae;
  if (textSizes.hiddenSize !== unet.crossAttentionDim) {
    throw new InvalidInputError("sizes.unet.crossAttentionDim", `${unet.crossAttentionDim} differs from the text encoder's hiddenSize ${textSizes.hiddenSize}`, String(textSizes.hiddenSize));
  }

  const { dir, result } = await writeModelFolder({ outDir: options.outDir, overwrite: options.overwrite, predictionType }, async (tmp) => {
    if (pipeline !== "sd") {
      // writeModelFolder wrote SD's model_index.json and PNDM config; these kinds describe themselves differently.
      await writeFile(path.join(tmp, "model_index.json"), json(pipelineModelIndex(pipeline)));
      await writeFile(path.join(tmp, "scheduler", "scheduler_config.json"), json(pipelineSchedulerConfig(pipeline, predictionType)));
    }
    const tokenizer = await writeClipTokenizer(tmp, options.tokenizer ?? "small", family);
    const vocabSize = textSizes.vocabSize === "tokenizer" ? tokenizer.vocabSize : textSizes.vocabSize;
    if (tokenizer.vocabSize > vocabSize) {
      throw new InvalidInputError("sizes.textEncoder.vocabSize", `${vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`, `>= ${tokenizer.vocabSize}`);
    }
    const textEncoder: ClipTextConfig = { ...textSizes, vocabSize };
    const axes = axisNames(contract.timestep);
    const save = { externalData: options.externalData ?? "auto", externalThresholdBytes: options.externalThresholdBytes };

    // Each component's graph is built and written before the next one is built: weights are
    // generated tensor by tensor during the write, so memory stays at one tensor plus the graph.
    const components: BuiltComponent[] = [];
    const component = async (name: BuiltComponent["name"], build: () => GraphBuilder, config: Record<string, unknown>) => {
      components.push({ ...(await writeComponent(tmp, name, withPrecision(build(), precision), config, save)), name });
    };
    const ids = { bos: 0, eos: 2, pad: 1 }; // SD 1.x/2.x text encoder configs keep transformers' legacy ids (argmax pooling)
    await component(
      "text_encoder",
      () => buildClipTextEncoder(textEncoder, { inputIds: contract.inputIds, axes, outputHiddenStates: options.textEncoderHiddenStates ?? false, seed }),
      clipTextConfigJson(textEncoder, ids),
    );
    await component("unet", () => buildUNet(unet, { timestep: contract.timestep, axes, seed, gpuOnlyOps: options.gpuOnlyOps ?? false }), unetConfigJson(unet));
    await component("vae_decoder", () => buildVaeDecoder(vae, { axes, seed }), vaeConfigJson(vae));
    await component("vae_encoder", () => buildVaeEncoder(vae, { axes, seed, output: contract.vaeEncoderOutput }), vaeConfigJson(vae));

    return { textEncoder, tokenizer, components };
  });
  return { dir, family, preset, seed, contract, sizes: { textEncoder: result.textEncoder, unet, vae }, tokenizer: result.tokenizer, components: result.components, pipeline, precision };
}

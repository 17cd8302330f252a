/**
 * `buildShapesModelFolder`: writes the built-in analytic "shapes" model, a Stable Diffusion 1.x
 * folder in optimum's layout (DESIGN.md section 3) whose weights are set by hand, not trained. It
 * draws coloured shapes, and its exact output for a prompt is known (target.ts), which makes it a
 * model for trying the workbench offline and for testing pipelines and schedulers.
 *
 *   model_index.json, scheduler/ (SD's PNDM config), tokenizer/ (small CLIP BPE vocabulary),
 *   text_encoder/ unet/ vae_decoder/ vae_encoder/  each model.onnx + config.json
 *
 * The configs describe what the pipeline needs: unet sample_size 64 (512 px default), one UNet
 * block (any multiple of 8 px is accepted), a 4-block VAE (scale factor 8) with scaling_factor
 * 0.18215. The folder is written under a temporary name beside `outDir` and renamed into place.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { InvalidInputError } from "../../../errors.js";
import { clipMergesFileText } from "../../../tokenizers/clip-vocab.js";
import { clipTextConfigJson } from "../clip-text-encoder.js";
import { INPUT_IDS_TYPES, TIMESTEP_CONTRACTS, axisNames, type InputIdsType, type TimestepContract } from "../contract.js";
import type { GraphBuilder } from "../graph.js";
import { writeClipTokenizer } from "../tokenizer-files.js";
import { unetConfigJson } from "../unet.js";
import { vaeConfigJson } from "../vae.js";
import { HIDDEN_SIZE, shapesVocabSize, shapesVocabulary } from "./attributes.js";
import { LATENT_CHANNELS, SCALING_FACTOR } from "./latent-map.js";
import { SHAPES_SCHEDULE } from "./schedule.js";
import { buildShapesTextEncoder } from "./text-encoder.js";
import { buildShapesUNet, type ShapesPredictionType } from "./unet.js";
import { buildShapesVaeDecoder, buildShapesVaeEncoder } from "./vae.js";

export { SHAPES_VOCAB_WORDS } from "./vocabulary.js";

/** UNet sample_size: 64 latents = 512 px, SD 1.5's default size. */
export const SHAPES_SAMPLE_SIZE = 64;

export interface BuildShapesModelFolderOptions {
  /** Folder to create; its parent is created when missing. */
  outDir: string;
  /** Replace `outDir` when it exists (default false: an existing folder is an error). */
  overwrite?: boolean;
  /** text_encoder `input_ids` type (default "int64", as optimum). */
  inputIds?: InputIdsType;
  /** UNet `timestep` contract (default "float-scalar", optimum >= 1.24); also picks the axis names. */
  timestep?: TimestepContract;
  /** scheduler prediction_type, which the UNet then returns (default "epsilon"). */
  predictionType?: ShapesPredictionType;
}

const KNOWN_OPTIONS = ["outDir", "overwrite", "inputIds", "timestep", "predictionType"];
const PREDICTION_TYPES: readonly ShapesPredictionType[] = ["epsilon", "v_prediction"];

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

// model_index.json and the scheduler config as model-folder.ts writes them for the random models
// (those helpers are not exported there).
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

function schedulerConfig(predictionType: ShapesPredictionType): Record<string, unknown> {
  return {
    _class_name: "PNDMScheduler",
    _diffusers_version: "0.27.2",
    ...SHAPES_SCHEDULE,
    clip_sample: false,
    prediction_type: predictionType,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    timestep_spacing: "leading",
  };
}

/** tokenizer/: the small vocabulary, through tokenizer-files.ts (which reads a vocabulary from files). */
async function writeTokenizer(dir: string): Promise<void> {
  const staging = await mkdtemp(path.join(os.tmpdir(), "shapes-vocab-"));
  try {
    const { vocab, merges } = shapesVocabulary();
    await writeFile(path.join(staging, "vocab.json"), JSON.stringify(vocab));
    await writeFile(path.join(staging, "merges.txt"), clipMergesFileText(merges));
    await writeClipTokenizer(dir, { kind: "real-clip", path: staging }, "sd1");
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The configs only tell the pipeline sizes and channels; the graphs are analytic, not these architectures. */
function componentConfigs() {
  const text = clipTextConfigJson(
    {
      vocabSize: shapesVocabSize(),
      hiddenSize: HIDDEN_SIZE,
      intermediateSize: HIDDEN_SIZE,
      numHiddenLayers: 0,
      numAttentionHeads: 1,
      maxPositionEmbeddings: 77,
      hiddenAct: "quick_gelu",
      layerNormEps: 1e-5,
      projectionDim: HIDDEN_SIZE,
    },
    { bos: 0, eos: 2, pad: 1 }, // SD 1.x text encoder configs keep transformers' legacy ids
  );
  const unet = unetConfigJson({
    sampleSize: SHAPES_SAMPLE_SIZE,
    inChannels: LATENT_CHANNELS,
    outChannels: LATENT_CHANNELS,
    blockOutChannels: [32],
    layersPerBlock: 1,
    downBlockTypes: ["DownBlock2D"],
    upBlockTypes: ["UpBlock2D"],
    attentionHeadDim: 1,
    crossAttentionDim: HIDDEN_SIZE,
    useLinearProjection: false,
    upcastAttention: false,
    normNumGroups: 32,
    normEps: 1e-5,
  });
  const vae = vaeConfigJson({
    inChannels: 3,
    outChannels: 3,
    latentChannels: LATENT_CHANNELS,
    blockOutChannels: [32, 32, 32, 32],
    layersPerBlock: 1,
    normNumGroups: 32,
    sampleSize: SHAPES_SAMPLE_SIZE * 8,
    scalingFactor: SCALING_FACTOR,
  });
  return { text, unet, vae };
}

export async function buildShapesModelFolder(options: BuildShapesModelFolderOptions): Promise<{ dir: string }> {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) throw new InvalidInputError(key, "is not an option of buildShapesModelFolder", KNOWN_OPTIONS.join(", "));
  }
  if (typeof options.outDir !== "string" || options.outDir === "") throw new InvalidInputError("outDir", "is required", "a folder path");
  const inputIds = oneOf("inputIds", options.inputIds, INPUT_IDS_TYPES, "int64");
  const timestep = oneOf("timestep", options.timestep, TIMESTEP_CONTRACTS, "float-scalar");
  const predictionType = oneOf("predictionType", options.predictionType, PREDICTION_TYPES, "epsilon");

  const outDir = path.resolve(options.outDir);
  if ((await exists(outDir)) && !options.overwrite) {
    throw new InvalidInputError("outDir", `${outDir} already exists`, "a new folder, or overwrite: true");
  }
  await mkdir(path.dirname(outDir), { recursive: true });
  const tmp = path.join(path.dirname(outDir), `.${path.basename(outDir)}.${randomBytes(6).toString("hex")}.tmp`);
  await mkdir(tmp);
  try {
    const axes = axisNames(timestep);
    const configs = componentConfigs();
    await writeFile(path.join(tmp, "model_index.json"), json(modelIndex()));
    await mkdir(path.join(tmp, "scheduler"));
    await writeFile(path.join(tmp, "scheduler", "scheduler_config.json"), json(schedulerConfig(predictionType)));
    await writeTokenizer(tmp);
    const writeComponent = async (name: string, graph: GraphBuilder, config: Record<string, unknown>) => {
      await mkdir(path.join(tmp, name));
      await graph.save(path.join(tmp, name, "model.onnx"), { externalData: false });
      await writeFile(path.join(tmp, name, "config.json"), json(config));
    };
    await writeComponent("text_encoder", buildShapesTextEncoder({ inputIds, axes }), configs.text);
    await writeComponent("unet", buildShapesUNet({ timestep, axes, predictionType }), configs.unet);
    await writeComponent("vae_decoder", buildShapesVaeDecoder({ axes, scalingFactor: SCALING_FACTOR }), configs.vae);
    await writeComponent("vae_encoder", buildShapesVaeEncoder({ axes, scalingFactor: SCALING_FACTOR }), configs.vae);

    if (await exists(outDir)) await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
    return { dir: outDir };
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

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
import { InvalidInputError } from "../../../errors.js";
import { clipTextConfigJson } from "../clip-text-encoder.js";
import { INPUT_IDS_TYPES, TIMESTEP_CONTRACTS, axisNames, type InputIdsType, type TimestepContract } from "../contract.js";
import { checkOptionKeys, oneOf, writeComponent, writeModelFolder } from "../folder-writer.js";
import { writeClipTokenizer } from "../tokenizer-files.js";
import { unetConfigJson } from "../unet.js";
import { vaeConfigJson } from "../vae.js";
import { HIDDEN_SIZE, shapesVocabSize, shapesVocabulary } from "./attributes.js";
import { LATENT_CHANNELS, SCALING_FACTOR } from "./latent-map.js";
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

/** tokenizer/: the small vocabulary of the shapes words. */
async function writeTokenizer(dir: string): Promise<void> {
  const { vocab, merges } = shapesVocabulary();
  await writeClipTokenizer(dir, { kind: "vocab", vocab, merges }, "sd1");
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
  checkOptionKeys(options, KNOWN_OPTIONS, "buildShapesModelFolder");
  if (typeof options.outDir !== "string" || options.outDir === "") throw new InvalidInputError("outDir", "is required", "a folder path");
  const inputIds = oneOf("inputIds", options.inputIds, INPUT_IDS_TYPES, "int64");
  const timestep = oneOf("timestep", options.timestep, TIMESTEP_CONTRACTS, "float-scalar");
  const predictionType = oneOf("predictionType", options.predictionType, PREDICTION_TYPES, "epsilon");

  const { dir } = await writeModelFolder({ outDir: options.outDir, overwrite: options.overwrite, predictionType }, async (tmp) => {
    const axes = axisNames(timestep);
    const configs = componentConfigs();
    await writeTokenizer(tmp);
    const save = { externalData: false } as const;
    await writeComponent(tmp, "text_encoder", buildShapesTextEncoder({ inputIds, axes }), configs.text, save);
    await writeComponent(tmp, "unet", buildShapesUNet({ timestep, axes, predictionType }), configs.unet, save);
    await writeComponent(tmp, "vae_decoder", buildShapesVaeDecoder({ axes, scalingFactor: SCALING_FACTOR }), configs.vae, save);
    await writeComponent(tmp, "vae_encoder", buildShapesVaeEncoder({ axes, scalingFactor: SCALING_FACTOR }), configs.vae, save);
  });
  return { dir };
}

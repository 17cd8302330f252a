/** The shapes model folder: layout, configs, tokenizer, options. */
import { readFile, readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../../lib/errors.js";
import { CLIPTokenizer } from "../../../../lib/tokenizers/clip.js";
import { TOKEN_FEATURE_COUNT, shapesTokenIds, tokenFeatureTable } from "../../../../lib/onnx/builder/shapes/attributes.js";
import { SHAPES_VOCAB_WORDS, buildShapesModelFolder } from "../../../../lib/onnx/builder/shapes/model-folder.js";
import { FUNCTION_WORDS, SHAPE_NAMES } from "../../../../lib/onnx/builder/shapes/vocabulary.js";
import { shapesModel } from "../../../helpers/shapes.js";

const readJson = async (dir: string, file: string) => JSON.parse(await readFile(path.join(dir, file), "utf8")) as Record<string, unknown>;

let dir: string;
beforeAll(async () => {
  dir = await shapesModel();
});

describe("buildShapesModelFolder", () => {
  it("writes optimum's SD 1.x layout", async () => {
    expect((await readdir(dir)).sort()).toEqual(["model_index.json", "scheduler", "text_encoder", "tokenizer", "unet", "vae_decoder", "vae_encoder"]);
    for (const c of ["text_encoder", "unet", "vae_decoder", "vae_encoder"]) expect((await readdir(path.join(dir, c))).sort()).toEqual(["config.json", "model.onnx"]);
    expect((await readdir(path.join(dir, "tokenizer"))).sort()).toEqual(["merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"]);
    expect(await readJson(dir, "model_index.json")).toMatchObject({ _class_name: "StableDiffusionPipeline" });
  });

  it("writes SD's PNDM scheduler config and the sizes the pipeline needs", async () => {
    expect(await readJson(dir, "scheduler/scheduler_config.json")).toMatchObject({
      _class_name: "PNDMScheduler",
      beta_schedule: "scaled_linear",
      beta_start: 0.00085,
      beta_end: 0.012,
      num_train_timesteps: 1000,
      steps_offset: 1,
      skip_prk_steps: true,
      set_alpha_to_one: false,
      prediction_type: "epsilon",
    });
    const vae = await readJson(dir, "vae_decoder/config.json");
    expect(vae.scaling_factor).toBe(0.18215);
    expect(vae.block_out_channels).toHaveLength(4);
    const unet = await readJson(dir, "unet/config.json");
    expect(unet).toMatchObject({ sample_size: 64, in_channels: 4, cross_attention_dim: 32 });
    expect(unet.block_out_channels).toHaveLength(1);
  });

  it("holds every word of the vocabulary as one token of the folder's tokenizer, with the same ids the closed form uses", async () => {
    const tokenizer = await CLIPTokenizer.fromFolder(path.join(dir, "tokenizer"));
    const table = tokenFeatureTable();
    const meaningful = (id: number) => table.subarray(id * TOKEN_FEATURE_COUNT, (id + 1) * TOKEN_FEATURE_COUNT).some((v) => v !== 0);
    for (const word of SHAPES_VOCAB_WORDS) {
      const ids = tokenizer.encode(word);
      expect(ids, word).toHaveLength(3);
      const carriesNothing = (FUNCTION_WORDS as readonly string[]).includes(word) || ["centre", "center", "middle"].includes(word);
      expect(meaningful(ids[1]), word).toBe(!carriesNothing);
    }
    for (const required of ["red", "orange", "yellow", "green", "blue", "purple", "pink", "white", "black", "gray", ...SHAPE_NAMES, "left", "right", "top", "bottom", "centre", "small", "big", "on", "background"]) {
      expect(SHAPES_VOCAB_WORDS).toContain(required);
    }
    const prompt = "a big yellow circle on the left on a black background, photorealistic";
    expect(tokenizer.call([prompt], { padding: "max_length", truncation: true }).inputIds[0]).toEqual(shapesTokenIds(prompt));
    // unknown words fall apart into pieces that carry nothing
    expect(tokenizer.encode("photorealistic zebra").some(meaningful)).toBe(false);
  });

  it("writes the requested predictionType into the scheduler config", async () => {
    const v = await shapesModel({ predictionType: "v_prediction" });
    expect((await readJson(v, "scheduler/scheduler_config.json")).prediction_type).toBe("v_prediction");
  });

  it("rejects unknown options and values, and an existing folder unless overwrite is set", async () => {
    const outDir = path.join(os.tmpdir(), `shapes-options-${process.pid}`);
    await expect(buildShapesModelFolder({ outDir, timestep: "int32" as never })).rejects.toThrow(InvalidInputError);
    await expect(buildShapesModelFolder({ outDir, predictionType: "sample" as never })).rejects.toThrow(/predictionType/);
    await expect(buildShapesModelFolder({ outDir, seed: 1 } as never)).rejects.toThrow(/seed/);
    await expect(buildShapesModelFolder({ outDir: dir })).rejects.toThrow(/already exists/);
    await expect(buildShapesModelFolder({ outDir: dir, overwrite: true })).resolves.toEqual({ dir });
  });
});

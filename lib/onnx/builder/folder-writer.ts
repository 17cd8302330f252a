/**
 * What every built model folder shares: optimum's model_index.json and SD's scheduler config, the
 * per-component files, and the write itself (a temporary folder beside `outDir`, renamed into place
 * only when complete, so a folder under its final name is never half written).
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../errors.js";
import type { GraphBuilder, SaveOptions } from "./graph.js";

export type PredictionType = "epsilon" | "v_prediction";

export const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";

export function oneOf<T extends string>(field: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new InvalidInputError(field, `unknown value ${JSON.stringify(value)}`, allowed.join(", "));
  return value;
}

/** Refuse option keys a builder does not know (a misspelt option must not be silently ignored). */
export function checkOptionKeys(options: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InvalidInputError(key, `is not an option of ${what}`, known.join(", "));
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** model_index.json as optimum writes it for an SD 1.x/2.x export without safety checker. */
export function modelIndexJson(): Record<string, unknown> {
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
export function schedulerConfigJson(predictionType: PredictionType): Record<string, unknown> {
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

export interface WrittenComponent {
  name: string;
  /** Files written in the component folder. */
  files: string[];
  externalData: boolean;
  bytes: number;
}

/** `<dir>/<name>/model.onnx` (+ model.onnx_data) and config.json. */
export async function writeComponent(
  dir: string,
  name: string,
  graph: GraphBuilder,
  config: Record<string, unknown>,
  save: SaveOptions = {},
): Promise<WrittenComponent> {
  const folder = path.join(dir, name);
  await mkdir(folder);
  const result = await graph.save(path.join(folder, "model.onnx"), save);
  await writeFile(path.join(folder, "config.json"), json(config));
  const files = ["model.onnx", ...(result.external ? ["model.onnx_data"] : []), "config.json"];
  return { name, files, externalData: result.external, bytes: result.bytes };
}

/**
 * Write a model folder: `fill(tmp)` writes into a temporary folder beside `outDir`, which is renamed
 * to `outDir` when `fill` succeeds and removed when it fails. model_index.json and the scheduler
 * config are written first.
 */
export async function writeModelFolder<T>(
  options: { outDir: string; overwrite?: boolean; predictionType: PredictionType },
  fill: (tmp: string) => Promise<T>,
): Promise<{ dir: string; result: T }> {
  const outDir = path.resolve(options.outDir);
  if ((await exists(outDir)) && !options.overwrite) {
    throw new InvalidInputError("outDir", `${outDir} already exists`, "a new folder, or overwrite: true");
  }
  await mkdir(path.dirname(outDir), { recursive: true });
  const tmp = path.join(path.dirname(outDir), `.${path.basename(outDir)}.${randomBytes(6).toString("hex")}.tmp`);
  await mkdir(tmp);
  try {
    await writeFile(path.join(tmp, "model_index.json"), json(modelIndexJson()));
    await mkdir(path.join(tmp, "scheduler"));
    await writeFile(path.join(tmp, "scheduler", "scheduler_config.json"), json(schedulerConfigJson(options.predictionType)));
    const result = await fill(tmp);
    if (await exists(outDir)) await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
    return { dir: outDir, result };
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

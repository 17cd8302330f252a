/**
 * Model folder discovery: model_index.json tells the pipeline class, which tells the family and the
 * components to open. Layout as optimum (and diffusers' legacy ONNX script) write it; DESIGN.md section 3.
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ModelLoadError, ModelNotFoundError } from "../errors.js";

export const FAMILIES = ["sd", "sdxl", "sd3", "lcm"] as const;
export type Family = (typeof FAMILIES)[number];

/**
 * Pipeline class names found in model_index.json of real exports, by family. optimum copies the
 * diffusers class name; diffusers' legacy script writes Onnx*; optimum's ORT classes appear in some hubs.
 */
export const PIPELINE_CLASSES = {
  StableDiffusionPipeline: "sd",
  OnnxStableDiffusionPipeline: "sd",
  ORTStableDiffusionPipeline: "sd",
  StableDiffusionImg2ImgPipeline: "sd",
  OnnxStableDiffusionImg2ImgPipeline: "sd",
  ORTStableDiffusionImg2ImgPipeline: "sd",
  StableDiffusionXLPipeline: "sdxl",
  ORTStableDiffusionXLPipeline: "sdxl",
  StableDiffusionXLImg2ImgPipeline: "sdxl",
  StableDiffusion3Pipeline: "sd3",
  ORTStableDiffusion3Pipeline: "sd3",
  LatentConsistencyModelPipeline: "lcm",
  ORTLatentConsistencyModelPipeline: "lcm",
} as const satisfies Record<string, Family>;
export type PipelineClassName = keyof typeof PIPELINE_CLASSES;

export interface ModelIndex {
  dir: string;
  className: PipelineClassName;
  family: Family;
  /** Component name -> [library, class] as written ([null, null] for absent optional ones). */
  components: Record<string, [string | null, string | null]>;
  raw: Record<string, unknown>;
}

export async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ModelNotFoundError(`${what} not found: ${file}`, file);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not a JSON object");
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ModelLoadError(`${file} is not valid JSON: ${(err as Error).message}`, what, { cause: err });
  }
}

/** JSON file that may be absent (legacy exports have no per-component config.json). */
export async function readOptionalJson(file: string, what: string): Promise<Record<string, unknown> | undefined> {
  try {
    await stat(file);
  } catch {
    return undefined;
  }
  return readJson(file, what);
}

export async function readModelIndex(dir: string): Promise<ModelIndex> {
  const abs = path.resolve(dir);
  try {
    if (!(await stat(abs)).isDirectory()) throw new Error();
  } catch {
    throw new ModelNotFoundError(`model folder not found: ${abs}`, abs);
  }
  const raw = await readJson(path.join(abs, "model_index.json"), "model_index.json");
  const className = raw._class_name;
  if (typeof className !== "string" || !(className in PIPELINE_CLASSES)) {
    throw new ModelLoadError(
      `model_index.json: unknown _class_name ${JSON.stringify(className)} (known: ${Object.keys(PIPELINE_CLASSES).join(", ")})`,
    );
  }
  const components: ModelIndex["components"] = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!key.startsWith("_") && Array.isArray(value) && value.length === 2) {
      components[key] = value as [string | null, string | null];
    }
  }
  return {
    dir: abs,
    className: className as PipelineClassName,
    family: PIPELINE_CLASSES[className as PipelineClassName],
    components,
    raw,
  };
}

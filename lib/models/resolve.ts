/** Turning a model id (CLI `--model`, env MODEL_ID) into a local model folder. */
import { stat } from "node:fs/promises";
import path from "node:path";
import { ModelNotFoundError } from "../errors.js";
import { BUILTIN_MODELS, ensureBuiltinModel, isBuiltinModel, type BuiltinModelName } from "./builtin.js";

export const DEFAULT_BUILTIN_MODEL: BuiltinModelName = "shapes";

export interface ResolvedModel {
  dir: string;
  /** Set when the id named a built-in model (or none was given). */
  builtin?: BuiltinModelName;
  description: string;
}

export async function resolveModel(
  id: string | undefined,
  options: { cacheDir?: string; onBuild?: (name: string, dir: string) => void } = {},
): Promise<ResolvedModel> {
  const name = id === undefined || id.trim() === "" ? DEFAULT_BUILTIN_MODEL : id.trim();
  if (isBuiltinModel(name)) {
    return { dir: await ensureBuiltinModel(name, options), builtin: name, description: BUILTIN_MODELS[name].description };
  }
  const dir = path.resolve(name);
  try {
    if ((await stat(dir)).isDirectory()) return { dir, description: `model folder ${dir}` };
  } catch {
    // fall through to the error below
  }
  throw new ModelNotFoundError(
    `model '${name}' not found: give a model folder (with model_index.json) or a built-in model (${Object.keys(BUILTIN_MODELS).join(", ")})`,
    dir,
  );
}

/**
 * Built-in models: made by the project's own builder (no weights ship or download), built once into
 * the cache and reused. A build goes to a temporary folder and is renamed into place, so a folder
 * under its final name is always complete, and two processes building at once do not clash.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { buildModelFolder } from "../onnx/builder/model-folder.js";
import { buildShapesModelFolder } from "../onnx/builder/shapes/model-folder.js";
import { cacheRoot } from "./cache.js";

/** Bump when the builder's output changes, so caches rebuild. */
export const BUILTIN_VERSION = 1;

export interface BuiltinModel {
  description: string;
  build(outDir: string): Promise<void>;
}

export const BUILTIN_MODELS = {
  shapes: {
    description:
      "an analytic model that draws coloured shapes (hand-set weights, no training): try 'a red star on a blue background'",
    async build(outDir: string) {
      await buildShapesModelFolder({ outDir });
    },
  },
  tiny: {
    description: "SD 1.x architecture at tiny size with random weights: it runs in seconds and draws noise",
    async build(outDir: string) {
      await buildModelFolder({ family: "sd1", preset: "tiny", seed: 0, outDir });
    },
  },
} as const satisfies Record<string, BuiltinModel>;
export type BuiltinModelName = keyof typeof BUILTIN_MODELS;

export function isBuiltinModel(name: string): name is BuiltinModelName {
  return Object.hasOwn(BUILTIN_MODELS, name);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The folder of a built-in model, built on first use. */
export async function ensureBuiltinModel(
  name: BuiltinModelName,
  options: { cacheDir?: string; onBuild?: (name: string, dir: string) => void } = {},
): Promise<string> {
  const root = path.join(options.cacheDir ?? cacheRoot(), "builtin");
  const dir = path.join(root, `${name}-v${BUILTIN_VERSION}`);
  if (await exists(path.join(dir, "model_index.json"))) return dir;
  options.onBuild?.(name, dir);
  await mkdir(root, { recursive: true });
  const tmp = path.join(root, `.${name}-${randomBytes(6).toString("hex")}.tmp`);
  try {
    await BUILTIN_MODELS[name].build(tmp);
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another process finished the same build first: keep theirs.
      if (!(await exists(path.join(dir, "model_index.json")))) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

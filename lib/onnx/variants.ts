/**
 * Precision variants of one model: where a model is published in float32 and float16, find both so
 * that DTYPE can choose (ONNX Runtime cannot convert weights when a session opens). Two layouts that
 * exist in the wild are recognised:
 *
 * - `<component>/model_fp16.onnx` beside `<component>/model.onnx`: the naming of transformers.js
 *   / Xenova Hub repos (`onnx/model.onnx`, `onnx/model_fp16.onnx`), applied per component folder;
 *   a component without an fp16 file uses its model.onnx.
 * - sibling pipeline folders `.../fp32/` and `.../fp16/`, each a complete model folder, as ONNX
 *   Runtime's Stable Diffusion optimize_pipeline.py examples write them
 *   (`-i ./sd_onnx/fp32 -o ./sd_onnx/fp16 --float16`); either one may be the folder given.
 *
 * Anything else is one variant whose precision is what its UNet graph declares.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { FloatType } from "./contracts.js";

/** File names exporters use for a component's graph, in order of preference. */
export const GRAPH_FILES: readonly string[] = ["model.onnx", "model_optimized.onnx"];
export const FP16_GRAPH_FILE = "model_fp16.onnx";

export interface PrecisionVariant {
  /** Declared by the layout; undefined for a single variant (read from the UNet graph). */
  dtype?: FloatType;
  /** The model folder whose component folders hold this variant's graphs. */
  dir: string;
  /** Graph file names looked for in each component folder, in order. */
  graphFiles: readonly string[];
  /** How the variant was found, for logs and describe(). */
  layout: string;
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

const SIBLING_NAMES: Readonly<Record<string, FloatType>> = { fp32: "float32", fp16: "float16" };

/**
 * The precision variants of the model folder `dir`, the folder's own first (its "native"
 * precision); `probe` is the component whose files decide (the denoiser).
 */
export async function findPrecisionVariants(dir: string, probe = "unet"): Promise<PrecisionVariant[]> {
  const own = SIBLING_NAMES[path.basename(dir).toLowerCase()];
  if (own) {
    const otherName = Object.keys(SIBLING_NAMES).find((n) => SIBLING_NAMES[n] !== own)!;
    const siblings = await entries(path.dirname(dir));
    const other = siblings.find((n) => n.toLowerCase() === otherName);
    if (other && (await isFile(path.join(path.dirname(dir), other, "model_index.json")))) {
      const layout = `sibling folders ${path.basename(dir)}/ and ${other}/`;
      return [
        { dtype: own, dir, graphFiles: GRAPH_FILES, layout },
        { dtype: SIBLING_NAMES[otherName], dir: path.join(path.dirname(dir), other), graphFiles: GRAPH_FILES, layout },
      ];
    }
  }
  const files = await entries(path.join(dir, probe));
  const hasFp16 = files.includes(FP16_GRAPH_FILE);
  const hasBase = GRAPH_FILES.some((f) => files.includes(f));
  const fp16: PrecisionVariant = { dtype: "float16", dir, graphFiles: [FP16_GRAPH_FILE, ...GRAPH_FILES], layout: `${probe}/${FP16_GRAPH_FILE} beside model.onnx` };
  if (hasFp16 && hasBase) return [{ dtype: "float32", dir, graphFiles: GRAPH_FILES, layout: fp16.layout }, fp16];
  if (hasFp16) return [{ ...fp16, layout: `${probe}/${FP16_GRAPH_FILE} only` }];
  return [{ dir, graphFiles: GRAPH_FILES, layout: "one precision" }];
}

/** Shared by the shapes-model tests: folders built once per test file, and the target check. */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildShapesModelFolder, type BuildShapesModelFolderOptions } from "../../lib/onnx/builder/shapes/model-folder.js";

const built = new Map<string, Promise<string>>();
let root: Promise<string> | undefined;

/** A shapes model folder with these options, built on first use into a temp folder. */
export function shapesModel(options: Omit<BuildShapesModelFolderOptions, "outDir"> = {}): Promise<string> {
  const key = JSON.stringify(options);
  let p = built.get(key);
  if (!p) {
    root ??= mkdtemp(path.join(os.tmpdir(), "shapes-models-"));
    p = root.then(async (r) => (await buildShapesModelFolder({ ...options, outDir: path.join(r, `m${built.size}`) })).dir);
    built.set(key, p);
  }
  return p;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** The tests' target check: HWC [0, 1] images agree within `tolerance` everywhere. */
export function matchesTarget(image: Float32Array, target: Float32Array, tolerance: number): { pass: boolean; maxDiff: number } {
  const maxDiff = maxAbsDiff(image, target);
  return { pass: maxDiff <= tolerance, maxDiff };
}

/** RGB of pixel (x, y) of an HWC image, in [0, 1]. */
export function pixel(rgb: Float32Array, width: number, x: number, y: number): number[] {
  const i = (y * width + x) * 3;
  return [rgb[i], rgb[i + 1], rgb[i + 2]];
}

/** Tiny SDXL model folders made by the project's builder, built once per test file into a temp folder. */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildSdxlModelFolder, type BuildSdxlModelFolderOptions } from "../../lib/onnx/builder/sdxl/model-folder.js";

const built = new Map<string, Promise<string>>();
let root: Promise<string> | undefined;

export function tinySdxlModel(options: Omit<BuildSdxlModelFolderOptions, "outDir"> = {}): Promise<string> {
  const key = JSON.stringify(options);
  let p = built.get(key);
  if (!p) {
    root ??= mkdtemp(path.join(os.tmpdir(), "tiny-sdxl-models-"));
    p = root.then(async (r) => {
      const dir = path.join(r, `m${built.size}`);
      await buildSdxlModelFolder({ preset: "tiny", ...options, outDir: dir });
      return dir;
    });
    built.set(key, p);
  }
  return p;
}

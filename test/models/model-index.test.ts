import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ModelLoadError, ModelNotFoundError, readModelIndex } from "../../lib/index.js";

async function folder(index?: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mi-"));
  if (index !== undefined) await writeFile(path.join(dir, "model_index.json"), index);
  return dir;
}

describe("readModelIndex", () => {
  it("detects the family from _class_name and lists the components", async () => {
    const dir = await folder(JSON.stringify({ _class_name: "StableDiffusionPipeline", unet: ["diffusers", "UNet2DConditionModel"], safety_checker: [null, null] }));
    const idx = await readModelIndex(dir);
    expect(idx.family).toBe("sd");
    expect(idx.components.unet).toEqual(["diffusers", "UNet2DConditionModel"]);
  });

  it("knows SDXL, SD3 and LCM classes", async () => {
    for (const [cls, fam] of [["StableDiffusionXLPipeline", "sdxl"], ["StableDiffusion3Pipeline", "sd3"], ["ORTLatentConsistencyModelPipeline", "lcm"]]) {
      const idx = await readModelIndex(await folder(JSON.stringify({ _class_name: cls })));
      expect(idx.family).toBe(fam);
    }
  });

  it("says which folder is missing", async () => {
    await expect(readModelIndex("/nonexistent/model")).rejects.toThrow(ModelNotFoundError);
    await expect(readModelIndex("/nonexistent/model")).rejects.toThrow(/model folder not found: \/nonexistent\/model/);
  });

  it("says model_index.json is missing", async () => {
    const dir = await folder();
    await expect(readModelIndex(dir)).rejects.toThrow(/model_index.json not found/);
  });

  it("rejects an unknown _class_name, listing the known ones", async () => {
    const dir = await folder(JSON.stringify({ _class_name: "KandinskyPipeline" }));
    const err = await readModelIndex(dir).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toContain('"KandinskyPipeline"');
    expect(err.message).toContain("StableDiffusionPipeline");
  });

  it("rejects invalid JSON naming the file", async () => {
    const dir = await folder("{not json");
    await expect(readModelIndex(dir)).rejects.toThrow(/model_index.json is not valid JSON/);
  });

  it("rejects a file where the folder should be", async () => {
    const dir = await folder();
    await mkdir(path.join(dir, "x"));
    await writeFile(path.join(dir, "f"), "");
    await expect(readModelIndex(path.join(dir, "f"))).rejects.toThrow(ModelNotFoundError);
  });
});

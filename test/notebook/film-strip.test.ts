/** The denoising film strip: latents kept at chosen steps, decoded with each family's VAE. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { denoisingFilmStrip, filmStripSteps, imageGridHtml, loadPipeline, showFilmStrip, silentLogger, type Display, type TextToImagePipeline } from "../../lib/index.js";
import { buildSd3ModelFolder } from "../../lib/onnx/builder/sd3/model-folder.js";
import { shapesModel } from "../helpers/shapes.js";
import { tinySdxlModel } from "../helpers/tiny-sdxl-model.js";

const runtime = { providers: ["cpu" as const], threads: 1, logger: silentLogger };
let root: string;
const pipes: Record<string, TextToImagePipeline> = {};

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "film-strip-"));
  await buildSd3ModelFolder({ preset: "tiny", outDir: path.join(root, "sd3") });
  pipes.shapes = await loadPipeline(await shapesModel(), runtime);
  pipes.sdxl = await loadPipeline(await tinySdxlModel(), runtime);
  pipes.sd3 = await loadPipeline(path.join(root, "sd3"), runtime);
});
afterAll(async () => {
  for (const p of Object.values(pipes)) await p.dispose();
  await rm(root, { recursive: true, force: true });
});

describe("filmStripSteps", () => {
  it("spaces the frames evenly and always ends at the last step", () => {
    expect(filmStripSteps(20, 5)).toEqual([4, 8, 12, 16, 20]);
    expect(filmStripSteps(10, 3)).toEqual([3, 7, 10]);
    expect(filmStripSteps(2, 6)).toEqual([1, 2]);
    expect(() => filmStripSteps(10, 0)).toThrow(/frames.*an integer >= 1/);
  });
});

describe("denoisingFilmStrip", () => {
  it("shows the shapes model's picture emerging: the last frame is the generated image, earlier ones are noisier", async () => {
    const steps: number[] = [];
    const { result, frames } = await denoisingFilmStrip(
      pipes.shapes,
      { prompt: "a red star on a blue background", width: 64, height: 64, num_inference_steps: 12, seed: 3, scheduler: "euler" },
      { frames: 4, onStep: (p) => steps.push(p.step) },
    );
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(frames.map((f) => f.step)).toEqual([3, 6, 9, 12]);
    expect(frames.map((f) => f.timestep)).toEqual([3, 6, 9, 12].map((s) => result.timesteps[s - 1]));
    expect(frames.every((f) => f.image.width === 64 && f.image.height === 64)).toBe(true);
    expect(Buffer.from(frames[3].image.data).equals(Buffer.from(result.images[0].data))).toBe(true);
    const distance = (a: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - result.images[0].data[i]), 0) / a.length;
    expect(distance(frames[0].image.data)).toBeGreaterThan(distance(frames[2].image.data));

    const html: string[] = [];
    const display: Display = { html: (s) => html.push(s), png: () => {}, text: () => {}, markdown: () => {} };
    await showFilmStrip(display, frames, { width: 96, title: "denoising" });
    expect(html[0]).toBe(await imageGridHtml([frames.map((f) => ({ image: f.image, caption: `step ${f.step}/12 (t=${Math.round(f.timestep * 100) / 100})` }))], { cellWidth: 96, title: "denoising" }));
  });

  it.each(["sdxl", "sd3"])("decodes %s latents with that family's VAE, the last frame being the generated image", async (family) => {
    const { result, frames } = await denoisingFilmStrip(pipes[family], { prompt: "a cat", width: 64, height: 64, num_inference_steps: 4, seed: 1 }, { steps: [2, 4] });
    expect(frames.map((f) => f.step)).toEqual([2, 4]);
    expect(Buffer.from(frames[1].image.data).equals(Buffer.from(result.images[0].data))).toBe(true);
    expect(Buffer.from(frames[0].image.data).equals(Buffer.from(result.images[0].data))).toBe(false);
  });
});

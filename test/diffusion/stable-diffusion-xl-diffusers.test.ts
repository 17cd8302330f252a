/**
 * The SDXL pipeline against diffusers' StableDiffusionXLPipeline on the same tiny model (the
 * builder's, its weights loaded into diffusers by test/reference/sdxl_pipeline.py, which also says
 * how to regenerate the fixture): final latents, images and the UNet's time_ids for zero negative
 * prompts, prompt_2 + both negative prompts + micro-conditioning at a non-square size, and an
 * unguided batch with several images per prompt.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { StableDiffusionXLPipeline } from "../../lib/diffusion/stable-diffusion-xl.js";
import { silentLogger, type GenerateOptionsInput } from "../../lib/index.js";
import { buildSdxlModelFolder } from "../../lib/onnx/builder/sdxl/model-folder.js";
import { ModelSession } from "../../lib/onnx/session.js";
import { tinySdxlModel } from "../helpers/tiny-sdxl-model.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/sdxl-pipeline");
/** The model the fixture was computed on (the reference script reads the folder this test builds). */
const MODEL = { preset: "tiny", seed: 45 } as const;
/** Measured worst max |diff|: 1.3e-5 latents (values up to about 10), 2.0e-6 images in [0, 1]; 1 thread. */
const LATENT_TOLERANCE = 1e-4;
const IMAGE_TOLERANCE = 1e-4;

interface Manifest {
  cases: Record<string, GenerateOptionsInput>;
  add_time_ids: Record<string, number[][]>;
  files: Record<string, { shape: number[] }>;
}

async function readF32(name: string): Promise<Float32Array> {
  const bytes = await readFile(path.join(FIXTURE, `${name}.f32`));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const manifestFile = path.join(FIXTURE, "manifest.json");
/** Absent only while the fixture is being regenerated (the model folder is still built, for the script). */
const manifest = existsSync(manifestFile) ? (JSON.parse(await readFile(manifestFile, "utf8")) as Manifest) : undefined;
let pipe: StableDiffusionXLPipeline;

beforeAll(async () => {
  const keep = process.env.SDXL_PIPELINE_OUT;
  const dir = keep ? (await buildSdxlModelFolder({ ...MODEL, outDir: keep, overwrite: true })).dir : await tinySdxlModel(MODEL);
  pipe = await StableDiffusionXLPipeline.load(dir, { providers: ["cpu"], threads: 1, logger: silentLogger });
});
afterAll(async () => {
  await pipe?.dispose();
  vi.restoreAllMocks();
});

describe("StableDiffusionXLPipeline against diffusers on the tiny SDXL model", () => {
  if (!manifest) it("has its fixture", () => expect.fail(`${manifestFile} is missing: run test/reference/sdxl_pipeline.py`));
  for (const [name, request] of Object.entries(manifest?.cases ?? {})) {
    it(`${name}: final latents, images and time_ids match diffusers`, async () => {
      const run = vi.spyOn(ModelSession.prototype, "run");
      const result = await pipe.generate(request, { returnTensors: true });
      const unetFeeds = run.mock.calls.filter((_, i) => (run.mock.contexts[i] as ModelSession).component === "unet").map(([feeds]) => feeds);
      run.mockRestore();

      expect(result.tensors!.finalLatents.dims).toEqual(manifest!.files[`${name}.latents`].shape);
      expect(maxAbsDiff(result.tensors!.finalLatents.data, await readF32(`${name}.latents`))).toBeLessThan(LATENT_TOLERANCE);
      const images = result.tensors!.images;
      const flat = new Float32Array(images.reduce((n, img) => n + img.length, 0));
      images.forEach((img, i) => flat.set(img, i * img.length));
      expect(maxAbsDiff(flat, await readF32(`${name}.images`))).toBeLessThan(IMAGE_TOLERANCE);

      expect(unetFeeds).toHaveLength(request.num_inference_steps!);
      const timeIds = unetFeeds[0].time_ids;
      const expected = manifest!.add_time_ids[name];
      expect(timeIds.dims).toEqual([expected.length, 6]);
      expect(Array.from(timeIds.data as Float32Array)).toEqual(expected.flat());
    });
  }
});

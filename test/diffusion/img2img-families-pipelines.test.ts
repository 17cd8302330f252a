/**
 * Image-to-image through the LCM, SDXL and SD3 pipelines on builder-made tiny folders: output size,
 * the denoiser runs exactly the steps diffusers' schedule keeps (test/fixtures/img2img/families.json)
 * at those timesteps, seeds are reproducible, strength matters, both VAE encoder contracts work
 * (with diffusers' generator draw order), and bad requests or folders get errors naming the field.
 */
import { readFileSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  InvalidInputError,
  StableDiffusion3Pipeline,
  StableDiffusionPipeline,
  StableDiffusionXLPipeline,
  TorchGenerator,
  silentLogger,
  type GenerateOptionsInput,
  type GenerateResult,
  type RunOptions,
} from "../../lib/index.js";
import { buildSd3ModelFolder } from "../../lib/onnx/builder/sd3/model-folder.js";
import { ModelSession } from "../../lib/onnx/session.js";
import { repoRoot } from "../helpers/paths.js";
import { tinyModel } from "../helpers/tiny-model.js";
import { tinySdxlModel } from "../helpers/tiny-sdxl-model.js";

const quiet = { providers: ["cpu" as const], threads: 1, logger: silentLogger };
const reference = JSON.parse(readFileSync(path.join(repoRoot, "test", "fixtures", "img2img", "families.json"), "utf8")) as Record<
  "lcm" | "sdxl" | "sd3",
  { steps: number; strength: number; timesteps?: number[] }[]
>;

type Pipe = StableDiffusionPipeline | StableDiffusionXLPipeline | StableDiffusion3Pipeline;
type Family = "lcm" | "sdxl" | "sd3";
type VaeOutput = "latent_parameters" | "latent_sample";

interface FamilyCase {
  denoiser: "unet" | "transformer";
  latentChannels: number;
  load(output: VaeOutput): Promise<{ pipe: Pipe; dir: string }>;
  /** Steps and strengths with a reference schedule; the first is used for the other checks. */
  runs: { steps: number; strength: number }[];
  /** The family's default strength and a step count, checked against the reference too. */
  defaults: { steps: number; strength: number };
}

let sd3Root: string | undefined;
async function sd3Folder(output: VaeOutput): Promise<string> {
  sd3Root ??= await mkdtemp(path.join(os.tmpdir(), "sd3-img2img-"));
  const dir = path.join(sd3Root, output);
  await buildSd3ModelFolder({ preset: "tiny", seed: 31, vaeEncoderOutput: output, sizes: { textEncoder3: null }, outDir: dir, overwrite: true });
  return dir;
}

const FAMILIES: Record<Family, FamilyCase> = {
  lcm: {
    denoiser: "unet",
    latentChannels: 4,
    async load(output) {
      const dir = await tinyModel({ pipeline: "lcm", vaeEncoderOutput: output });
      return { pipe: await StableDiffusionPipeline.load(dir, quiet), dir };
    },
    runs: [{ steps: 4, strength: 0.5 }, { steps: 2, strength: 0.3 }, { steps: 4, strength: 1.0 }],
    defaults: { steps: 4, strength: 0.8 },
  },
  sdxl: {
    denoiser: "unet",
    latentChannels: 4,
    async load(output) {
      const dir = await tinySdxlModel({ vaeEncoderOutput: output });
      return { pipe: await StableDiffusionXLPipeline.load(dir, quiet), dir };
    },
    runs: [{ steps: 10, strength: 0.5 }, { steps: 4, strength: 0.75 }, { steps: 4, strength: 1.0 }],
    defaults: { steps: 10, strength: 0.3 },
  },
  sd3: {
    denoiser: "transformer",
    latentChannels: 16,
    async load(output) {
      const dir = await sd3Folder(output);
      return { pipe: await StableDiffusion3Pipeline.load(dir, quiet), dir };
    },
    runs: [{ steps: 10, strength: 0.75 }, { steps: 4, strength: 0.3 }, { steps: 4, strength: 1.0 }],
    defaults: { steps: 10, strength: 0.6 },
  },
};

type Bytes = Uint8Array<ArrayBuffer>;
async function png(w: number, h: number, seed = 0): Promise<Bytes> {
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + seed * 101 + (i >> 5) * 13) % 256;
  return new Uint8Array(await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
}

/** Runs a generation and records the timestep fed to every denoiser call. */
async function withDenoiserCalls(component: string, fn: () => Promise<GenerateResult>): Promise<{ result: GenerateResult; timesteps: number[] }> {
  const run = vi.spyOn(ModelSession.prototype, "run");
  try {
    const result = await fn();
    const timesteps = run.mock.calls
      .filter((_, i) => (run.mock.contexts[i] as ModelSession).component === component)
      .map(([feeds]) => Number((feeds.timestep.data as ArrayLike<number | bigint>)[0]));
    return { result, timesteps };
  } finally {
    run.mockRestore();
  }
}

const expectedTimesteps = (family: Family, steps: number, strength: number) => {
  const c = reference[family].find((r) => r.steps === steps && r.strength === strength);
  if (!c?.timesteps) throw new Error(`no reference for ${family} ${steps} steps strength ${strength}`);
  return c.timesteps;
};
const same = (a: GenerateResult, b: GenerateResult) => Buffer.from(a.images[0].data).equals(Buffer.from(b.images[0].data));

for (const family of ["lcm", "sdxl", "sd3"] as const) {
  describe(`${family} image-to-image`, () => {
    const fam = FAMILIES[family];
    const pipes = new Map<VaeOutput, Pipe>();
    let dir: string;
    let image: Bytes;
    const base = (extra: Partial<GenerateOptionsInput> = {}): GenerateOptionsInput => ({
      prompt: "a red star",
      image,
      seed: 7,
      ...(family === "lcm" ? {} : { guidance_scale: 3 }),
      ...extra,
    });
    const generate = (extra: Partial<GenerateOptionsInput> = {}, run: RunOptions = {}, output: VaeOutput = "latent_parameters") =>
      pipes.get(output)!.generate(base(extra), run);

    beforeAll(async () => {
      image = await png(64, 64);
      for (const output of ["latent_parameters", "latent_sample"] as const) {
        const loaded = await fam.load(output);
        pipes.set(output, loaded.pipe);
        if (output === "latent_parameters") dir = loaded.dir;
      }
    });
    afterAll(async () => {
      for (const p of pipes.values()) await p.dispose();
    });

    it("runs the denoiser once per step diffusers keeps, at diffusers' timesteps, and returns an image of the init image's size", async () => {
      for (const { steps, strength } of fam.runs) {
        const expected = expectedTimesteps(family, steps, strength);
        const { result, timesteps } = await withDenoiserCalls(fam.denoiser, () => generate({ num_inference_steps: steps, strength }));
        const label = `${steps} steps strength ${strength}`;
        expect(timesteps, label).toHaveLength(expected.length);
        expect(result.timesteps, label).toEqual(expected);
        expect(timesteps.map(Math.fround), label).toEqual(expected.map(Math.fround));
        expect([result.images[0].width, result.images[0].height], label).toEqual([64, 64]);
        expect(result.timings.imageEncodeMs, label).toBeGreaterThan(0);
      }
      // the family's default strength when the request has none
      const d = fam.defaults;
      const { result } = await withDenoiserCalls(fam.denoiser, () => generate({ num_inference_steps: d.steps }));
      expect(result.timesteps).toEqual(expectedTimesteps(family, d.steps, d.strength));
    });

    it("resizes the init image to the requested width and height, and takes the size from the image otherwise", async () => {
      const r = await generate({ image: await png(112, 80, 1), num_inference_steps: 2, strength: 1 });
      expect([r.images[0].width, r.images[0].height]).toEqual([112, 80]);
      expect(r.options).toMatchObject({ width: 112, height: 80 });
      const sized = await generate({ image: await png(100, 70, 2), width: 64, height: 96, num_inference_steps: 2, strength: 1 });
      expect([sized.images[0].width, sized.images[0].height]).toEqual([64, 96]);
    });

    it("gives the same image for the same seed, and a different one for another seed or strength", async () => {
      const { steps, strength } = fam.runs[0];
      const a = await generate({ num_inference_steps: steps, strength });
      const b = await generate({ num_inference_steps: steps, strength });
      expect(same(a, b)).toBe(true);
      expect(same(a, await generate({ num_inference_steps: steps, strength, seed: 8 }))).toBe(false);
      expect(same(a, await generate({ num_inference_steps: steps, strength: strength === 1 ? 0.5 : 1 }))).toBe(false);
      expect(same(a, await generate({ num_inference_steps: steps, strength, image: await png(64, 64, 5) }))).toBe(false);
    });

    it("works with both VAE encoder contracts, drawing the latent sample before the noise from the seed's generator", async () => {
      const { steps, strength } = fam.runs[0];
      const n = fam.latentChannels * 8 * 8; // 64 x 64 pixels, VAE factor 8
      for (const output of ["latent_parameters", "latent_sample"] as const) {
        const r = await generate({ num_inference_steps: steps, strength, num_images_per_prompt: 2 }, { returnTensors: true }, output);
        expect(r.images).toHaveLength(2);
        expect(r.tensors!.initialNoise.dims).toEqual([2, fam.latentChannels, 8, 8]);
        const g = new TorchGenerator(7);
        if (output === "latent_parameters") g.randn(n); // DiagonalGaussianDistribution.sample for the one init image
        expect(Array.from(r.tensors!.initialNoise.data), output).toEqual(Array.from(g.randn(2 * n)));
      }
    });

    it("refuses bad image bytes, an out-of-range strength and strength without an image, naming the field", async () => {
      for (const bad of [new Uint8Array([1, 2, 3, 4]), "not base64!"]) {
        await expect(generate({ image: bad })).rejects.toMatchObject({ name: "InvalidInputError", field: "image", allowed: expect.stringMatching(/PNG, JPEG or WebP/) });
      }
      for (const strength of [0, 1.5]) {
        await expect(generate({ strength })).rejects.toMatchObject({ field: "strength", allowed: "a number in (0, 1]" });
      }
      const alone = await pipes.get("latent_parameters")!.generate({ prompt: "x", strength: 0.5 }).catch((e: unknown) => e);
      expect(alone).toBeInstanceOf(InvalidInputError);
      expect(alone).toMatchObject({ field: "strength" });
    });

    it("says that a folder without vae_encoder cannot do image-to-image", async () => {
      const copy = await mkdtemp(path.join(os.tmpdir(), `${family}-no-encoder-`));
      try {
        await cp(dir, copy, { recursive: true });
        await rm(path.join(copy, "vae_encoder"), { recursive: true });
        const load = family === "lcm" ? StableDiffusionPipeline.load : family === "sdxl" ? StableDiffusionXLPipeline.load : StableDiffusion3Pipeline.load;
        const pipe = await load(copy, quiet);
        try {
          const err = await pipe.generate(base({ num_inference_steps: 2 })).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(InvalidInputError);
          expect(err).toMatchObject({ field: "image", message: expect.stringMatching(/no vae_encoder\/, which image-to-image needs/) });
          // text-to-image still works
          expect((await pipe.generate({ prompt: "x", num_inference_steps: 1, width: 64, height: 64 })).images).toHaveLength(1);
        } finally {
          await pipe.dispose();
        }
      } finally {
        await rm(copy, { recursive: true, force: true });
      }
    });
  });
}

afterAll(async () => {
  if (sd3Root) await rm(sd3Root, { recursive: true, force: true });
});

/**
 * Image-to-image on the SD 1.x/2.x pipeline: diffusers' get_timesteps arithmetic and noise levels
 * for every scheduler (test/fixtures/img2img/reference.json, from test/reference/img2img.py), its
 * generator draw order, the init image's decoding and sizing, and the analytic shapes model, whose
 * ideal-denoiser UNet must land on the prompt's picture from any init image at any strength.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError, StableDiffusionPipeline, TorchGenerator, createScheduler, silentLogger } from "../../lib/index.js";
import { img2imgSchedule } from "../../lib/diffusion/img2img.js";
import { schedulerConfigJson } from "../../lib/onnx/builder/folder-writer.js";
import { shapesTarget } from "../../lib/onnx/builder/shapes/target.js";
import { repoRoot } from "../helpers/paths.js";
import { matchesTarget, maxAbsDiff, shapesModel } from "../helpers/shapes.js";
import { tinyModel } from "../helpers/tiny-model.js";
import { replayInitLatents } from "./img2img-helpers.js";

const quiet = { providers: ["cpu" as const], logger: silentLogger };
const reference = JSON.parse(readFileSync(path.join(repoRoot, "test", "fixtures", "img2img", "reference.json"), "utf8")) as {
  timesteps: { scheduler: string; steps: number; strength: number; num_steps: number; timesteps: number[]; signal?: number; noise?: number }[];
  latents: { scheduler: string; steps: number; strength: number; seed: number; images_per_prompt: number; latent_shape: number[]; latents_shape: number[]; latents: string }[];
};
const SD_SCHEDULER = schedulerConfigJson("epsilon");

/** An RGB PNG of w x h pixels from a per-pixel function (values 0-255). */
type Bytes = Uint8Array<ArrayBuffer>;
async function png(w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): Promise<Bytes> {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(rgb(x, y), (y * w + x) * 3);
  return new Uint8Array(await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
}
const stripes = (x: number, y: number): [number, number, number] => [(x * 37) % 256, (y * 91) % 256, ((x + y) * 13) % 256];

describe("image-to-image timesteps follow diffusers' get_timesteps", () => {
  it(`keeps the same timesteps, step count and starting noise level as diffusers for ${reference.timesteps.length} scheduler/steps/strength cases`, () => {
    for (const c of reference.timesteps) {
      const scheduler = createScheduler(SD_SCHEDULER, c.scheduler);
      scheduler.setTimesteps(c.steps);
      const label = `${c.scheduler} ${c.steps} steps strength ${c.strength}`;
      if (c.timesteps.length === 0) {
        expect(() => img2imgSchedule(scheduler, c.steps, c.strength), label).toThrow(InvalidInputError);
        continue;
      }
      const s = img2imgSchedule(scheduler, c.steps, c.strength);
      expect(s.timesteps, label).toEqual(c.timesteps);
      expect(s.numSteps, label).toBe(c.num_steps);
      const t0 = s.timesteps[0];
      const signal = scheduler.addNoise(Float32Array.of(1), Float32Array.of(0), t0)[0];
      const noise = scheduler.addNoise(Float32Array.of(0), Float32Array.of(1), t0)[0];
      expect(Math.abs(signal - c.signal!), label).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(c.signal!)));
      expect(Math.abs(noise - c.noise!), label).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(c.noise!)));
    }
  });

  it("refuses a strength that leaves no step, naming the field and the smallest strength that works", () => {
    const scheduler = createScheduler(SD_SCHEDULER, "euler");
    scheduler.setTimesteps(4);
    expect(() => img2imgSchedule(scheduler, 4, 0.2)).toThrow(/strength: 0.2 with 4 steps leaves no denoising step .*allowed: at least 0.25/);
  });
});

describe("image-to-image latents follow diffusers' prepare_latents", () => {
  for (const c of reference.latents) {
    it(`samples the latent distribution, then draws the noise, from one seeded generator (${c.scheduler}, strength ${c.strength})`, () => {
      const scheduler = createScheduler(SD_SCHEDULER, c.scheduler);
      scheduler.setTimesteps(c.steps);
      const { timesteps } = img2imgSchedule(scheduler, c.steps, c.strength);
      // the stand-in encoder of test/reference/img2img.py
      const { dims, maxRelError } = replayInitLatents(c, { scalingFactor: 0.18215, shiftFactor: 0 }, scheduler, timesteps[0]);
      expect(dims).toEqual(c.latents_shape);
      expect(maxRelError).toBeLessThanOrEqual(1e-5); // measured 4.3e-6 (float32 exp of torch vs a rounded float64 exp, then cancellation)
    });
  }
});

describe("image-to-image on the shapes model", () => {
  const W = 128;
  const H = 96;
  const PROMPT = "a green ring at the left on a pink background";
  const target = shapesTarget(PROMPT, W, H).rgb;
  let pipe: StableDiffusionPipeline;
  beforeAll(async () => {
    pipe = await StableDiffusionPipeline.load(await shapesModel(), quiet);
  });
  afterAll(async () => {
    await pipe?.dispose();
  });

  const run = (image: string | Bytes, extra: Record<string, unknown> = {}) =>
    pipe.generate({ prompt: PROMPT, image, guidance_scale: 1, num_inference_steps: 8, seed: 3, scheduler: "euler", width: W, height: H, ...extra }, { returnTensors: true });

  it("keeps the analytic target whatever the strength and scheduler (those that end at sigma 0), from any init image", async () => {
    const inits = [
      await png(W, H, stripes),
      await png(200, 150, (x, y) => [x % 256, 255 - (y % 256), 128]), // resized to 128x96
      new Uint8Array(await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } }).webp().toBuffer()),
    ];
    for (const scheduler of ["euler", "dpmpp_2m_karras", "heun", "lcm"]) {
      for (const strength of [0.25, 0.6, 1]) {
        for (const [k, image] of inits.entries()) {
          if (k > 0 && strength !== 0.6) continue; // every image once, every strength with the first
          const r = await run(image, { scheduler, strength });
          const check = matchesTarget(r.tensors!.images[0], target, 1e-5);
          expect(check.pass, `${scheduler} strength ${strength} image ${k}: max diff ${check.maxDiff}`).toBe(true);
        }
      }
    }
  });

  it("runs the steps diffusers runs, starting from the timestep strength selects, and reports them", async () => {
    for (const strength of [0.3, 0.5, 0.8]) {
      const ref = reference.timesteps.find((c) => c.scheduler === "EulerDiscreteScheduler" && c.steps === 10 && c.strength === strength)!;
      let steps = 0;
      const r = await pipe.generate(
        { prompt: PROMPT, image: await png(W, H, stripes), strength, guidance_scale: 1, num_inference_steps: 10, seed: 1, scheduler: "euler", width: W, height: H },
        { onStep: () => steps++ },
      );
      expect(r.timesteps).toEqual(ref.timesteps);
      expect(steps).toBe(ref.timesteps.length);
      expect(r.timings.imageEncodeMs).toBeGreaterThan(0);
    }
  });

  it("draws the latent sample first and the noise second from the seed's generator", async () => {
    const r = await run(await png(W, H, stripes), { strength: 0.5, num_images_per_prompt: 2 });
    const g = new TorchGenerator(3);
    g.randn(4 * (H / 8) * (W / 8)); // DiagonalGaussianDistribution.sample for the one init image
    expect(Array.from(r.tensors!.initialNoise.data)).toEqual(Array.from(g.randn(2 * 4 * (H / 8) * (W / 8))));
  });

  it("accepts base64 and data: URLs, and takes the size from the image when the request has none", async () => {
    const bytes = await png(136, 72, stripes); // rounded down to 136 x 72 (multiples of 8)
    const b64 = Buffer.from(bytes).toString("base64");
    for (const image of [b64, `data:image/png;base64,${b64}`]) {
      const r = await pipe.generate({ prompt: PROMPT, image, strength: 0.5, guidance_scale: 1, num_inference_steps: 4, seed: 1, scheduler: "euler" }, { returnTensors: true });
      expect([r.images[0].width, r.images[0].height]).toEqual([136, 72]);
      expect(r.options).toMatchObject({ width: 136, height: 72 });
      expect(matchesTarget(r.tensors!.images[0], shapesTarget(PROMPT, 136, 72).rgb, 1e-5).pass).toBe(true);
    }
    const odd = await png(101, 70, stripes);
    const r = await pipe.generate({ prompt: PROMPT, image: odd, guidance_scale: 1, num_inference_steps: 2, seed: 1, scheduler: "euler" });
    expect([r.images[0].width, r.images[0].height]).toEqual([96, 64]);
  });

  it("refuses what is not a PNG, JPEG or WebP image, naming the field and what is allowed", async () => {
    const gif = new Uint8Array(await sharp({ create: { width: 8, height: 8, channels: 3, background: "red" } }).gif().toBuffer());
    const bad: (string | Bytes)[] = [new Uint8Array([1, 2, 3, 4]), "not base64 at all!", gif, "data:image/png,rawtext", Buffer.from("hello").toString("base64")];
    for (const image of bad) {
      const err = await run(image).catch((e: unknown) => e);
      expect(err, String(image).slice(0, 20)).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).field).toBe("image");
      expect((err as InvalidInputError).allowed).toMatch(/PNG, JPEG or WebP/);
    }
  });

  it("refuses strength without an image, and a strength that leaves no step", async () => {
    await expect(pipe.generate({ prompt: PROMPT, strength: 0.5 })).rejects.toThrow(/strength: is used only for image-to-image/);
    await expect(run(await png(W, H, stripes), { strength: 0.1, num_inference_steps: 4 })).rejects.toMatchObject({ field: "strength" });
  });
});

describe("image-to-image on a tiny random model", () => {
  it("works with both VAE encoder contracts; latent_sample exports draw only the noise from the generator", async () => {
    const image = await png(64, 64, stripes);
    for (const vaeEncoderOutput of ["latent_parameters", "latent_sample"] as const) {
      const pipe = await StableDiffusionPipeline.load(await tinyModel({ vaeEncoderOutput }), quiet);
      try {
        const r = await pipe.generate({ prompt: "a red star", negative_prompt: "blue", image, strength: 0.7, num_inference_steps: 5, seed: 9 }, { returnTensors: true });
        expect(r.timesteps).toHaveLength(4); // PNDM: int(5 * 0.7) = 3 steps, PLMS repeats its second timestep
        expect(r.images[0].data.length).toBe(64 * 64 * 3);
        const g = new TorchGenerator(9);
        if (vaeEncoderOutput === "latent_parameters") g.randn(4 * 8 * 8);
        expect(Array.from(r.tensors!.initialNoise.data)).toEqual(Array.from(g.randn(4 * 8 * 8)));
      } finally {
        await pipe.dispose();
      }
    }
  });
});

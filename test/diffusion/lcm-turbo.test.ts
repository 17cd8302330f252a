/**
 * Distilled models on the SD pipeline: Latent Consistency Models (the guidance embedding through
 * the UNet's `timestep_cond`, one UNet batch, no negative prompt, LCM defaults) and SD-Turbo-like
 * folders (guidance 0, one Euler ancestral step on trailing timesteps).
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError, StableDiffusionPipeline, buildShapesModelFolder, loadPipeline, readModelIndex, silentLogger } from "../../lib/index.js";
import { guidanceScaleEmbedding } from "../../lib/diffusion/guidance-embedding.js";
import { pipelineSchedulerConfig } from "../../lib/onnx/builder/pipeline-kinds.js";
import { shapesTarget } from "../../lib/onnx/builder/shapes/target.js";
import { ModelSession } from "../../lib/onnx/session.js";
import { repoRoot } from "../helpers/paths.js";
import { matchesTarget } from "../helpers/shapes.js";
import { tinyModel } from "../helpers/tiny-model.js";

const quiet = { providers: ["cpu" as const], logger: silentLogger };

describe("the guidance-scale embedding", () => {
  it("matches diffusers' get_guidance_scale_embedding(w - 1, 256) within float32 exp rounding", async () => {
    const ref = JSON.parse(await readFile(path.join(repoRoot, "test", "fixtures", "img2img", "reference.json"), "utf8")).guidance_embedding as {
      guidance_scales: number[];
      embedding: string;
    };
    const buf = Buffer.from(ref.embedding, "base64");
    const expected = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    ref.guidance_scales.forEach((w, k) => {
      const got = guidanceScaleEmbedding(w, 256, 2);
      for (let i = 0; i < 256; i++) {
        expect(got[i]).toBe(got[256 + i]); // the same row for every batch item
        // torch's float32 exp can be 1 ulp off the rounded exact value; times w * 1000 (up to 7500) in the sin/cos argument: measured <= 4.1e-4
        expect(Math.abs(got[i] - expected[k * 256 + i]), `w ${w} index ${i}`).toBeLessThanOrEqual(5e-4);
      }
    });
  });
});

describe("an LCM model folder (LatentConsistencyModelPipeline)", () => {
  let dir: string;
  let pipe: StableDiffusionPipeline;
  beforeAll(async () => {
    dir = await tinyModel({ pipeline: "lcm" });
    pipe = (await loadPipeline(dir, quiet)) as StableDiffusionPipeline;
  });
  afterAll(async () => {
    await pipe?.dispose();
  });

  it("is written as LCM exports are: model_index, LCMScheduler config, UNet input timestep_cond [B, 256]", async () => {
    const index = await readModelIndex(dir);
    expect(index).toMatchObject({ className: "LatentConsistencyModelPipeline", family: "lcm" });
    const scheduler = JSON.parse(await readFile(path.join(dir, "scheduler", "scheduler_config.json"), "utf8"));
    expect(scheduler).toMatchObject({ _class_name: "LCMScheduler", original_inference_steps: 50, timestep_scaling: 10 });
    const unetConfig = JSON.parse(await readFile(path.join(dir, "unet", "config.json"), "utf8"));
    expect(unetConfig.time_cond_proj_dim).toBe(256);
    const unet = await ModelSession.open("unet", path.join(dir, "unet", "model.onnx"), quiet);
    expect(unet.input("timestep_cond")).toEqual({ name: "timestep_cond", type: "float32", shape: ["batch_size", 256] });
    await unet.dispose();
    expect((pipe.describe().contracts as { unet: { timestepCond?: unknown } }).unet.timestepCond).toEqual({ type: "float32", dim: 256 });
  });

  it("uses LCM's defaults (4 steps, w 8.5) and steers through the embedding, not by doubling the batch", async () => {
    const r = await pipe.generate({ prompt: "a red star", seed: 5 });
    expect(r.scheduler).toBe("LCMScheduler");
    expect(r.timesteps).toEqual([999, 759, 499, 259]);
    expect(r.options).toMatchObject({ num_inference_steps: 4, guidance_scale: 8.5 });
    expect(r.images[0].negativePrompt).toBeUndefined();
    const again = await pipe.generate({ prompt: "a red star", seed: 5, num_inference_steps: 4, guidance_scale: 8.5 });
    expect(Buffer.from(again.images[0].data).equals(Buffer.from(r.images[0].data))).toBe(true);
    const other = await pipe.generate({ prompt: "a red star", seed: 5, guidance_scale: 2 });
    expect(Buffer.from(other.images[0].data).equals(Buffer.from(r.images[0].data))).toBe(false);
    // the UNet saw one batch per step: 4 steps, 4 runs, each of batch 1
    const calls: number[] = [];
    const unet = (pipe as unknown as { components: { acquire(n: string): Promise<ModelSession> } }).components;
    const session = await unet.acquire("unet");
    const run = session.run.bind(session);
    session.run = async (feeds, signal) => {
      calls.push(feeds.sample.dims[0]);
      expect(feeds.timestep_cond.dims).toEqual([feeds.sample.dims[0], 256]);
      return run(feeds, signal);
    };
    try {
      await pipe.generate({ prompt: ["a red star", "a blue ring"], seed: 5 });
    } finally {
      session.run = run;
    }
    expect(calls).toEqual([2, 2, 2, 2]);
  });

  it("refuses negative_prompt, and init images that are no image, naming the field", async () => {
    const neg = await pipe.generate({ prompt: "a red star", negative_prompt: "blurry" }).catch((e: unknown) => e);
    expect(neg).toBeInstanceOf(InvalidInputError);
    expect((neg as InvalidInputError).field).toBe("negative_prompt");
    expect((neg as Error).message).toMatch(/guidance_scale reaches the UNet as an embedding/);
    // LCM does image-to-image (test/diffusion/img2img-families-pipelines.test.ts); these bytes are no image
    await expect(pipe.generate({ prompt: "a red star", image: "AAAA" })).rejects.toMatchObject({ field: "image", message: expect.stringMatching(/cannot be decoded/) });
  });
});

describe("a Turbo-like model folder (one step, no guidance)", () => {
  it("builds SD 2.x with Euler ancestral on trailing timesteps, and generates in one step at t = 999 without a negative branch", async () => {
    const dir = await tinyModel({ pipeline: "turbo" });
    const scheduler = JSON.parse(await readFile(path.join(dir, "scheduler", "scheduler_config.json"), "utf8"));
    expect(scheduler).toMatchObject({ _class_name: "EulerAncestralDiscreteScheduler", timestep_spacing: "trailing" });
    const pipe = await StableDiffusionPipeline.load(dir, quiet);
    try {
      expect(pipe.tokenizer.padTokenId).toBe(pipe.tokenizer.encode("!")[1]); // SD 2.x tokenizer
      let runs = 0;
      const r = await pipe.generate({ prompt: "a cat", negative_prompt: "ignored at guidance 0", guidance_scale: 0, num_inference_steps: 1, seed: 1 }, { onStep: () => runs++ });
      expect(r.scheduler).toBe("EulerAncestralDiscreteScheduler");
      expect(r.timesteps).toEqual([999]);
      expect(runs).toBe(1);
      expect(r.images[0].negativePrompt).toBeUndefined();
      expect(new Set(r.images[0].data).size).toBeGreaterThan(10);
    } finally {
      await pipe.dispose();
    }
  });

  it("lands on the shapes model's picture in one step with the Turbo scheduler config", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "turbo-shapes-"));
    const { dir } = await buildShapesModelFolder({ outDir: path.join(root, "shapes") });
    await writeFile(path.join(dir, "scheduler", "scheduler_config.json"), JSON.stringify(pipelineSchedulerConfig("turbo", "epsilon")));
    const pipe = await StableDiffusionPipeline.load(dir, quiet);
    try {
      const prompt = "a yellow triangle on a blue background";
      const r = await pipe.generate({ prompt, guidance_scale: 0, num_inference_steps: 1, seed: 2, width: 96, height: 64 }, { returnTensors: true });
      expect(r.timesteps).toEqual([999]);
      const check = matchesTarget(r.tensors!.images[0], shapesTarget(prompt, 96, 64).rgb, 1e-5);
      expect(check.pass, `max diff ${check.maxDiff}`).toBe(true);
      // image-to-image in one step too
      const i2i = await pipe.generate({ prompt, image: new Uint8Array(await readFile(path.join(repoRoot, "docs", "images", "red-star-on-blue.png"))), strength: 1, guidance_scale: 0, num_inference_steps: 1, seed: 2, width: 96, height: 64 }, { returnTensors: true });
      expect(matchesTarget(i2i.tensors!.images[0], shapesTarget(prompt, 96, 64).rgb, 1e-5).pass).toBe(true);
    } finally {
      await pipe.dispose();
    }
  });
});

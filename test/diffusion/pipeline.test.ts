/** The SD pipeline on builder-made tiny models: every tensor contract, determinism, switches, progress, cancellation. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CancelledError,
  InvalidInputError,
  StableDiffusionPipeline,
  TorchGenerator,
  encodePng,
  silentLogger,
} from "../../lib/index.js";
import { tinyModel } from "../helpers/tiny-model.js";
import { ModelSession } from "../../lib/onnx/session.js";
import { vaeEncoderContract } from "../../lib/onnx/contracts.js";
import path from "node:path";

const quiet = { providers: ["cpu" as const], logger: silentLogger };
const request = { prompt: "a red star", negative_prompt: "blurry", num_inference_steps: 3, seed: 7 };

describe("every tensor contract variant loads and generates", () => {
  const variants = [
    { inputIds: "int64", timestep: "float-scalar", vaeEncoderOutput: "latent_parameters" },
    { inputIds: "int32", timestep: "float-scalar", vaeEncoderOutput: "latent_sample" },
    { inputIds: "int64", timestep: "int64-batch", vaeEncoderOutput: "latent_parameters" },
    { inputIds: "int32", timestep: "int64-batch", vaeEncoderOutput: "latent_sample" },
    { inputIds: "int64", timestep: "float-batch", vaeEncoderOutput: "latent_sample" },
    { inputIds: "int32", timestep: "float-batch", vaeEncoderOutput: "latent_parameters" },
  ] as const;
  for (const v of variants) {
    it(`input_ids ${v.inputIds}, timestep ${v.timestep}, vae encoder ${v.vaeEncoderOutput}`, async () => {
      const pipe = await StableDiffusionPipeline.load(await tinyModel(v), quiet);
      try {
        const c = pipe.describe().contracts as { textEncoder: { idsType: string }; unet: { timestep: { type: string; rank: number } } };
        expect(c.textEncoder.idsType).toBe(v.inputIds);
        expect(c.unet.timestep).toMatchObject(
          v.timestep === "float-scalar" ? { type: "float32", rank: 0 } : v.timestep === "int64-batch" ? { type: "int64", rank: 1 } : { type: "float32", rank: 1 },
        );
        const encoder = await ModelSession.open("vae_encoder", path.join(pipe.dir, "vae_encoder", "model.onnx"), { providers: ["cpu"] });
        expect(vaeEncoderContract(encoder)).toEqual({ inputType: "float32", output: v.vaeEncoderOutput });
        await encoder.dispose();
        const r = await pipe.generate(request);
        expect(r.images).toHaveLength(1);
        expect([r.images[0].width, r.images[0].height]).toEqual([64, 64]);
        expect(r.images[0].data.length).toBe(64 * 64 * 3);
        // not a flat image: the model did something
        expect(new Set(r.images[0].data).size).toBeGreaterThan(10);
      } finally {
        await pipe.dispose();
      }
    });
  }

  it("the SD 2.x family (linear projections, '!' padding, v-prediction) loads and generates", async () => {
    const pipe = await StableDiffusionPipeline.load(await tinyModel({ family: "sd2", predictionType: "v_prediction" }), quiet);
    try {
      expect(pipe.tokenizer.padTokenId).toBe(pipe.tokenizer.encode("!")[1]);
      const r = await pipe.generate({ ...request, scheduler: "euler" });
      expect(r.scheduler).toBe("EulerDiscreteScheduler");
      expect(r.images[0].data.length).toBe(64 * 64 * 3);
    } finally {
      await pipe.dispose();
    }
  });
});

describe("StableDiffusionPipeline on the tiny model", () => {
  let pipe: StableDiffusionPipeline;
  beforeAll(async () => {
    pipe = await StableDiffusionPipeline.load(await tinyModel(), quiet);
  });
  afterAll(async () => {
    await pipe?.dispose();
  });

  it("gives identical bytes for the same seed, twice", async () => {
    const a = await pipe.generate(request);
    const b = await pipe.generate(request);
    expect(Buffer.from(a.images[0].data).equals(Buffer.from(b.images[0].data))).toBe(true);
    expect((await encodePng(a.images[0])).equals(await encodePng(b.images[0]))).toBe(true);
    const c = await pipe.generate({ ...request, seed: 8 });
    expect(Buffer.from(a.images[0].data).equals(Buffer.from(c.images[0].data))).toBe(false);
  });

  it("uses caller-given latents exactly as the seed's noise", async () => {
    const n = 1 * 4 * 8 * 8;
    const seeded = await pipe.generate(request, { returnTensors: true });
    const given = await pipe.generate({ ...request, seed: 99 }, { latents: new TorchGenerator(7).randn(n), returnTensors: true });
    expect(Buffer.from(given.images[0].data).equals(Buffer.from(seeded.images[0].data))).toBe(true);
    await expect(pipe.generate(request, { latents: new Float32Array(5) })).rejects.toThrow(/latents: has 5 values/);
  });

  it("generates a batch of prompts with several images each, in prompt-major order", async () => {
    const r = await pipe.generate({ ...request, prompt: ["a red star", "a blue ring"], num_images_per_prompt: 2 });
    expect(r.images.map((i) => [i.prompt, i.index])).toEqual([
      ["a red star", 0],
      ["a red star", 1],
      ["a blue ring", 2],
      ["a blue ring", 3],
    ]);
    expect(r.images.every((i) => i.negativePrompt === "blurry")).toBe(true);
    expect(Buffer.from(r.images[0].data).equals(Buffer.from(r.images[1].data))).toBe(false);
  });

  it("skips the negative branch when guidance is off", async () => {
    const r = await pipe.generate({ ...request, guidance_scale: 1 });
    expect(r.images[0].negativePrompt).toBeUndefined();
  });

  it("reports progress after every step and timings per stage", async () => {
    const seen: number[] = [];
    const r = await pipe.generate({ ...request, num_inference_steps: 4, scheduler: "ddim" }, { onStep: (p) => seen.push(p.step * 100 + p.totalSteps) });
    expect(seen).toEqual([104, 204, 304, 404]);
    const t = r.timings;
    expect(t.stepMs).toHaveLength(4);
    expect(t.sessionRunMs).toBeGreaterThan(0);
    expect(t.sessionRunMs).toBeLessThanOrEqual(t.totalMs);
    expect(t.textEncoderMs + t.denoiseMs + t.decodeMs).toBeLessThanOrEqual(t.totalMs);
  });

  it("stops between steps when the signal aborts, and stays usable", async () => {
    const ac = new AbortController();
    const steps: number[] = [];
    const err = await pipe
      .generate({ ...request, num_inference_steps: 10 }, { signal: ac.signal, onStep: (p) => (steps.push(p.step), p.step === 2 && ac.abort(new Error("user stop"))) })
      .catch((e) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(err.message).toContain("user stop");
    expect(steps).toEqual([1, 2]);
    const again = await pipe.generate(request);
    expect(again.images).toHaveLength(1);
  });

  it("rejects bad requests with the field and the allowed values", async () => {
    const bad = async (input: object) => (await pipe.generate(input as never).catch((e) => e)) as InvalidInputError;
    let e = await bad({ ...request, scheduler: "warp-drive" });
    expect(e).toBeInstanceOf(InvalidInputError);
    expect(e.field).toBe("scheduler");
    expect(e.allowed).toContain("DPM++ 2M Karras");
    e = await bad({ ...request, width: 72 });
    expect([e.field, e.allowed]).toEqual(["width", "a multiple of 16"]);
    e = await bad({ ...request, prompt: ["a", "b"], negative_prompt: ["x"] });
    expect(e.field).toBe("negative_prompt");
    e = await bad({ ...request, num_inference_steps: 0 });
    expect(e.field).toBe("num_inference_steps");
    e = await bad({ ...request, guidance_scale: -2 });
    expect(e.field).toBe("guidance_scale");
    e = await bad({ ...request, prompt_3: "t5 text" });
    expect([e.field, e.message]).toEqual(["prompt_3", "prompt_3: is not used by SD 1.x/2.x models (allowed: for SD 1.x/2.x: image, strength)"]);
  });

  it("runs every scheduler", async () => {
    for (const scheduler of ["pndm", "ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lms", "heun", "lcm"]) {
      const r = await pipe.generate({ ...request, scheduler });
      expect(r.images[0].data.length, scheduler).toBe(64 * 64 * 3);
    }
  });
});

describe("precision", () => {
  it("falls back to the folder's precision with a logged reason", async () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => warnings.push(m) };
    const pipe = await StableDiffusionPipeline.load(await tinyModel(), { providers: ["cpu"], dtype: "float16", logger });
    await pipe.dispose();
    expect(warnings).toEqual(["dtype: float16 requested, but the folder holds only float32 (weights are not converted at load time)"]);
    expect(pipe.describe().dtype).toBe("float32");
  });
});

describe("memory switches change memory, not results", () => {
  it("cpu offload, VAE slicing, attention slicing and low CPU memory give the default's exact bytes", async () => {
    const dir = await tinyModel();
    const req = { ...request, num_images_per_prompt: 2 };
    const base = await StableDiffusionPipeline.load(dir, quiet);
    const want = await base.generate(req);
    await base.dispose();
    for (const sw of [{ cpuOffload: true }, { vaeSlicing: true }, { attentionSlicing: true }, { lowCpuMem: true }]) {
      const pipe = await StableDiffusionPipeline.load(dir, { ...quiet, ...sw });
      try {
        const got = await pipe.generate(req);
        for (let i = 0; i < 2; i++) {
          expect(Buffer.from(got.images[i].data).equals(Buffer.from(want.images[i].data)), JSON.stringify(sw)).toBe(true);
        }
        if (sw.cpuOffload) expect(pipe.loadedComponents()).toEqual([]);
        else expect(pipe.loadedComponents().sort()).toEqual(["text_encoder", "unet", "vae_decoder"]);
      } finally {
        await pipe.dispose();
      }
    }
  });
});

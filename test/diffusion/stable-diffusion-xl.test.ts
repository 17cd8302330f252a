/**
 * The SDXL pipeline on builder-made tiny SDXL models: every tensor contract variant, determinism,
 * the conditioning wiring (time_ids, prompt_2, penultimate hidden states, pooled text_embeds, zero
 * negative prompts), request checks, switches and load errors. The comparison with diffusers' own
 * pipeline is in stable-diffusion-xl-diffusers.test.ts.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { StableDiffusionXLPipeline } from "../../lib/diffusion/stable-diffusion-xl.js";
import { CancelledError, InvalidInputError, ModelLoadError, loadPipeline, silentLogger, type GenerateOptionsInput } from "../../lib/index.js";
import { buildClipTextEncoder } from "../../lib/onnx/builder/clip-text-encoder.js";
import { axisNames } from "../../lib/onnx/builder/contract.js";
import { SDXL_PRESETS } from "../../lib/onnx/builder/sdxl/presets.js";
import { buildUNet } from "../../lib/onnx/builder/unet.js";
import { inputIdsTensor, toFloat32 } from "../../lib/onnx/contracts.js";
import { ModelSession } from "../../lib/onnx/session.js";
import type { Tensor } from "../../lib/onnx/tensor.js";
import { tinySdxlModel } from "../helpers/tiny-sdxl-model.js";

const quiet = { providers: ["cpu" as const], logger: silentLogger };
const request = { prompt: "a photo of an astronaut", num_inference_steps: 2, guidance_scale: 5, seed: 3 } satisfies GenerateOptionsInput;

/** Runs `fn` and returns the feeds of every UNet call it made, in order. */
async function unetFeeds<T>(fn: () => Promise<T>): Promise<{ result: T; feeds: Record<string, Tensor>[] }> {
  const run = vi.spyOn(ModelSession.prototype, "run");
  try {
    const result = await fn();
    const feeds = run.mock.calls.filter((_, i) => (run.mock.contexts[i] as ModelSession).component === "unet").map(([f]) => f);
    return { result, feeds };
  } finally {
    run.mockRestore();
  }
}

const same = (a: { images: { data: Uint8Array }[] }, b: { images: { data: Uint8Array }[] }) =>
  a.images.every((img, i) => Buffer.from(img.data).equals(Buffer.from(b.images[i].data)));

describe("every SDXL tensor contract variant loads and generates", () => {
  const variants = [
    { inputIds: "int64", timestep: "float-scalar" },
    { inputIds: "int32", timestep: "float-scalar" },
    { inputIds: "int64", timestep: "int64-batch" },
    { inputIds: "int32", timestep: "float-batch" },
  ] as const;
  for (const v of variants) {
    it(`input_ids ${v.inputIds}, timestep ${v.timestep}`, async () => {
      const pipe = await StableDiffusionXLPipeline.load(await tinySdxlModel(v), quiet);
      try {
        const c = pipe.describe().contracts as {
          textEncoder: { idsType: string; penultimateOutput: string };
          textEncoder2: { idsType: string; pooledOutput: string };
          unet: { timestep: { type: string; rank: number }; textEmbeds: object; timeIds: object };
        };
        expect(c.textEncoder).toMatchObject({ idsType: v.inputIds, penultimateOutput: "hidden_states.2" });
        expect(c.textEncoder2).toMatchObject({ idsType: v.inputIds, pooledOutput: "text_embeds" });
        expect(c.unet.timestep).toEqual(
          v.timestep === "float-scalar" ? { type: "float32", rank: 0 } : v.timestep === "int64-batch" ? { type: "int64", rank: 1 } : { type: "float32", rank: 1 },
        );
        expect(c.unet.textEmbeds).toEqual({ type: "float32", dim: 32 });
        expect(c.unet.timeIds).toEqual({ type: "float32", count: 6 });
        const r = await pipe.generate(request);
        expect(r.scheduler).toBe("EulerDiscreteScheduler");
        expect([r.images[0].width, r.images[0].height]).toEqual([64, 64]);
        expect(new Set(r.images[0].data).size).toBeGreaterThan(10);
      } finally {
        await pipe.dispose();
      }
    });
  }
});

describe("StableDiffusionXLPipeline on the tiny SDXL model", () => {
  let pipe: StableDiffusionXLPipeline;
  beforeAll(async () => {
    pipe = await StableDiffusionXLPipeline.load(await tinySdxlModel(), quiet);
  });
  afterAll(async () => {
    await pipe?.dispose();
  });

  it("is what loadPipeline opens for a StableDiffusionXLPipeline folder", async () => {
    const opened = await loadPipeline(pipe.dir, quiet);
    try {
      expect(opened).toBeInstanceOf(StableDiffusionXLPipeline);
      expect(opened.describe()).toMatchObject({ family: "sdxl", className: "StableDiffusionXLPipeline", provider: "cpu", dtype: "float32" });
    } finally {
      await opened.dispose();
    }
  });

  it("gives identical bytes for the same seed, and different ones for another seed", async () => {
    const a = await pipe.generate(request);
    const b = await pipe.generate(request);
    expect(same(a, b)).toBe(true);
    expect(same(a, await pipe.generate({ ...request, seed: 4 }))).toBe(false);
  });

  it("feeds time_ids from the output size by default: [h, w, 0, 0, h, w] on every row, negative rows included", async () => {
    const { feeds } = await unetFeeds(() => pipe.generate({ ...request, width: 96, height: 64 }));
    expect(feeds).toHaveLength(2);
    for (const f of feeds) {
      expect(f.time_ids.dims).toEqual([2, 6]);
      expect(Array.from(f.time_ids.data as Float32Array)).toEqual([64, 96, 0, 0, 64, 96, 64, 96, 0, 0, 64, 96]);
      expect(f.sample.dims).toEqual([2, 4, 8, 12]);
    }
  });

  it("feeds original_size, crops_coords_top_left and target_size as given, for every image of the batch", async () => {
    const { feeds } = await unetFeeds(() =>
      pipe.generate({ ...request, prompt: ["a", "b"], num_images_per_prompt: 2, original_size: [1024, 768], crops_coords_top_left: [32, 16], target_size: [512, 384] }),
    );
    expect(feeds[0].time_ids.dims).toEqual([8, 6]);
    expect(Array.from(feeds[0].time_ids.data as Float32Array)).toEqual(new Array(8).fill([1024, 768, 32, 16, 512, 384]).flat());
  });

  it("changes the time_ids and so the image when only original_size changes", async () => {
    const a = await pipe.generate(request);
    const b = await pipe.generate({ ...request, original_size: [256, 256] });
    expect(same(a, b)).toBe(false);
  });

  it("sends prompt_2 to the second encoder: a different prompt_2 changes the image, prompt_2 = prompt changes nothing", async () => {
    const base = await pipe.generate(request);
    expect(same(base, await pipe.generate({ ...request, prompt_2: request.prompt }))).toBe(true);
    expect(same(base, await pipe.generate({ ...request, prompt_2: "a bowl of ramen" }))).toBe(false);
  });

  it("feeds the penultimate hidden states of both encoders side by side and text_encoder_2's text_embeds", async () => {
    const prompts = { prompt: "a red dog", prompt_2: "a blue bird", negative_prompt: "blurry", negative_prompt_2: "dark" };
    const { feeds } = await unetFeeds(() => pipe.generate({ ...request, ...prompts }));
    const encode = async (component: string, tokenizer: number, texts: string[]) => {
      const session = await ModelSession.open(component, path.join(pipe.dir, component, "model.onnx"), { providers: ["cpu"] });
      try {
        const ids = pipe.tokenizers[tokenizer].call(texts, { padding: "max_length", truncation: true }).inputIds;
        return await session.run({ input_ids: inputIdsTensor({ idsType: "int64", hiddenOutput: "last_hidden_state" }, ids) });
      } finally {
        await session.dispose();
      }
    };
    // [negative, positive] rows; the tiny encoders have 3 layers: hidden_states.2 is the penultimate.
    const one = await encode("text_encoder", 0, [prompts.negative_prompt, prompts.prompt]);
    const two = await encode("text_encoder_2", 1, [prompts.negative_prompt_2, prompts.prompt_2]);
    const h1 = toFloat32(one["hidden_states.2"]);
    const h2 = toFloat32(two["hidden_states.2"]);
    const expected = new Float32Array(2 * 77 * 64);
    for (let row = 0; row < 2 * 77; row++) {
      expected.set(h1.subarray(row * 32, row * 32 + 32), row * 64);
      expected.set(h2.subarray(row * 32, row * 32 + 32), row * 64 + 32);
    }
    expect(feeds[0].encoder_hidden_states.dims).toEqual([2, 77, 64]);
    expect(Array.from(feeds[0].encoder_hidden_states.data as Float32Array)).toEqual(Array.from(expected));
    expect(Array.from(feeds[0].text_embeds.data as Float32Array)).toEqual(Array.from(toFloat32(two.text_embeds)));
    // The last layer (hidden_states.3) is not what the UNet sees.
    expect(Array.from(toFloat32(one["hidden_states.3"])).slice(0, 32)).not.toEqual(Array.from(expected.subarray(0, 32)));
  });

  it("feeds zero negative embeddings when no negative_prompt is given (force_zeros_for_empty_prompt), even with negative_prompt_2", async () => {
    for (const extra of [{}, { negative_prompt_2: "dark" }]) {
      const { feeds } = await unetFeeds(() => pipe.generate({ ...request, ...extra }));
      const hidden = feeds[0].encoder_hidden_states.data as Float32Array;
      const pooled = feeds[0].text_embeds.data as Float32Array;
      expect(hidden.subarray(0, hidden.length / 2).every((v) => v === 0)).toBe(true);
      expect(hidden.subarray(hidden.length / 2).some((v) => v !== 0)).toBe(true);
      expect(pooled.subarray(0, pooled.length / 2).every((v) => v === 0)).toBe(true);
    }
    // An explicit empty negative prompt is encoded, not zeroed.
    const { feeds } = await unetFeeds(() => pipe.generate({ ...request, negative_prompt: "" }));
    const hidden = feeds[0].encoder_hidden_states.data as Float32Array;
    expect(hidden.subarray(0, hidden.length / 2).some((v) => v !== 0)).toBe(true);
  });

  it("encodes an empty negative prompt when model_index.json turns force_zeros_for_empty_prompt off", async () => {
    const off = await StableDiffusionXLPipeline.load(await tinySdxlModel({ forceZerosForEmptyPrompt: false }), quiet);
    try {
      expect(same(await off.generate(request), await pipe.generate({ ...request, negative_prompt: "" }))).toBe(true);
    } finally {
      await off.dispose();
    }
  });

  it("does not run the negative branch without guidance", async () => {
    const { feeds, result } = await unetFeeds(() => pipe.generate({ ...request, guidance_scale: 1 }));
    expect(feeds[0].sample.dims[0]).toBe(1);
    expect(feeds[0].time_ids.dims).toEqual([1, 6]);
    expect(result.images[0].negativePrompt).toBeUndefined();
  });

  it("refuses fields SDXL text-to-image does not use, sizes the UNet cannot take and per-prompt lists of the wrong length", () => {
    const refused = (extra: object, field: string) => {
      const error = (() => {
        try {
          pipe.resolve({ ...request, ...extra });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe(field);
    };
    refused({ prompt_3: "x" }, "prompt_3");
    refused({ strength: 0.5 }, "strength");
    refused({ width: 72 }, "width");
    refused({ prompt: ["a", "b"], negative_prompt: ["x"] }, "negative_prompt");
    refused({ prompt: ["a", "b"], prompt_2: ["x", "y", "z"] }, "prompt_2");
    refused({ prompt: ["a", "b"], negative_prompt_2: ["x"] }, "negative_prompt_2");
    expect(pipe.resolve({ prompt: "a" })).toMatchObject({ width: 64, height: 64 });
  });

  it("gives the same image with attention slicing (two half batches) and with CPU offload, which closes every session", async () => {
    const base = await pipe.generate(request);
    for (const switches of [{ attentionSlicing: true }, { cpuOffload: true }]) {
      const other = await StableDiffusionXLPipeline.load(pipe.dir, { ...quiet, ...switches });
      try {
        expect(same(base, await other.generate(request))).toBe(true);
        if (switches.cpuOffload) expect(other.loadedComponents()).toEqual([]);
      } finally {
        await other.dispose();
      }
    }
  });

  it("reports progress per step and stops between steps when cancelled", async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const run = pipe.generate(
      { ...request, num_inference_steps: 4 },
      {
        signal: controller.signal,
        onStep: (p) => {
          steps.push(p.step);
          if (p.step === 2) controller.abort();
        },
      },
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(steps).toEqual([1, 2]);
  });
});

describe("SDXL folders the pipeline refuses", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "sdxl-broken-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const copyWith = async (name: string, replace: (folder: string) => Promise<void>) => {
    const folder = path.join(dir, name);
    await cp(await tinySdxlModel(), folder, { recursive: true });
    await replace(folder);
    return folder;
  };
  const sizes = SDXL_PRESETS.tiny;
  const axes = axisNames("float-scalar");

  it("a text encoder without hidden_states outputs, naming the penultimate hidden state", async () => {
    const folder = await copyWith("no-hidden-states", async (f) => {
      const g = buildClipTextEncoder({ ...sizes.textEncoder, vocabSize: 1000 }, { inputIds: "int64", axes, outputHiddenStates: false, seed: 0 });
      await g.save(path.join(f, "text_encoder", "model.onnx"), { externalData: false });
    });
    await expect(StableDiffusionXLPipeline.load(folder, quiet)).rejects.toThrow(/penultimate hidden state/);
  });

  it("a UNet without text_embeds and time_ids", async () => {
    const folder = await copyWith("sd-unet", async (f) => {
      const { textTimeEmbedding: _, ...plain } = sizes.unet;
      await buildUNet(plain, { timestep: "float-scalar", axes, seed: 0, gpuOnlyOps: false }).save(path.join(f, "unet", "model.onnx"), { externalData: false });
    });
    await expect(StableDiffusionXLPipeline.load(folder, quiet)).rejects.toThrow(/'text_embeds' is missing/);
  });

  it("a UNet whose add_embedding size does not fit the time ids and text_embeds", async () => {
    const folder = await copyWith("bad-config", async (f) => {
      const file = path.join(f, "unet", "config.json");
      const config = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
      await writeFile(file, JSON.stringify({ ...config, addition_time_embed_dim: 16 }));
    });
    const error = await StableDiffusionXLPipeline.load(folder, quiet).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/add_embedding takes 80 values/);
  });
});

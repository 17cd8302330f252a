/**
 * The SD3 pipeline on builder-made tiny SD3 folders: end to end against diffusers' StableDiffusion3Pipeline
 * (fixtures from test/reference/sd3_pipeline.py, which says how to regenerate them), and the
 * conditioning wiring: prompt_3 reaches T5, max_sequence_length sets T5's length, no T5 means zeros.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StableDiffusion3Pipeline } from "../../lib/diffusion/stable-diffusion-3.js";
import { loadPipeline } from "../../lib/diffusion/load-pipeline.js";
import { silentLogger } from "../../lib/logger.js";
import { buildSd3ModelFolder, type BuildSd3ModelFolderOptions } from "../../lib/onnx/builder/sd3/model-folder.js";
import { SD3_PRESETS } from "../../lib/onnx/builder/sd3/presets.js";
import type { GenerateOptionsInput } from "../../lib/diffusion/options.js";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/sd3-pipeline");
const SD3_TINY = { ...SD3_PRESETS.tiny.transformer, dualAttentionLayers: [], qkNorm: null };

/** Folders the reference script reads by name (diffusers v0.29.2 has no SD3.5 options: plain MMDiT). */
const CASES: Record<string, Omit<BuildSd3ModelFolderOptions, "outDir">> = {
  "sd3-tiny": { seed: 21, sizes: { transformer: SD3_TINY } },
  "sd3-tiny-no-t5": { seed: 22, sizes: { transformer: SD3_TINY, textEncoder3: null } },
  "sd35-tiny": { seed: 23 },
};

interface Fixture {
  request: GenerateOptionsInput & { seed: number };
  timesteps: number[];
  t5_input_ids: number[][] | null;
  latents_shape: number[];
  final_latents: string;
  image_shape: number[];
  image: string;
}

const decode = (b64: string) => {
  const bytes = Buffer.from(b64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

let root: string;
const keep = process.env.SD3_PIPELINE_OUT;
const pipes = new Map<string, StableDiffusion3Pipeline>();
const runtime = { providers: ["cpu" as const], threads: 1, logger: silentLogger };

beforeAll(async () => {
  root = keep ? path.resolve(keep) : await mkdtemp(path.join(os.tmpdir(), "sd3-pipeline-"));
  for (const [name, options] of Object.entries(CASES)) {
    await buildSd3ModelFolder({ ...options, outDir: path.join(root, name), overwrite: true });
    pipes.set(name, await StableDiffusion3Pipeline.load(path.join(root, name), runtime));
  }
});
afterAll(async () => {
  for (const p of pipes.values()) await p.dispose();
  if (!keep) await rm(root, { recursive: true, force: true });
});

describe("StableDiffusion3Pipeline against diffusers", () => {
  for (const name of ["sd3-tiny", "sd3-tiny-no-t5"]) {
    const file = path.join(FIXTURES, `${name}.json`);
    it(`gives diffusers' latents and image for the same seed (${name})`, async () => {
      const f = JSON.parse(readFileSync(file, "utf8")) as Fixture;
      const result = await pipes.get(name)!.generate(f.request, { returnTensors: true });
      expect(result.timesteps).toEqual(f.timesteps);
      expect(result.tensors!.finalLatents.dims).toEqual(f.latents_shape);
      if (f.t5_input_ids) {
        const t5 = pipes.get(name)!.tokenizers.t5!;
        expect(t5.call([f.request.prompt_3 as string], { maxLength: f.request.max_sequence_length }).inputIds).toEqual(f.t5_input_ids);
      }
      const latentDiff = maxAbsDiff(result.tensors!.finalLatents.data, decode(f.final_latents));
      const imageDiff = maxAbsDiff(result.tensors!.images[0], decode(f.image));
      if (process.env.SD3_PIPELINE_REPORT) console.log(name, { latentDiff, imageDiff });
      // measured with 1 thread: latents 2.5e-6 / 2.1e-6, images 2.8e-6 / 4.0e-6 (sd3-tiny / sd3-tiny-no-t5)
      expect(latentDiff).toBeLessThan(1e-4);
      expect(imageDiff).toBeLessThan(1e-4);
    });
  }
});

describe("StableDiffusion3Pipeline", () => {
  const request = { prompt: "a photo of a cat", num_inference_steps: 2, width: 64, height: 64, seed: 3, guidance_scale: 3 } as const;

  it("opens SD3 folders through loadPipeline and describes their contracts", async () => {
    const pipe = await loadPipeline(path.join(root, "sd35-tiny"), runtime);
    try {
      expect(pipe).toBeInstanceOf(StableDiffusion3Pipeline);
      const d = pipe.describe();
      expect(d.family).toBe("sd3");
      expect(d.dtype).toBe("float32");
      expect(JSON.stringify(d.contracts)).toContain("hidden_states.1");
    } finally {
      await pipe.dispose();
    }
  });

  it("is deterministic for a seed and takes SD3's defaults (28 steps, 1024 px from sample_size)", async () => {
    const pipe = pipes.get("sd35-tiny")!;
    const a = await pipe.generate(request, { returnTensors: true });
    const b = await pipe.generate(request, { returnTensors: true });
    expect(a.tensors!.finalLatents.data).toEqual(b.tensors!.finalLatents.data);
    expect(a.scheduler).toBe("FlowMatchEulerDiscreteScheduler");
    const resolved = pipe.resolve({ prompt: "x" });
    expect([resolved.num_inference_steps, resolved.guidance_scale, resolved.width, resolved.height]).toEqual([28, 7, 64, 64]);
  });

  it("sends prompt_3 to T5 only: changing it changes the image", async () => {
    const pipe = pipes.get("sd35-tiny")!;
    const a = await pipe.generate({ ...request, prompt_3: "a red bird" }, { returnTensors: true });
    const b = await pipe.generate({ ...request, prompt_3: "a blue river" }, { returnTensors: true });
    expect(maxAbsDiff(a.tensors!.finalLatents.data, b.tensors!.finalLatents.data)).toBeGreaterThan(1e-4);
  });

  it("runs a folder without T5, with zeros for its 77 tokens", async () => {
    const pipe = pipes.get("sd3-tiny-no-t5")!;
    expect(pipe.hasT5).toBe(false);
    const r = await pipe.generate({ ...request, max_sequence_length: 64 });
    expect(r.images[0].width).toBe(64);
  });

  it("sets T5's sequence length from max_sequence_length (encoder_hidden_states is 77 + that long)", async () => {
    const pipe = pipes.get("sd35-tiny")!;
    const lengths: number[] = [];
    const session = await (pipe as unknown as { components: { acquire(n: string): Promise<{ run: (f: Record<string, { dims: readonly number[] }>) => unknown }> } }).components.acquire("transformer");
    const run = session.run.bind(session);
    session.run = (feeds) => {
      lengths.push(feeds.encoder_hidden_states.dims[1]);
      return run(feeds);
    };
    try {
      await pipe.generate({ ...request, num_inference_steps: 1, max_sequence_length: 20 });
      await pipe.generate({ ...request, num_inference_steps: 1 });
    } finally {
      session.run = run;
    }
    expect(lengths).toEqual([97, 77 + 256]);
  });

  it("refuses SDXL-only fields, sizes the transformer cannot take and non-flow-matching schedulers, naming the field", async () => {
    const pipe = pipes.get("sd35-tiny")!;
    expect(() => pipe.resolve({ prompt: "x", original_size: [64, 64] })).toThrow(/original_size/);
    expect(() => pipe.resolve({ prompt: "x", width: 72 })).toThrow(/width.*multiple of 16/);
    expect(() => pipe.resolve({ prompt: "x", width: 512 })).toThrow(/up to 256/);
    expect(() => pipe.resolve({ prompt: "x", scheduler: "euler" })).toThrow(/scheduler/);
    expect(() => pipe.resolve({ prompt: ["a", "b"], prompt_3: ["c"] })).toThrow(/prompt_3/);
    expect(pipe.resolve({ prompt: "x", scheduler: "flow_match_euler" }).scheduler).toBe("flow_match_euler");
  });
});

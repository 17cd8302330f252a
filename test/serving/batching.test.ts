import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TorchGenerator } from "../../lib/index.js";
import { batchKey, batchRequest } from "../../serving/runtime/batching.js";
import type { ResolvedOptions, WorkerJob } from "../../serving/runtime/worker-protocol.js";
import { raw, startServer, type TestServer } from "./runtime-helpers.js";

const base: ResolvedOptions = {
  prompt: "a",
  num_inference_steps: 2,
  guidance_scale: 7.5,
  num_images_per_prompt: 1,
  eta: 0,
  width: 64,
  height: 64,
};

describe("batching rules", () => {
  it("batches requests that differ only in prompt, negative prompt and seed, for schedulers that draw no noise during steps", () => {
    const k = batchKey({ ...base, seed: 1 }, "PNDMScheduler");
    expect(k).toBeDefined();
    expect(batchKey({ ...base, prompt: "b", negative_prompt: "c", seed: 2 }, "PNDMScheduler")).toBe(k);
    expect(batchKey({ ...base, num_inference_steps: 3 }, "PNDMScheduler")).not.toBe(k);
    expect(batchKey({ ...base, width: 128 }, "PNDMScheduler")).not.toBe(k);
    expect(batchKey(base, "EulerDiscreteScheduler")).not.toBe(k);
    for (const noisy of ["EulerAncestralDiscreteScheduler", "LCMScheduler", "SomeFutureScheduler"]) expect(batchKey(base, noisy)).toBeUndefined();
    expect(batchKey({ ...base, eta: 0.5 }, "DDIMScheduler")).toBeUndefined();
    expect(batchKey({ ...base, image: "aGVsbG8=" }, "PNDMScheduler")).toBeUndefined();
  });

  it("draws each request's noise from its own seed and concatenates prompts and negatives in order", () => {
    const jobs: WorkerJob[] = [
      { id: 1, options: { ...base, prompt: "a", num_images_per_prompt: 2 }, seed: 11, outputFormat: "PNG" },
      { id: 2, options: { ...base, prompt: ["b", "c"], negative_prompt: ["x", "y"] }, seed: 22, outputFormat: "PNG" },
    ];
    const { options, latents } = batchRequest(jobs, 16);
    expect(options.prompt).toEqual(["a", "b", "c"]);
    expect(options.negative_prompt).toEqual(["", "x", "y"]);
    expect(Array.from(latents.subarray(0, 32))).toEqual(Array.from(new TorchGenerator(11).randn(32)));
    expect(Array.from(latents.subarray(32))).toEqual(Array.from(new TorchGenerator(22).randn(32)));
  });
});

describe("dynamic batching in the server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ MODEL_ID: "shapes", MAX_BATCH_SIZE: "4" });
  });
  afterAll(async () => server?.close());

  const predict = (instances: object[]) => raw(`${server.url}/v1/models/model:predict`, "POST", JSON.stringify({ instances }));
  const small = { width: 64, height: 64, num_inference_steps: 3 };
  const compatible = [
    { prompt: "a red star", seed: 1, ...small },
    { prompt: "a blue heart", negative_prompt: "green", seed: 2, ...small },
    { prompt: "a green ring", seed: 3, ...small },
  ];

  it("runs compatible requests that wait together as one batch, each with the image it gets alone", async () => {
    // A long request occupies the worker while the others queue up behind it.
    const blocker = predict([{ prompt: "a big white circle", width: 512, height: 512, num_inference_steps: 150, seed: 0 }]);
    for (let i = 0; i < 300 && server.runtime.model.queue.inFlight === 0; i++) await sleep(5);
    const together = await Promise.all([
      ...compatible.map((c) => predict([c])),
      predict([{ ...compatible[0], scheduler: "Euler a" }]),
    ]);
    expect((await blocker).status).toBe(200);
    const batched = together.map((r) => r.json().predictions[0]);
    expect(batched.map((p) => p.timings.batch_size)).toEqual([3, 3, 3, 1]);
    for (const [i, c] of compatible.entries()) {
      const alone = (await predict([c])).json().predictions[0];
      expect(alone.timings.batch_size).toBe(1);
      expect(alone.image.b64).toBe(batched[i].image.b64);
      expect(alone.seed).toBe(batched[i].seed);
    }
  });

  it("batches the instances of one multi-instance request too", async () => {
    const blocker = predict([{ prompt: "a big white circle", width: 512, height: 512, num_inference_steps: 150, seed: 0 }]);
    for (let i = 0; i < 300 && server.runtime.model.queue.inFlight === 0; i++) await sleep(5);
    const res = (await predict(compatible)).json();
    await blocker;
    expect(res.predictions.map((p: { timings: { batch_size: number } }) => p.timings.batch_size)).toEqual([3, 3, 3]);
    expect(res.predictions.map((p: { prompt: string }) => p.prompt)).toEqual(compatible.map((c) => c.prompt));
  });
});

import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KServeClient } from "../../lib/index.js";
import { raw, startServer, type TestServer } from "./runtime-helpers.js";

/** The random `tiny` model at 192 px: about 0.1 s per step here, slow enough to observe a running generation. */
const SLOW = { prompt: "slow", width: 192, height: 192, num_inference_steps: 10, seed: 1 };
const FAST = { prompt: "fast", width: 64, height: 64, num_inference_steps: 2, seed: 2 };

// Two servers for the whole file (each start spawns a worker and loads a model): one default, one with a queue depth of 0.
let shared: TestServer;
beforeAll(async () => {
  shared = await startServer({ MODEL_ID: "tiny" });
});
afterAll(async () => {
  await shared?.close();
});

const predict = (s: TestServer, instance: object, signal?: AbortSignal) =>
  request(`${s.url}/v1/models/model:predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ instances: [instance] }),
    signal,
  }).then(async (r) => ({ status: r.statusCode, headers: r.headers, json: (await r.body.json()) as any }));

/** Generations that ran to the end (the denoising stage is recorded only for those). */
async function completed(s: TestServer): Promise<number> {
  const text = (await raw(`${s.url}/metrics`, "GET")).body.toString();
  return Number(/diffusion_stage_duration_seconds_count\{stage="denoising",model_name="model"\} (\d+)/.exec(text)?.[1] ?? 0);
}

/** Hundreds of steps: many seconds, so only a cancellation ends it early. */
const ENDLESS = { ...SLOW, num_inference_steps: 500 };

async function untilRunning(s: TestServer): Promise<void> {
  for (let i = 0; i < 200 && s.runtime.model.queue.inFlight === 0; i++) await sleep(10);
  await sleep(50);
}

describe("the runtime under load", () => {
  it("answers liveness at once and readiness 503 until the model is loaded; past the queue depth 503 with Retry-After, which the client honours", async () => {
    const server = await startServer({ MODEL_ID: "tiny", MAX_QUEUE_DEPTH: "0", RETRY_AFTER_S: "1" }, { waitForLoad: false });
    try {
    const ready = await raw(`${server.url}/v2/health/ready`, "GET");
    expect(ready.status).toBe(503);
    expect(ready.json()).toEqual({ error: "Model with name model is not ready." });
    expect(ready.headers["retry-after"]).toBe("1");
    expect((await raw(`${server.url}/`, "GET")).status).toBe(200);
    expect((await raw(`${server.url}/v2/health/live`, "GET")).status).toBe(200);
    expect((await raw(`${server.url}/v1/models/model`, "GET")).status).toBe(503);
    const early = await raw(`${server.url}/v1/models/model:predict`, "POST", JSON.stringify({ instances: [FAST] }));
    expect([early.status, early.json().error]).toEqual([503, "Model with name model is not ready."]);
    await server.client.waitUntilReady({ timeoutMs: 60_000, intervalMs: 50 });
    expect((await raw(`${server.url}/v1/models/model`, "GET")).json()).toEqual({ name: "model", ready: true });

    const slow = predict(server, { ...SLOW, num_inference_steps: 40 });
    await untilRunning(server);
    const refused = await predict(server, FAST);
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.json.error).toMatch(/queue is full/);
    const patient = new KServeClient({ url: server.url, retries: 20 });
    const out = await patient.generate(FAST);
    expect(out.images).toHaveLength(1);
    expect((await slow).status).toBe(200);
    const metrics = (await raw(`${server.url}/metrics`, "GET")).body.toString();
    expect(metrics).toMatch(/diffusion_requests_total\{protocol="v1",route="\/v1\/models\/:target",code="503",model_name="model"\} [1-9]/);
    } finally {
      await server.close();
    }
  });

  it("answers health and metrics within milliseconds while an image is being generated", async () => {
    const server = shared;
    const controller = new AbortController();
    const running = predict(server, ENDLESS, controller.signal).catch((e: Error) => e);
    await untilRunning(server);
    const times: number[] = [];
    for (const path of ["/", "/v2/health/live", "/v2/health/ready", "/metrics", "/v1/models/model"]) {
      const t = performance.now();
      expect((await raw(`${server.url}${path}`, "GET")).status).toBe(200);
      times.push(performance.now() - t);
    }
    expect(server.runtime.model.queue.inFlight).toBe(1);
    const metrics = (await raw(`${server.url}/metrics`, "GET")).body.toString();
    expect(metrics).toMatch(/diffusion_requests_running\{model_name="model"\} 1/);
    controller.abort();
    await running;
    await server.runtime.model.queue.whenIdle();
    expect(Math.max(...times)).toBeLessThan(250);
  });

  it("cancels a generation whose deadline passed, answering 504, and frees the worker between steps", async () => {
    const server = shared;
    // The deadline is read per request from the server's config.
    server.config.requestTimeoutMs = 600;
    const before = await completed(server);
    const t = performance.now();
    const late = await predict(server, ENDLESS);
    expect(late.status).toBe(504);
    expect(late.json.error).toMatch(/deadline of 0.6 s/);
    expect(performance.now() - t).toBeLessThan(3000);
    await server.runtime.model.queue.whenIdle();
    // The worker stopped at its next step: the generation never reached its end.
    expect(performance.now() - t).toBeLessThan(6000);
    expect(await completed(server)).toBe(before);
    expect((await predict(server, FAST)).status).toBe(200);
    server.config.requestTimeoutMs = 600_000;
  });

  it("cancels the work of a client that disconnects", async () => {
    const server = shared;
    const controller = new AbortController();
    const before = await completed(server);
    const t = performance.now();
    const gone = predict(server, ENDLESS, controller.signal).catch((e: Error) => e);
    await untilRunning(server);
    controller.abort();
    expect(await gone).toBeInstanceOf(Error);
    await server.runtime.model.queue.whenIdle();
    expect(performance.now() - t).toBeLessThan(6000);
    expect(await completed(server)).toBe(before);
    expect((await predict(server, FAST)).status).toBe(200);
  });
});

import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import sharp from "sharp";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { closedPort, connectHttp, fakeRuntime, startMcp, textOf, type Recorded, type TestMcp } from "./mcp-helpers.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function serverFor(runtimeUrl: string, env: Record<string, string> = {}, timeoutMs?: number): Promise<TestMcp> {
  const server = await startMcp(runtimeUrl, { IMAGE_RESPONSE: "none", PROGRESS_INTERVAL_MS: "20", ...env }, timeoutMs ? { config: { runtimeTimeoutMs: timeoutMs } } : {});
  open.push(server);
  return server;
}

async function generate(server: TestMcp, args: Record<string, unknown> = { prompt: "a cat" }, options: Parameters<Awaited<ReturnType<typeof connectHttp>>["callTool"]>[2] = {}) {
  const client = await connectHttp(server.mcpUrl);
  open.push(client);
  return (await client.callTool({ name: "generate_image", arguments: args }, undefined, options)) as CallToolResult;
}

const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#123456" } }).png().toBuffer();
const prediction = { model_name: "sd", prompt: "a cat", image: { format: "PNG", b64: png.toString("base64") }, seed: 7, scheduler: "EulerDiscreteScheduler", width: 8, height: 8, num_inference_steps: 3, guidance_scale: 7.5, timings: {} };

function json(res: import("node:http").ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

describe("generate_image against the runtime's wire format", () => {
  it("sends one V1 predict with the tool's fields under their wire names and the model name from DIFFUSERS_MODEL_ID", async () => {
    const runtime = await fakeRuntime((_req, res) => json(res, 200, { predictions: [prediction] }));
    open.push(runtime);
    const server = await serverFor(runtime.url, { DIFFUSERS_MODEL_ID: "sd" });
    const result = await generate(server, { prompt: "a cat", negative_prompt: "dog", width: 512, height: 768, num_inference_steps: 3, guidance_scale: 7.5, seed: 7, scheduler: "euler", count: 2 });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(runtime.requests.map((r: Recorded) => [r.method, r.url, r.headers["content-type"], JSON.parse(r.body)])).toEqual([
      [
        "POST",
        "/v1/models/sd:predict",
        "application/json",
        { instances: [{ prompt: "a cat", negative_prompt: "dog", width: 512, height: 768, num_inference_steps: 3, guidance_scale: 7.5, seed: 7, scheduler: "euler", num_images_per_prompt: 2, output_format: "PNG" }] },
      ],
    ]);
    // IMAGE_RESPONSE=none: the URL only.
    expect(result.content.map((b) => b.type)).toEqual(["text"]);
    // What the runtime resolved is reported, not what was asked.
    expect((result.structuredContent as any).seed).toBe(7);
    expect((result.structuredContent as any).parameters).toEqual({
      prompt: "a cat",
      model: "sd",
      negative_prompt: "dog",
      width: 8,
      height: 8,
      num_inference_steps: 3,
      guidance_scale: 7.5,
      scheduler: "EulerDiscreteScheduler",
      count: 1,
    });
  });
});

describe("upstream failures come back as isError results", () => {
  it("names a runtime that is down", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await generate(await serverFor(url));
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(new RegExp(`^Image generation failed: the runtime at ${url} is unreachable \\(.*ECONNREFUSED.*\\); is it running\\?$`));
  });

  it("names a runtime that answers too slowly, and drops its request", async () => {
    const runtime = await fakeRuntime(() => {});
    open.push(runtime);
    const result = await generate(await serverFor(runtime.url, {}, 300));
    expect(textOf(result)).toBe("Image generation failed: the runtime at " + runtime.url + " did not answer within 0.3 s (RUNTIME_TIMEOUT_S); try fewer steps or a smaller image");
    expect(result.isError).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(runtime.requests).toHaveLength(1);
    expect(runtime.requests[0].aborted).toBe(true);
  });

  it("passes on a 500 with the runtime's error text", async () => {
    const runtime = await fakeRuntime((_req, res) => json(res, 500, { error: "unet: out of memory" }));
    open.push(runtime);
    const result = await generate(await serverFor(runtime.url));
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(`Image generation failed: the runtime at ${runtime.url} failed (500): unet: out of memory`);
  });

  it("retries a busy runtime RUNTIME_RETRIES times, then says it is busy", async () => {
    const runtime = await fakeRuntime((_req, res) => void res.writeHead(503, { "retry-after": "0", "content-type": "application/json" }).end('{"error":"queue full"}'));
    open.push(runtime);
    const result = await generate(await serverFor(runtime.url, { RUNTIME_RETRIES: "2" }));
    expect(runtime.requests.map((r) => r.url)).toEqual(Array(3).fill("/v1/models/model:predict"));
    expect(textOf(result)).toBe(`Image generation failed: the runtime at ${runtime.url} is busy or still loading (503): queue full; try again later`);
  });

  it("refuses a 200 without an image, or with a body that is not JSON", async () => {
    for (const body of [{ predictions: [] }, { predictions: [{ ...prediction, image: undefined }] }, { predictions: [{ ...prediction, image: { format: "PNG", b64: "" } }] }, {}]) {
      const runtime = await fakeRuntime((_req, res) => json(res, 200, body));
      open.push(runtime);
      const result = await generate(await serverFor(runtime.url));
      expect(result.isError, JSON.stringify(body)).toBe(true);
      expect(textOf(result)).toBe(`Image generation failed: the runtime at ${runtime.url} answered without an image (no predictions[0].image.b64)`);
    }
    const html = await fakeRuntime((_req, res) => void res.writeHead(200, { "content-type": "text/html" }).end("<html>proxy</html>"));
    open.push(html);
    const result = await generate(await serverFor(html.url));
    expect(textOf(result)).toBe(`Image generation failed: the runtime at ${html.url} answered with a body that is not JSON`);
  });

  it("refuses bytes that are not an image (storage rejects them), as an isError result", async () => {
    const runtime = await fakeRuntime((_req, res) => json(res, 200, { predictions: [{ ...prediction, image: { format: "PNG", b64: Buffer.from("not a png").toString("base64") } }] }));
    open.push(runtime);
    const result = await generate(await serverFor(runtime.url));
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid input: image: /);
  });
});

describe("long generations", () => {
  it("send progress while the runtime works, and cancelling drops the runtime request", async () => {
    const runtime = await fakeRuntime(() => {});
    open.push(runtime);
    const server = await serverFor(runtime.url);
    const seen: Progress[] = [];
    const controller = new AbortController();
    const pending = generate(server, { prompt: "slow" }, { signal: controller.signal, onprogress: (p) => seen.push(p) });
    pending.catch(() => {});
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 10));
    expect(seen[1].progress).toBeGreaterThan(seen[0].progress);
    expect(runtime.requests[0].aborted).toBe(false);
    controller.abort(new Error("stop"));
    await expect(pending).rejects.toThrow(/stop/);
    const deadline = Date.now() + 2000;
    while (!runtime.requests[0].aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(runtime.requests[0].aborted).toBe(true);
  });

  it("finish on shutdown: running calls complete, new sessions get 503, readiness fails, then the server closes", async () => {
    let answer!: () => void;
    const runtime = await fakeRuntime((_req, res) => {
      answer = () => json(res, 200, { predictions: [prediction] });
    });
    open.push(runtime);
    const server = await startMcp(runtime.url, { IMAGE_RESPONSE: "none" }, { config: { runtimeTimeoutMs: 5000 } });
    const client = await connectHttp(server.mcpUrl);
    const pending = client.callTool({ name: "generate_image", arguments: { prompt: "last one" } }) as Promise<CallToolResult>;
    while (runtime.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    const stopped = server.mcp.shutdown();
    const health = await request(`${server.url}/health`);
    expect(health.statusCode).toBe(503);
    expect(await health.body.json()).toEqual({ status: "draining" });
    await expect(connectHttp(server.mcpUrl)).rejects.toThrow(/503|shutting down/);
    answer();
    const result = await pending;
    expect(result.isError, textOf(result)).toBeFalsy();
    await stopped;
    await client.close();
    await server.close();
  });
});

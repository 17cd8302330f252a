import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import sharp from "sharp";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./runtime-helpers.js";
import { connectHttp, startMcp, textOf, type TestMcp } from "./mcp-helpers.js";

let runtime: TestServer;
let server: TestMcp;
let client: Client;

beforeAll(async () => {
  runtime = await startServer();
  server = await startMcp(runtime.url, { IMAGE_RESPONSE: "preview", PREVIEW_SIZE: "32", PROGRESS_INTERVAL_MS: "20" });
  client = await connectHttp(server.mcpUrl);
}, 30_000);

afterAll(async () => {
  await client?.close();
  await server?.close();
  await runtime?.close();
});

const SMALL = { num_inference_steps: 2, width: 64, height: 64 };

async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

describe("the MCP server's tools over Streamable HTTP, with the real runtime on the shapes model", () => {
  it("lists the four tools with input schemas that carry the limits and output schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["delete_image", "generate_image", "get_image", "list_images"]);
    const gen = tools.find((t) => t.name === "generate_image")!;
    expect(gen.description).toMatch(/prompt/);
    expect(gen.inputSchema.required).toEqual(["prompt"]);
    const p = gen.inputSchema.properties as Record<string, Record<string, unknown>>;
    expect(Object.keys(p).sort()).toEqual(["count", "guidance_scale", "height", "negative_prompt", "num_inference_steps", "prompt", "scheduler", "seed", "width"]);
    expect(p.prompt).toMatchObject({ type: "string", minLength: 1, maxLength: 1000 });
    expect(p.width).toMatchObject({ type: "integer", minimum: 64, maximum: 2048 });
    expect(p.num_inference_steps).toMatchObject({ type: "integer", minimum: 1, maximum: 150 });
    expect(p.count).toMatchObject({ type: "integer", minimum: 1, maximum: 4 });
    for (const [name, field] of Object.entries(p)) expect(typeof field.description, name).toBe("string");
    expect(Object.keys(gen.outputSchema!.properties!).sort()).toEqual(["elapsed_ms", "images", "parameters", "seed"]);
    expect(tools.find((t) => t.name === "delete_image")!.annotations).toMatchObject({ destructiveHint: true });
    expect(tools.find((t) => t.name === "get_image")!.inputSchema.properties).toHaveProperty("id");
  });

  it("generates an image: a preview block, the URL, seed and parameters, and the same bytes over HTTP", async () => {
    const result = await call("generate_image", { prompt: "a red circle", seed: 42, ...SMALL, guidance_scale: 1 });
    expect(result.isError).toBeFalsy();
    const image = result.content.find((b) => b.type === "image") as { data: string; mimeType: string };
    expect(image.mimeType).toBe("image/png");
    const preview = await sharp(Buffer.from(image.data, "base64")).metadata();
    expect([preview.width, preview.height]).toEqual([32, 32]);
    const out = result.structuredContent as any;
    expect(out.seed).toBe(42);
    expect(out.parameters).toMatchObject({ prompt: "a red circle", width: 64, height: 64, num_inference_steps: 2, guidance_scale: 1, count: 1, model: "model" });
    expect(out.images).toHaveLength(1);
    const [info] = out.images;
    expect(info.url).toBe(`${server.url}/images/${info.id}`);
    expect(textOf(result)).toContain(info.url);
    expect(textOf(result)).toContain("seed 42");
    const res = await request(info.url);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("image/png");
    const bytes = Buffer.from(await res.body.arrayBuffer());
    expect((await sharp(bytes).metadata()).width).toBe(64);
    expect(bytes.length).toBe(info.size);
    // The same seed and parameters give the same picture.
    const again = (await call("generate_image", { prompt: "a red circle", seed: 42, ...SMALL, guidance_scale: 1 })).structuredContent as any;
    expect(again.images[0].id).not.toBe(info.id);
    expect(again.images[0].size).toBe(info.size);
    const second = Buffer.from(await (await request(again.images[0].url)).body.arrayBuffer());
    expect(second.equals(bytes)).toBe(true);
  });

  it("generates `count` images in one call and honours negative_prompt and scheduler", async () => {
    const result = await call("generate_image", { prompt: "two squares", negative_prompt: "blur", count: 2, scheduler: "ddim", ...SMALL });
    expect(result.isError).toBeFalsy();
    const out = result.structuredContent as any;
    expect(out.images).toHaveLength(2);
    expect(out.parameters).toMatchObject({ count: 2, negative_prompt: "blur", scheduler: "DDIMScheduler" });
    expect(result.content.filter((b) => b.type === "image")).toHaveLength(2);
  });

  it("lists, gets and deletes images, newest first, paged", async () => {
    const first = ((await call("generate_image", { prompt: "older", ...SMALL })).structuredContent as any).images[0];
    const second = ((await call("generate_image", { prompt: "newer", ...SMALL })).structuredContent as any).images[0];
    const page = (await call("list_images", { limit: 1 })).structuredContent as any;
    expect(page.images.map((i: any) => i.id)).toEqual([second.id]);
    expect(typeof page.next_cursor).toBe("string");
    const next = (await call("list_images", { limit: 1, cursor: page.next_cursor })).structuredContent as any;
    expect(next.images.map((i: any) => i.id)).toEqual([first.id]);

    const got = await call("get_image", { id: first.id });
    expect(got.isError).toBeFalsy();
    expect(got.structuredContent).toMatchObject({ id: first.id, prompt: "older", url: first.url, width: 64, height: 64 });
    expect(got.content.some((b) => b.type === "image")).toBe(true);

    expect((await call("delete_image", { id: first.id })).structuredContent).toEqual({ id: first.id, deleted: true });
    expect((await call("delete_image", { id: first.id })).structuredContent).toEqual({ id: first.id, deleted: false });
    const gone = await call("get_image", { id: first.id });
    expect(gone.isError).toBe(true);
    expect(textOf(gone)).toMatch(/no image .* \(unknown, deleted or expired\)/);
    expect((await request(first.url)).statusCode).toBe(404);
  });

  it("sends progress notifications with rising progress when the client passes a progress token", async () => {
    const seen: Progress[] = [];
    const result = (await client.callTool({ name: "generate_image", arguments: { prompt: "slow", num_inference_steps: 40, width: 256, height: 256 } }, undefined, {
      onprogress: (p) => seen.push(p),
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(seen.length).toBeGreaterThan(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i].progress).toBeGreaterThan(seen[i - 1].progress);
    expect(seen[0].message).toMatch(/^generating: \d+\.\d s/);
  });

  it("cancels: the client's abort reaches the runtime, which stops the generation", async () => {
    const imagesGenerated = async () => {
      const text = await (await request(`${runtime.url}/metrics`)).body.text();
      return Number(/^diffusion_images_generated_total\{[^}]*\} (\d+)$/m.exec(text)![1]);
    };
    const before = await imagesGenerated();
    const controller = new AbortController();
    const started = Date.now();
    const pending = client.callTool({ name: "generate_image", arguments: { prompt: "long", num_inference_steps: 150, width: 1024, height: 1024 } }, undefined, {
      signal: controller.signal,
    });
    pending.catch(() => {});
    const queue = runtime.runtime.model.queue;
    while (queue.inFlight === 0 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 10));
    expect(queue.inFlight).toBe(1);
    controller.abort(new Error("changed my mind"));
    await expect(pending).rejects.toThrow(/changed my mind/);
    while (queue.inFlight > 0 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 10));
    expect(queue.inFlight).toBe(0);
    // The runtime stopped the generation: no image came out of it.
    expect(await imagesGenerated()).toBe(before);
    const metrics = await (await request(`${server.url}/metrics`)).body.text();
    expect(metrics).toMatch(/mcp_tool_calls_total\{tool="generate_image",outcome="cancelled"\} 1/);
  });

  it("refuses bad input with isError results that name the field", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /prompt/],
      [{ prompt: "" }, /prompt/],
      [{ prompt: "x".repeat(1001) }, /prompt/],
      [{ prompt: "x", width: 65 }, /multiple of 8 at width/],
      [{ prompt: "x", width: 32 }, /width/],
      [{ prompt: "x", height: 4096 }, /height/],
      [{ prompt: "x", num_inference_steps: 0 }, /num_inference_steps/],
      [{ prompt: "x", num_inference_steps: 151 }, /num_inference_steps/],
      [{ prompt: "x", guidance_scale: -1 }, /guidance_scale/],
      [{ prompt: "x", seed: 1.5 }, /seed/],
      [{ prompt: "x", count: 5 }, /count/],
      [{ prompt: 7 }, /prompt/],
      [{ prompt: "x", width: 2048, height: 2048 }, /width x height: 2048 x 2048 = 4194304 pixels is over the budget \(allowed: at most 1048576 pixels/],
      [{ prompt: "x", scheduler: "nope", ...SMALL }, /rejected the request \(400\).*scheduler/],
    ];
    for (const [args, message] of cases) {
      const result = await call("generate_image", args);
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(textOf(result), JSON.stringify(args)).toMatch(message);
    }
    for (const id of ["../../etc/passwd", "a/b", "x.png", "", "a".repeat(129)]) {
      for (const tool of ["get_image", "delete_image"]) {
        const result = await call(tool, { id });
        expect(result.isError, `${tool} ${id}`).toBe(true);
        expect(textOf(result)).toMatch(/id/);
      }
    }
    expect(textOf(await call("list_images", { limit: 0 }))).toMatch(/limit/);
  });
});

/** The MCP server end to end on both image stores, as `imageStoreFromEnv` builds them: a folder and an S3 prefix (s3rver). */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageStoreFromEnv } from "../../serving/mcp/store/config.js";
import { startS3, type S3Server } from "../storage/helpers/s3-server.js";
import { startServer, type TestServer } from "./runtime-helpers.js";
import { connectHttp, startMcp, textOf } from "./mcp-helpers.js";

let runtime: TestServer;
let s3: S3Server;
let dir: string;

beforeAll(async () => {
  [runtime, s3, dir] = await Promise.all([startServer(), startS3(), mkdtemp(path.join(tmpdir(), "mcp-backend-"))]);
}, 30_000);

afterAll(async () => {
  await runtime?.close();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const backends = [
  { name: "folder", env: () => ({ IMAGE_STORAGE: "file", IMAGE_OUTPUT_PATH: dir }), kind: "file" },
  { name: "S3 prefix", env: () => ({ IMAGE_STORAGE: "s3", S3_PREFIX: "mcp-images/", ...s3.env }), kind: "s3" },
] as const;

describe.each(backends)("the MCP server with images in a $name", (backend) => {
  it("generates, serves, lists, gets and deletes images, and reports the store in /health", async () => {
    const store = imageStoreFromEnv(backend.env());
    const server = await startMcp(runtime.url, {}, { store });
    let client: Client | undefined;
    try {
      client = await connectHttp(server.mcpUrl);
      const call = async (name: string, args: Record<string, unknown>) => (await client!.callTool({ name, arguments: args })) as CallToolResult;
      const generated = await call("generate_image", { prompt: "a yellow triangle", num_inference_steps: 2, width: 64, height: 64, seed: 11 });
      expect(generated.isError, textOf(generated)).toBeFalsy();
      const [info] = (generated.structuredContent as any).images;
      const res = await request(info.url);
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe("image/png");
      expect(res.headers.etag).toMatch(/^"/);
      expect(Buffer.from(await res.body.arrayBuffer()).length).toBe(info.size);

      expect(((await call("list_images", {})).structuredContent as any).images.map((i: any) => i.id)).toEqual([info.id]);
      expect((await call("get_image", { id: info.id })).structuredContent).toMatchObject({ id: info.id, seed: 11, prompt: "a yellow triangle" });
      const health = (await (await request(`${server.url}/health`)).body.json()) as any;
      expect(health.storage).toMatchObject({ ok: true, kind: backend.kind });
      if (backend.kind === "file") expect((await readdir(dir)).some((f) => f.startsWith(info.id))).toBe(true);
      else expect(store.location).toBe("s3://models-bucket/mcp-images/");

      expect((await call("delete_image", { id: info.id })).structuredContent).toEqual({ id: info.id, deleted: true });
      const gone = await request(info.url);
      expect(gone.statusCode).toBe(404);
      await gone.body.dump();
    } finally {
      await client?.close();
      await server.close();
    }
  }, 30_000);
});

describe("a store that cannot be written", () => {
  it("turns generate_image into an isError result and /health into 503", async () => {
    const store = imageStoreFromEnv({ IMAGE_STORAGE: "s3", ...s3.env, AWS_S3_BUCKET: "no-such-bucket" });
    const server = await startMcp(runtime.url, {}, { store });
    const client = await connectHttp(server.mcpUrl);
    try {
      const result = (await client.callTool({ name: "generate_image", arguments: { prompt: "x", num_inference_steps: 1, width: 64, height: 64 } })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe(`Image storage failed: image store s3://no-such-bucket/images/: bucket 'no-such-bucket' does not exist at ${s3.endpoint}`);
      const health = await request(`${server.url}/health`);
      expect(health.statusCode).toBe(503);
      expect(((await health.body.json()) as any).storage).toMatchObject({ ok: false, kind: "s3" });
    } finally {
      await client.close();
      await server.close();
    }
  }, 30_000);
});

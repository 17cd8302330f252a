/** Local servers for notebooks without a cluster: the built CLI as a child process on a free port. */
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import { connectMcp, KServeClient, mcpImages, mcpText, startLocalMcpServer, startLocalRuntime, startLocalServer } from "../../lib/index.js";
import { repoRoot } from "../helpers/paths.js";

const cli = path.join(repoRoot, "dist", "bin", "cli.js");
if (!existsSync(cli)) throw new Error(`${cli} is missing: run 'npm run build' first (npm test does)`);

describe("startLocalRuntime", () => {
  it("starts the KServe runtime on the built-in model, serves a generation, and stops it", async () => {
    const server = await startLocalRuntime({ modelId: "shapes", env: { LOG_LEVEL: "silent", ORT_THREADS: "1" } });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const client = new KServeClient({ url: server.url, retries: 0 });
      const r = await client.generate({ prompt: "a red star", num_inference_steps: 2, width: 64, height: 64, seed: 1 });
      expect(r.images).toHaveLength(1);
      expect(r.images[0].subarray(1, 4).toString("latin1")).toBe("PNG");
    } finally {
      await server.stop();
    }
    expect(server.process.exitCode ?? server.process.signalCode).not.toBeNull();
  }, 120_000);

  it("says what the server printed when it exits before it is ready", async () => {
    await expect(
      startLocalServer({ args: ["serve"], env: { MODEL_ID: "shapes", MAX_CONCURRENCY: "zero" }, port: { flag: "--port" }, readyPath: "/v2/health/ready" }),
    ).rejects.toThrow(/exited with code 2 before it was ready:[\s\S]*MAX_CONCURRENCY/);
  });
});

describe("startLocalMcpServer and connectMcp", () => {
  it("start the MCP server before a local runtime, list its tools and generate an image through it", async () => {
    const runtime = await startLocalRuntime({ modelId: "shapes", env: { LOG_LEVEL: "silent", ORT_THREADS: "1" } });
    const images = await mkdtemp(path.join(os.tmpdir(), "nb-mcp-"));
    try {
      const mcp = await startLocalMcpServer({ runtimeUrl: runtime.url, imageDir: images, env: { LOG_LEVEL: "silent" } });
      try {
        const conn = await connectMcp(`${mcp.url}/mcp`);
        try {
          expect((await conn.tools()).map((t) => t.name).sort()).toEqual(["delete_image", "generate_image", "get_image", "list_images"]);
          const progress: number[] = [];
          const r = await conn.call("generate_image", { prompt: "a red star", num_inference_steps: 2, width: 64, height: 64, seed: 5 }, { onProgress: (p) => progress.push(p.progress) });
          expect(r.isError ?? false, mcpText(r)).toBe(false);
          expect(mcpImages(r)[0].subarray(1, 4).toString("latin1")).toBe("PNG");
          expect(mcpText(r)).toContain(`${mcp.url}/images/`);
          expect(r.structuredContent).toMatchObject({ seed: 5 });
          expect((await readdir(images)).filter((f) => f.endsWith(".json"))).toHaveLength(1);
        } finally {
          await conn.close();
        }
      } finally {
        await mcp.stop();
      }
    } finally {
      await runtime.stop();
      await rm(images, { recursive: true, force: true });
    }
  }, 120_000);
});

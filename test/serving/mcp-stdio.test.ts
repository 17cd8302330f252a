/** The built CLI (`mcp --stdio`) driven by the SDK's stdio client, and the official Inspector CLI as a client over HTTP and stdio. */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/paths.js";
import { startServer, type TestServer } from "./runtime-helpers.js";
import { startMcp, textOf, type TestMcp } from "./mcp-helpers.js";

const cli = path.join(repoRoot, "dist", "bin", "cli.js");
if (!existsSync(path.join(repoRoot, "dist", "bin", "commands", "mcp.js"))) throw new Error(`${cli} has no 'mcp' command: run 'npm run build' before these tests`);
const inspector = path.join(repoRoot, "node_modules", ".bin", "mcp-inspector-cli");
const run = promisify(execFile);
// inspector-cli 1.0.3 looks for "../package.json" relative to the working directory but imports it
// relative to its own file (modelcontextprotocol/inspector#1334): run it one folder below a package.json.
const inspectorCwd = path.join(repoRoot, "test");

let runtime: TestServer;
let dir: string;

beforeAll(async () => {
  runtime = await startServer();
  dir = await mkdtemp(path.join(tmpdir(), "mcp-stdio-"));
}, 30_000);

afterAll(async () => {
  await runtime?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    DIFFUSERS_RUNTIME_URL: runtime.url,
    IMAGE_OUTPUT_PATH: dir,
    LOG_LEVEL: "warn",
    ...extra,
  };
}

/** The JSON document the Inspector prints (it may print a deprecation banner around it). */
function inspectorJson(stdout: string): any {
  return JSON.parse(stdout.slice(stdout.indexOf("{"), stdout.lastIndexOf("}") + 1));
}

describe("mcp --stdio", () => {
  it("serves the tools to the SDK's stdio client, with image URLs on an HTTP port of its own", async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [cli, "mcp", "--stdio"], env: childEnv(), stderr: "pipe" });
    let stderr = "";
    transport.stderr?.on("data", (d) => (stderr += d));
    const client = new Client({ name: "stdio-test", version: "1.0.0" });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["delete_image", "generate_image", "get_image", "list_images"]);
      const result = (await client.callTool({ name: "generate_image", arguments: { prompt: "a blue square", num_inference_steps: 2, width: 64, height: 64, seed: 3 } })) as CallToolResult;
      expect(result.isError, textOf(result) + stderr).toBeFalsy();
      const [info] = (result.structuredContent as any).images;
      expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/images\//);
      const res = await request(info.url);
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe("image/png");
      await res.body.dump();
      const listed = (await client.callTool({ name: "list_images", arguments: {} })) as CallToolResult;
      expect((listed.structuredContent as any).images.map((i: any) => i.id)).toContain(info.id);
      const bad = (await client.callTool({ name: "generate_image", arguments: { prompt: "x", num_inference_steps: 500 } })) as CallToolResult;
      expect(bad.isError).toBe(true);
    } finally {
      await client.close();
    }
  }, 30_000);

  it("refuses a malformed environment variable at start, naming it", async () => {
    const err = await run(process.execPath, [cli, "mcp", "--stdio"], { env: childEnv({ IMAGE_RESPONSE: "jpeg" }) }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toContain("error: IMAGE_RESPONSE: 'jpeg' is not one of the choices (allowed: png, preview, none)");
  });
});

describe("mcp (Streamable HTTP)", () => {
  it("listens where MCP_PORT says, answers the probes, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, [cli, "mcp"], { env: childEnv({ MCP_PORT: "0", LOG_LEVEL: "info" }), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    try {
      const deadline = Date.now() + 15_000;
      let url: string | undefined;
      while (!url && Date.now() < deadline) {
        url = /"msg":"MCP server listening"/.test(stderr) ? /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderr)?.[1] : undefined;
        if (!url) await new Promise((r) => setTimeout(r, 50));
      }
      expect(url, stderr).toBeDefined();
      const live = await request(`${url}/healthz`);
      expect(live.statusCode).toBe(200);
      await live.body.dump();
      const health = await request(`${url}/health`);
      expect(health.statusCode).toBe(200);
      await health.body.dump();
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      expect(code).toBe(0);
      expect(stderr).toContain('"msg":"stopped"');
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 30_000);
});

describe("the MCP Inspector CLI as a client", () => {
  let server: TestMcp;
  beforeAll(async () => {
    server = await startMcp(runtime.url);
  });
  afterAll(async () => server?.close());

  it("lists the tools and calls generate_image over Streamable HTTP", async () => {
    const base = ["--cli", `${server.url}/mcp`, "--transport", "http"];
    const listed = await run(inspector, [...base, "--method", "tools/list"], { env: childEnv(), cwd: inspectorCwd });
    expect(inspectorJson(listed.stdout).tools.map((t: { name: string }) => t.name).sort()).toEqual(["delete_image", "generate_image", "get_image", "list_images"]);
    const called = await run(
      inspector,
      [...base, "--method", "tools/call", "--tool-name", "generate_image", "--tool-arg", "prompt=a green star", "num_inference_steps=2", "width=64", "height=64", "seed=5"],
      { env: childEnv(), cwd: inspectorCwd },
    );
    const result = inspectorJson(called.stdout);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ seed: 5, parameters: { prompt: "a green star", width: 64, height: 64, num_inference_steps: 2 } });
    expect(result.content.map((b: { type: string }) => b.type)).toEqual(["image", "text"]);
  }, 30_000);

  it("lists the tools of the stdio server it starts", async () => {
    const env = childEnv();
    const listed = await run(inspector, ["--cli", "-e", `DIFFUSERS_RUNTIME_URL=${runtime.url}`, "-e", `IMAGE_OUTPUT_PATH=${dir}`, process.execPath, cli, "mcp", "--stdio", "--method", "tools/list"], { env, cwd: inspectorCwd });
    expect(inspectorJson(listed.stdout).tools).toHaveLength(4);
  }, 30_000);
});

/**
 * The project's servers (the KServe runtime, the MCP server) started locally as child processes of
 * the notebook, the way a user would start them with the CLI, for notebooks run without a cluster.
 * Each gets a free loopback port, is waited for until its readiness URL answers 200, and is stopped
 * (SIGTERM, then SIGKILL) by `stop()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { WorkbenchError } from "../errors.js";

/**
 * The built CLI: dist/lib/notebook -> dist/bin/cli.js when this module runs compiled (the package),
 * lib/notebook -> dist/bin/cli.js when it runs from source (the tests).
 */
function cliPath(): string {
  const candidates = ["../../bin/cli.js", "../../dist/bin/cli.js"].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new WorkbenchError(`the built CLI is missing (looked for ${candidates.join(", ")}): run 'npm run build'`);
  return found;
}

export interface LocalServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** What the server has written to stdout and stderr so far (the last 64 KiB). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartLocalServerOptions {
  /** CLI arguments before the port flags, e.g. ["serve"]. */
  args: string[];
  /** Environment on top of this process's. `{port}` in a value is replaced by the chosen port. */
  env?: Record<string, string>;
  /** Path that answers 200 once the server is ready, e.g. "/v2/health/ready". */
  readyPath: string;
  /** How the port is passed: a flag (["--port"]) or an environment variable name. */
  port: { flag: string } | { env: string };
  timeoutMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Starts `diffusion-workbench <args>` on a free loopback port and waits until `readyPath` answers 200. */
export async function startLocalServer(options: StartLocalServerOptions): Promise<LocalServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  for (const [k, v] of Object.entries(options.env ?? {})) env[k] = v.replaceAll("{port}", String(port));
  const args = [cliPath(), ...options.args];
  if ("flag" in options.port) args.push(options.port.flag, String(port));
  else env[options.port.env] = String(port);
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString("utf8")).slice(-65536);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited: number | null | undefined;
  child.once("exit", (code) => (exited = code));

  const stop = async () => {
    if (exited !== undefined) return;
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    if (exited !== undefined) {
      throw new WorkbenchError(`'diffusion-workbench ${options.args.join(" ")}' exited with code ${exited} before it was ready:\n${out}`);
    }
    try {
      const r = await request(url + options.readyPath, { headersTimeout: 2000, bodyTimeout: 2000 });
      await r.body.dump();
      if (r.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new WorkbenchError(`'diffusion-workbench ${options.args.join(" ")}' was not ready at ${url}${options.readyPath} within ${options.timeoutMs ?? 120_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, port, process: child, output: () => out, stop };
}

/** The KServe runtime (`diffusion-workbench serve`) on a free port, ready when its model has loaded. */
export function startLocalRuntime(options: { modelId?: string; modelName?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<LocalServer> {
  return startLocalServer({
    args: ["serve", "--host", "127.0.0.1", ...(options.modelName ? ["--model_name", options.modelName] : [])],
    env: { ...(options.modelId ? { MODEL_ID: options.modelId } : {}), ...options.env },
    port: { flag: "--port" },
    readyPath: "/v2/health/ready",
    timeoutMs: options.timeoutMs,
  });
}

/** The MCP server (`diffusion-workbench mcp`) on a free port in front of `runtimeUrl`; its endpoint is `${url}/mcp`. */
export function startLocalMcpServer(options: { runtimeUrl: string; modelName?: string; imageDir?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<LocalServer> {
  return startLocalServer({
    args: ["mcp", "--host", "127.0.0.1"],
    env: {
      DIFFUSERS_RUNTIME_URL: options.runtimeUrl,
      ...(options.modelName ? { DIFFUSERS_MODEL_ID: options.modelName } : {}),
      ...(options.imageDir ? { IMAGE_OUTPUT_PATH: options.imageDir } : {}),
      ...options.env,
    },
    port: { flag: "--port" },
    readyPath: "/health",
    timeoutMs: options.timeoutMs,
  });
}

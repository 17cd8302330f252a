/** Shared by the runtime tests: a real server on a free port, in this process, and raw HTTP helpers. */
import { existsSync } from "node:fs";
import path from "node:path";
import { request } from "undici";
import { KServeClient } from "../../lib/index.js";
import { loadConfig, type ServerConfig } from "../../serving/runtime/config.js";
import { createRuntime, type Runtime } from "../../serving/runtime/server.js";
import { repoRoot } from "../helpers/paths.js";

/** The worker thread runs compiled JavaScript: `npm run build` first (npm test does). */
export const builtWorker = path.join(repoRoot, "dist", "serving", "runtime", "worker.js");
if (!existsSync(builtWorker)) throw new Error(`${builtWorker} is missing: run 'npm run build' before these tests`);

export interface TestServer {
  url: string;
  runtime: Runtime;
  client: KServeClient;
  config: ServerConfig;
  close(): Promise<void>;
}

/** Start the runtime on 127.0.0.1:<free port> with MODEL_ID=shapes unless `env` says otherwise. */
export async function startServer(
  env: Record<string, string> = {},
  options: { waitForLoad?: boolean; config?: Partial<ServerConfig> } = {},
): Promise<TestServer> {
  const config = {
    ...loadConfig({ port: 0, host: "127.0.0.1" }, { MODEL_ID: "shapes", LOG_LEVEL: "silent", EXECUTION_PROVIDER: "cpu", ORT_THREADS: "1", ...env }),
    ...options.config,
  };
  const runtime = createRuntime(config);
  const { url, loaded } = await runtime.start();
  if (options.waitForLoad !== false) await loaded;
  else loaded.catch(() => {});
  return {
    url,
    runtime,
    config,
    client: new KServeClient({ url, retries: 0 }),
    close: () => runtime.shutdown(),
  };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = any>(): T;
}

/** A raw request, for exact shapes and error paths (no client-side validation or retries). */
export async function raw(
  url: string,
  method: "GET" | "POST",
  body?: string | Buffer,
  headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" },
): Promise<RawAnswer> {
  const r = await request(url, { method, body, headers });
  const buf = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, body: buf, json: () => JSON.parse(buf.toString("utf8")) };
}

/** A small, fast request for the shapes model. */
export const SMALL = { num_inference_steps: 2, width: 64, height: 64 } as const;

/** Shared by the MCP server tests: the server in this process on a free port, over a store in a temp folder, and SDK clients. */
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { pino } from "pino";
import { loadMcpConfig, type McpConfig } from "../../serving/mcp/config.js";
import { createMcpApp, type McpApp } from "../../serving/mcp/server.js";
import { FileImageStore } from "../../serving/mcp/store/file-store.js";
import type { ImageStore } from "../../serving/mcp/store/image-store.js";

export interface TestMcp {
  url: string;
  mcpUrl: URL;
  mcp: McpApp;
  store: ImageStore;
  close(): Promise<void>;
}

/** The MCP server on 127.0.0.1:<free port> in front of `runtimeUrl`, images in a fresh temp folder unless `store` is given. */
export async function startMcp(runtimeUrl: string, env: Record<string, string> = {}, options: { store?: ImageStore; config?: Partial<McpConfig> } = {}): Promise<TestMcp> {
  const config = { ...loadMcpConfig({ DIFFUSERS_RUNTIME_URL: runtimeUrl, MCP_PORT: "0", RUNTIME_RETRIES: "0", ...env }), ...options.config };
  const dir = options.store ? undefined : await mkdtemp(path.join(tmpdir(), "mcp-images-"));
  const store = options.store ?? new FileImageStore(dir!);
  const mcp = createMcpApp(config, { store, logger: pino({ level: "silent" }) });
  const { url } = await mcp.start();
  return {
    url,
    mcpUrl: new URL(`${url}/mcp`),
    mcp,
    store,
    async close() {
      await mcp.shutdown();
      await store.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An SDK client connected over Streamable HTTP. */
export async function connectHttp(mcpUrl: URL, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: "mcp-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers } }));
  return client;
}

/** The text blocks of a tool result, joined. */
export function textOf(result: CallToolResult | Record<string, unknown>): string {
  return ((result as CallToolResult).content ?? [])
    .filter((b) => b.type === "text")
    .map((b) => (b as { text: string }).text)
    .join("\n");
}

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** True when the client closed the connection before the answer. */
  aborted: boolean;
}

/** A fake runtime on loopback: `answer` decides each response; every request is recorded. */
export async function fakeRuntime(
  answer: (req: Recorded, res: http.ServerResponse) => void | Promise<void>,
): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rec: Recorded = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), aborted: false };
      requests.push(rec);
      res.on("close", () => {
        if (!res.writableFinished) rec.aborted = true;
      });
      void answer(rec, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The MCP server over stdio, for agents that start it as a subprocess. The image routes still listen
 * over HTTP (on MCP_PORT; a free port when unset) so that the URLs the tools return can be opened.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { McpConfig } from "./config.js";
import { createMcpApp, type McpApp } from "./server.js";
import type { ImageStore } from "./store/image-store.js";

export interface StdioServer {
  http: McpApp;
  /** Settles when the client closes stdin (or `close` is called). */
  closed: Promise<void>;
  close(): Promise<void>;
}

export async function runStdio(config: McpConfig, store: ImageStore, io: { stdin?: NodeJS.ReadableStream; stdout?: NodeJS.WritableStream } = {}): Promise<StdioServer> {
  const http = createMcpApp(config, { store, mcpRoute: false });
  await http.start();
  const server = http.createMcpServer();
  const transport = new StdioServerTransport(io.stdin as never, io.stdout as never);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;
  // Once, and deferred: closing the server closes the transport, whose onclose lands here again.
  const close = () =>
    (closing ??= Promise.resolve().then(async () => {
      await server.close().catch(() => {});
      await http.shutdown();
      resolveClosed();
    }));
  transport.onclose = () => void close();
  // The SDK's stdio transport does not notice the end of stdin; the client closing it ends the server.
  (io.stdin ?? process.stdin).once("end", () => void close());
  await server.connect(transport);
  http.log.info("MCP server on stdio");
  return { http, closed, close };
}

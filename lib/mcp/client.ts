/**
 * A small MCP client for notebooks and scripts: connect to an MCP server over Streamable HTTP, list
 * its tools, call one (with progress), close. It wraps the SDK's Client and keeps the SDK's types
 * out of this package's declarations, so callers compiling with older module resolution (tslab's
 * TypeScript 5.0, node10) need not resolve the SDK's subpath exports. The SDK is loaded on the first
 * connect, not when the package is imported (it adds about 0.2 s to every import of the library).
 */

export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
}

/** One content block of a tool result: text, or an image (base64 data with its MIME type). */
export type McpContent =
  | { type: "text"; text: string }
  | { type: "image"; data: string; mimeType: string }
  | { type: string; [key: string]: unknown };

export interface McpToolResult {
  content: McpContent[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface McpCallOptions {
  /** Progress notifications the server sends while the tool runs. */
  onProgress?: (p: { progress: number; total?: number; message?: string }) => void;
  signal?: AbortSignal;
  /** Per-call limit (default 10 minutes: a CPU generation takes minutes). */
  timeoutMs?: number;
}

export interface McpConnection {
  tools(): Promise<McpToolInfo[]>;
  call(name: string, args: Record<string, unknown>, options?: McpCallOptions): Promise<McpToolResult>;
  close(): Promise<void>;
}

/** Connects to `url` (the server's /mcp endpoint), with an optional bearer token. */
export async function connectMcp(url: string, options: { token?: string; clientName?: string } = {}): Promise<McpConnection> {
  const [{ Client }, { StreamableHTTPClientTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]);
  const client = new Client({ name: options.clientName ?? "diffusion-workbench", version: "1.0.0" });
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return {
    async tools() {
      const { tools } = await client.listTools();
      return tools.map((t) => ({
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        inputSchema: t.inputSchema as Record<string, unknown>,
        ...(t.outputSchema ? { outputSchema: t.outputSchema as Record<string, unknown> } : {}),
      }));
    },
    async call(name, args, call = {}) {
      const timeout = call.timeoutMs ?? 600_000;
      const result = await client.callTool({ name, arguments: args }, undefined, {
        ...(call.onProgress ? { onprogress: call.onProgress, resetTimeoutOnProgress: true } : {}),
        ...(call.signal ? { signal: call.signal } : {}),
        timeout,
      });
      return result as McpToolResult;
    },
    close: () => client.close(),
  };
}

/** The image blocks of a tool result, decoded. */
export function mcpImages(result: McpToolResult): Buffer[] {
  return result.content.filter((b): b is { type: "image"; data: string; mimeType: string } => b.type === "image").map((b) => Buffer.from(b.data, "base64"));
}

/** The text blocks of a tool result, joined by newlines. */
export function mcpText(result: McpToolResult): string {
  return result.content.filter((b): b is { type: "text"; text: string } => b.type === "text").map((b) => b.text).join("\n");
}

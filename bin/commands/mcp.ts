/** `mcp`: the MCP server over Streamable HTTP (/mcp, with /images, /health, /metrics), or over stdio with `--stdio`. */
import type { Command } from "commander";
import { loadMcpConfig } from "../../serving/mcp/config.js";
import { createMcpApp } from "../../serving/mcp/server.js";
import { runStdio } from "../../serving/mcp/stdio.js";
import { imageStoreFromEnv } from "../../serving/mcp/store/config.js";
import { int } from "./parse.js";

interface McpFlags {
  stdio?: boolean;
  host?: string;
  port?: number;
}

export function registerMcp(program: Command): void {
  program
    .command("mcp")
    .description("run the MCP server (tool generate_image and friends) in front of the runtime at DIFFUSERS_RUNTIME_URL")
    .option("--stdio", "speak MCP on stdin/stdout (for agents that start the server); image URLs are still served over HTTP")
    .option("--host <address>", "address to listen on (env MCP_HOST, default 127.0.0.1)")
    .option("--port <n>", "HTTP port (env MCP_PORT; default 8000, or a free port with --stdio)", int)
    .action(async (flags: McpFlags) => {
      // Bad environment values stop the start here, with the variable's name (exit code 2).
      const env = flags.stdio && process.env.MCP_PORT === undefined && flags.port === undefined ? { ...process.env, MCP_PORT: "0" } : process.env;
      const config = loadMcpConfig(env, { ...(flags.host !== undefined ? { host: flags.host } : {}), ...(flags.port !== undefined ? { port: flags.port } : {}) });
      const store = imageStoreFromEnv(env);
      if (flags.stdio) {
        const server = await runStdio(config, store);
        await server.closed;
        await store.close();
        return;
      }
      const mcp = createMcpApp(config, { store });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        mcp.log.info({ signal }, "signal received");
        mcp.shutdown().then(
          () => store.close().finally(() => process.exit(0)),
          (err: unknown) => {
            mcp.log.error({ err }, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
      await mcp.start();
    });
}

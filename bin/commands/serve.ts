/** `serve`: the KServe custom runtime (V1 + Open Inference Protocol V2 on one port), as KServe starts it. */
import type { Command } from "commander";
import { loadConfig } from "../../serving/runtime/config.js";
import { createRuntime } from "../../serving/runtime/server.js";
import { int } from "./parse.js";

interface ServeFlags {
  port?: number;
  httpPort?: number;
  host?: string;
  model_name?: string;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the KServe runtime: V1 and V2 REST, /metrics, model from MODEL_ID (default /mnt/models)")
    .option("--model_name <name>", "name to serve the model under; KServe passes the InferenceService name (env MODEL_NAME, default 'model')")
    .option("--port <n>", "HTTP port (env PORT, default 8080)", int)
    .option("--http_port <n>", "the same, under KServe's model-server flag name", int)
    .option("--host <address>", "address to listen on", "0.0.0.0")
    .action(async (flags: ServeFlags & { http_port?: number }) => {
      // Bad environment values stop the start here, with the variable's name (exit code 2).
      const config = loadConfig({
        port: flags.port ?? flags.http_port,
        ...(flags.model_name !== undefined ? { modelName: flags.model_name } : {}),
        ...(flags.host !== undefined ? { host: flags.host } : {}),
      });
      const runtime = createRuntime(config);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        runtime.log.info({ signal }, "signal received");
        runtime.shutdown().then(
          () => process.exit(0),
          (err: unknown) => {
            runtime.log.error({ err }, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
      const { loaded } = await runtime.start();
      // A model that cannot load will not get better: exit so that Kubernetes shows the error and restarts.
      loaded.catch(() => {
        if (!stopping) void runtime.shutdown().finally(() => process.exit(1));
      });
    });
}

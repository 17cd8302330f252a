import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/paths.js";
import { raw } from "./runtime-helpers.js";

const cli = path.join(repoRoot, "dist", "bin", "cli.js");

describe("the serve command", () => {
  it("drains in-flight requests on SIGTERM, refuses new ones, then exits 0", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [cli, "serve", "--model_name", "sd", "--port", String(port), "--host", "127.0.0.1"], {
      env: { ...process.env, MODEL_ID: "tiny", LOG_LEVEL: "info", EXECUTION_PROVIDER: "cpu", ORT_THREADS: "1", SHUTDOWN_GRACE_S: "60" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; i < 600; i++) {
        const r = await raw(`${url}/v2/health/ready`, "GET").catch(() => undefined);
        if (r?.status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const inFlight = raw(
        `${url}/v1/models/sd:predict`,
        "POST",
        JSON.stringify({ instances: [{ prompt: "drain me", width: 128, height: 128, num_inference_steps: 30, seed: 4 }] }),
      );
      await new Promise((r) => setTimeout(r, 300));
      child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 100));
      const late = await raw(`${url}/v1/models/sd:predict`, "POST", JSON.stringify({ instances: [{ prompt: "too late" }] })).catch(
        (e: Error) => e,
      );
      // Refused while draining (503), or the listener is already closed.
      if (!(late instanceof Error)) expect(late.status).toBe(503);
      const done = await inFlight;
      expect(done.status).toBe(200);
      expect(done.json().predictions[0]).toMatchObject({ model_name: "sd", prompt: "drain me", seed: 4 });
      expect(await exited).toBe(0);
      const lines = log.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      expect(lines.some((l) => /draining/.test(l.msg))).toBe(true);
      expect(lines.at(-1).msg).toBe("stopped");
      // Prompts only at debug level.
      expect(log).not.toContain("drain me");
    } finally {
      child.kill("SIGKILL");
    }
  });

  // The other variables: test/serving/config.test.ts (each spawn here loads the whole CLI).
  it("refuses bad configuration at start with the variable's name and exit code 2", () => {
    for (const [env, message] of [
      [{ DTYPE: "fp8" }, /DTYPE/],
      [{ ENABLE_VAE_SLICING: "maybe" }, /ENABLE_VAE_SLICING: 'maybe' is not a boolean/],
    ] as const) {
      const r = spawnSync(process.execPath, [cli, "serve", "--port", "0"], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 });
      expect(r.status, JSON.stringify(env)).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

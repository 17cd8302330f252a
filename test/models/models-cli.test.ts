/** `models push|pull|ls` as a user runs them (the built CLI in child processes): concurrent pulls, a pull killed half-way. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliPath as cli, requireBuiltCli, runCli, type CliResult } from "../helpers/cli.js";
import { tinyModel } from "../helpers/tiny-model.js";
import { startFaultProxy, type FaultProxy } from "../storage/helpers/fault-proxy.js";
import { BUCKET, SECRET_KEY, startS3, type S3Server } from "../storage/helpers/s3-server.js";
import { expectSameFiles } from "./helpers/same-files.js";

let s3: S3Server;
let proxy: FaultProxy;
let model: string;
let tmp: string;

function env(cache: string): NodeJS.ProcessEnv {
  return { ...process.env, ...s3.env, AWS_S3_ENDPOINT: proxy.endpoint, MODEL_CACHE_DIR: cache, MODEL_ID: "" };
}

/** The built CLI with this file's data connection and model cache. */
const run = (args: string[], cache: string): Promise<CliResult> => runCli(args, { env: env(cache) });

const url = `s3://${BUCKET}/models/1/tiny/`;
const entry = (cache: string) => path.join(cache, "s3", BUCKET, encodeURIComponent("models/1/tiny/"));
const unetGets = () => proxy.seen.filter((r) => r.method === "GET" && r.url.startsWith(`/${BUCKET}/models/1/tiny/unet/model.onnx`));

beforeAll(async () => {
  requireBuiltCli();
  [s3, model, tmp] = await Promise.all([startS3(), tinyModel(), mkdtemp(path.join(os.tmpdir(), "models-cli-"))]);
  proxy = await startFaultProxy(s3.port);
});
afterAll(async () => {
  await proxy?.close();
  await s3?.close();
});

describe("diffusion-workbench models", () => {
  it("pushes a folder to s3://bucket/models/{version}/{name}/, pulls it and lists the cache", async () => {
    const cache = path.join(tmp, "c1");
    const push = await run(["models", "push", model, `s3://${BUCKET}`, "--name", "tiny"], cache);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout.trim()).toBe(url);
    const pull = await run(["models", "pull", url], cache);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout.trim()).toBe(entry(cache));
    await expectSameFiles(model, entry(cache));
    const ls = await run(["models", "ls"], cache);
    expect(ls.stdout).toContain(`s3\t${url}\t`);
    for (const r of [push, pull, ls]) expect(r.stdout + r.stderr).not.toContain(SECRET_KEY);
  });

  it("lets two processes pull the same model at once: one downloads, the other waits and uses it", async () => {
    const cache = path.join(tmp, "c2");
    proxy.seen.length = 0;
    const [a, b] = await Promise.all([run(["models", "pull", url], cache), run(["models", "pull", url], cache)]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(a.stdout).toBe(b.stdout);
    await expectSameFiles(model, entry(cache));
    expect(unetGets().length).toBe(1);
    expect(a.stderr + b.stderr).toMatch(/is up to date in the cache/);
  });

  it("resumes a pull that was killed half-way, and never leaves a folder that looks complete", async () => {
    const cache = path.join(tmp, "c3");
    proxy.plan = { slowMsPer64k: 40 };
    proxy.seen.length = 0;
    const child = spawn(process.execPath, [cli, "models", "pull", url], { env: env(cache), stdio: "ignore" });
    let exited = false;
    child.once("exit", () => (exited = true));
    const partialUnet = path.join(`${entry(cache)}.partial`, "unet", "model.onnx");
    const deadline = Date.now() + 60_000;
    while (((await stat(partialUnet).catch(() => undefined))?.size ?? 0) < 1_000_000) {
      if (exited || Date.now() > deadline) throw new Error("the pull ended before it was half-way");
      await sleep(50);
    }
    child.kill("SIGKILL");
    while (!exited) await sleep(20);
    proxy.plan = {};
    expect(existsSync(entry(cache))).toBe(false);
    expect(existsSync(`${entry(cache)}.lock`)).toBe(true); // left by the killed process; its pid is gone
    const kept = (await stat(partialUnet)).size;
    expect(kept).toBeGreaterThan(0);

    proxy.seen.length = 0;
    const r = await run(["models", "pull", url], cache);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming unet\/model\.onnx at \d+ of 5914609 bytes/);
    const ranges = unetGets().map((g) => g.range);
    expect(ranges).toHaveLength(1);
    expect(Number(/^bytes=(\d+)-$/.exec(ranges[0]!)![1])).toBeGreaterThanOrEqual(kept);
    await expectSameFiles(model, entry(cache));
    expect(existsSync(`${entry(cache)}.lock`)).toBe(false);
    expect(existsSync(`${entry(cache)}.partial`)).toBe(false);
  });
});

/** The command line, run as a user runs it: the built CLI in a child process. */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { readPngText } from "../lib/index.js";
import { requireBuiltCli, runCli, type CliResult } from "./helpers/cli.js";

let cache: string;
let work: string;

function run(args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: work, env: { ...process.env, MODEL_CACHE_DIR: cache, MODEL_ID: "" } });
}

beforeAll(async () => {
  requireBuiltCli();
  cache = await mkdtemp(path.join(os.tmpdir(), "cli-cache-"));
  work = await mkdtemp(path.join(os.tmpdir(), "cli-work-"));
});

describe("diffusion-workbench generate", () => {
  it("draws the picture a plain-language prompt describes, with nothing but a prompt, and says which model", async () => {
    const r = await run(["generate", "a", "red", "star", "on", "a", "blue", "background"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/building the built-in 'shapes' model once/);
    expect(r.stderr).toMatch(/no model given: using the built-in 'shapes' model \(an analytic model that draws coloured shapes/);
    const file = r.stdout.trim();
    expect(file).toMatch(/out\/a-red-star-on-a-blue-background-\d+-0\.png$/);
    const png = await readFile(path.resolve(work, file));
    const text = await readPngText(png);
    expect(text).toMatchObject({
      prompt: "a red star on a blue background",
      scheduler: "PNDMScheduler",
      num_inference_steps: "50",
      guidance_scale: "7.5",
      width: "512",
      height: "512",
      model: "builtin:shapes",
    });
    expect(Number(text.seed)).toBeGreaterThanOrEqual(0);
    // a red star in the centre, blue in the corners (PNDM leaves a few levels of noise)
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    for (const [x, y] of [[256, 256], [256, 200]]) {
      const [r0, g0, b0] = px(x, y);
      expect(r0, `red at ${x},${y}`).toBeGreaterThan(230);
      expect(Math.max(g0, b0)).toBeLessThan(25);
    }
    for (const [x, y] of [[4, 4], [507, 4], [4, 507], [507, 507]]) {
      const [r0, g0, b0] = px(x, y);
      expect(b0, `blue at ${x},${y}`).toBeGreaterThan(230);
      expect(Math.max(r0, g0)).toBeLessThan(25);
    }
  });

  it("keeps the random-weight tiny model a name away", async () => {
    const r = await run(["generate", "a red star", "--model", "tiny", "-s", "2", "-o", "tiny"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/using the built-in 'tiny' model \(SD 1.x architecture at tiny size with random weights/);
    expect(r.stderr).not.toMatch(/no model given/);
    const text = await readPngText(await readFile(path.resolve(work, r.stdout.trim())));
    expect(text).toMatchObject({ model: "builtin:tiny", width: "64", height: "64" });
  });

  it("takes every generation option, and the same seed gives the same file", async () => {
    const args = ["generate", "a cabin", "-n", "fog", "-s", "3", "-g", "5", "-W", "96", "-H", "64", "--model", "tiny", "--seed", "11", "--scheduler", "Euler a", "-c", "2", "-o", "opts", "--json"];
    const a = await run(args);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).not.toMatch(/building/);
    const summary = JSON.parse(a.stdout);
    expect(summary).toMatchObject({ seed: 11, scheduler: "EulerAncestralDiscreteScheduler" });
    expect(summary.files).toHaveLength(2);
    const first = await readFile(path.resolve(work, summary.files[0]));
    const text = await readPngText(first);
    expect(text).toMatchObject({ negative_prompt: "fog", seed: "11", num_inference_steps: "3", guidance_scale: "5", width: "96", height: "64" });
    const b = JSON.parse((await run(args)).stdout);
    expect((await readFile(path.resolve(work, b.files[0]))).equals(first)).toBe(true);
    expect((await readdir(path.join(work, "opts"))).every((f) => f.endsWith(".png"))).toBe(true);
  });

  it.each([
    [["--steps", "0"], /num_inference_steps: .*allowed: an integer from 1 to 1000/],
    [["--steps", "10000"], /num_inference_steps/],
    [["--width", "100"], /width: .*multiple of 8/],
    [["--guidance", "-1"], /guidance_scale: .*allowed: a number from 0 to 100/],
    [["--scheduler", "warp"], /scheduler: .*allowed: .*DPM\+\+ 2M Karras/],
  ])("exits 2 with a clear message for %j", async (extra, message) => {
    const r = await run(["generate", "x", "-o", "bad", ...(extra as string[])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(existsSync(path.join(work, "bad"))).toBe(false);
  });

  it("refuses a non-number and an unknown model", async () => {
    let r = await run(["generate", "x", "--steps", "many"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/'many' is not an integer/);
    r = await run(["generate", "x", "--model", "/no/such/folder"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/model '\/no\/such\/folder' not found.*built-in model \(shapes, tiny\)/);
  });
});

describe("diffusion-workbench build-tiny-model", () => {
  it("builds a folder in a chosen contract that generate then uses", async () => {
    const out = path.join(work, "built");
    const r = await run(["build-tiny-model", "-o", out, "--input-ids", "int32", "--timestep", "int64-batch", "--vae-encoder-output", "latent_sample", "--seed", "3"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    for (const f of ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt", "unet/model.onnx", "unet/config.json", "vae_decoder/config.json", "vae_encoder/model.onnx", "text_encoder/model.onnx"]) {
      expect(existsSync(path.join(out, f)), f).toBe(true);
    }
    const g = await run(["generate", "hello", "--model", out, "-s", "2", "-o", "fromfolder"]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).not.toMatch(/built-in/);
  });

  it("builds the analytic shapes family", async () => {
    const out = path.join(work, "shapes-built");
    const r = await run(["build-tiny-model", "-o", out, "--family", "shapes", "--input-ids", "int32"]);
    expect(r.code, r.stderr).toBe(0);
    const g = await run(["generate", "a", "green", "square", "--model", out, "-s", "10", "--scheduler", "euler", "-W", "128", "-H", "128", "-o", "sq"]);
    expect(g.code, g.stderr).toBe(0);
    const { data } = await sharp(await readFile(path.resolve(work, g.stdout.trim()))).raw().toBuffer({ resolveWithObject: true });
    const c = (64 * 128 + 64) * 3;
    // CSS green: 0.5 * 255 sits on a rounding edge, so 127 or 128
    const [r0, g0, b0] = data.subarray(c, c + 3);
    expect([r0, b0]).toEqual([0, 0]);
    expect(Math.abs(g0 - 127.5)).toBeLessThanOrEqual(0.5);
  });

  it.each([["sdxl"], ["sd3"]])("builds a tiny %s folder that generate opens by its family", async (family) => {
    const out = path.join(work, `${family}-built`);
    const r = await run(["build-tiny-model", "-o", out, "--family", family]);
    expect(r.code, r.stderr).toBe(0);
    const index = JSON.parse(await readFile(path.join(out, "model_index.json"), "utf8"));
    expect(index._class_name).toBe(family === "sdxl" ? "StableDiffusionXLPipeline" : "StableDiffusion3Pipeline");
    const g = await run(["generate", "a red star", "--model", out, "-s", "2", "-W", "64", "-H", "64", "-o", `${family}-out`, "--json"]);
    expect(g.code, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout).files).toHaveLength(1);
    const bad = await run(["build-tiny-model", "-o", path.join(work, `${family}-bad`), "--family", family, "--preset", "sd15"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`--preset: 'sd15' is not a ${family} preset`));
  });

  it("refuses an unknown preset", async () => {
    const r = await run(["build-tiny-model", "-o", path.join(work, "x"), "--preset", "huge"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/'huge' is not one of: tiny, small, sd15, sd2/);
  });
});

/** Image-to-image from the command line: `generate --image <file> --strength <x>`, run as a user runs it (the built CLI). */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { readPngText } from "../../lib/index.js";
import { shapesTarget } from "../../lib/onnx/builder/shapes/target.js";
import { requireBuiltCli, runCli, type CliResult } from "../helpers/cli.js";

let work: string;

function run(args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: work, env: { ...process.env, MODEL_CACHE_DIR: path.join(work, "cache"), MODEL_ID: "" } });
}

beforeAll(async () => {
  requireBuiltCli();
  work = await mkdtemp(path.join(os.tmpdir(), "cli-img2img-"));
});

describe("diffusion-workbench generate --image", () => {
  it("turns an init image into the prompt's picture with the shapes model, at the image's size", async () => {
    const init = path.join(work, "init.jpg");
    // a 160x120 JPEG: the output takes its size
    await writeFile(init, await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 200, g: 30, b: 90 } } }).jpeg().toBuffer());
    const prompt = "a white square on a black background";
    const r = await run(["generate", prompt, "--image", init, "--strength", "0.5", "-s", "10", "-g", "1", "--scheduler", "euler", "--seed", "4", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { files: string[] };
    const png = await readFile(path.resolve(work, summary.files[0]));
    expect(await readPngText(png)).toMatchObject({ prompt, width: "160", height: "120", num_inference_steps: "10" });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([160, 120]);
    const target = shapesTarget(prompt, 160, 120).rgb;
    let max = 0;
    for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(data[i] / 255 - target[i]));
    expect(max).toBeLessThanOrEqual(0.5 / 255 + 1e-6); // 8-bit rounding only
  });

  it("exits with code 2 and names the field for an unreadable image or a bad strength", async () => {
    const notImage = path.join(work, "notes.txt");
    await writeFile(notImage, "not an image");
    const bad = await run(["generate", "a red star", "--image", notImage, "-s", "2"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/image: cannot be decoded.*PNG, JPEG or WebP/);
    const strength = await run(["generate", "a red star", "--strength", "0.5", "-s", "2"]);
    expect(strength.code).toBe(2);
    expect(strength.stderr).toMatch(/strength: is used only for image-to-image/);
  });
});

/**
 * Classifier-free guidance and the VAE scaling factor, checked against the shapes model's closed
 * form: guidance w on the ideal denoisers of two one-point distributions is the ideal denoiser of
 * x0_u + w (x0_c - x0_u), so the picture is clip(img_u + w (img_c - img_u)). A pipeline that guides
 * the wrong way round, or decodes without the scaling factor, must fail the same check.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StableDiffusionPipeline } from "../../lib/diffusion/stable-diffusion.js";
import { silentLogger } from "../../lib/logger.js";
import { shapesGuidedTarget, shapesTarget } from "../../lib/onnx/builder/shapes/target.js";
import { matchesTarget, pixel, shapesModel } from "../helpers/shapes.js";

const quiet = { providers: ["cpu" as const], logger: silentLogger };
const W = 128;
const H = 128;
const PROMPT = "an orange circle on the left";
const NEGATIVE = "a blue square on the right on a yellow background";
const GUIDANCE = 3;
const EXACT_TOLERANCE = 1e-5;
/** PNDM's residual noise at alphas_cumprod[0] (see shapes-schedulers.test.ts). */
const RESIDUAL_TOLERANCE = 8 / 255;
const GUIDED_TARGET = shapesGuidedTarget(PROMPT, NEGATIVE, GUIDANCE, W, H);

let dir: string;
let pipe: StableDiffusionPipeline;
let scratch: string;
beforeAll(async () => {
  dir = await shapesModel();
  pipe = await StableDiffusionPipeline.load(dir, quiet);
  scratch = await mkdtemp(path.join(os.tmpdir(), "shapes-guidance-"));
});
afterAll(async () => {
  await pipe?.dispose();
  await rm(scratch, { recursive: true, force: true });
});

async function image(p: StableDiffusionPipeline, options: { prompt: string; negative_prompt?: string; guidance_scale: number; scheduler?: string; steps?: number }) {
  const r = await p.generate(
    {
      prompt: options.prompt,
      negative_prompt: options.negative_prompt,
      guidance_scale: options.guidance_scale,
      scheduler: options.scheduler ?? "euler",
      num_inference_steps: options.steps ?? 10,
      width: W,
      height: H,
      seed: 4,
    },
    { returnTensors: true },
  );
  return r.tensors!.images[0];
}

describe("classifier-free guidance on the shapes model", () => {
  const target = GUIDED_TARGET;

  it("gives clip(decode(x0_u + w (x0_c - x0_u))) with Euler, exactly", async () => {
    const check = matchesTarget(await image(pipe, { prompt: PROMPT, negative_prompt: NEGATIVE, guidance_scale: GUIDANCE }), target, EXACT_TOLERANCE);
    expect(check.pass, `max diff ${check.maxDiff}`).toBe(true);
    // and the guided picture is not simply the prompt's: the negative prompt's square and background push it away
    expect(matchesTarget(target, shapesTarget(PROMPT, W, H).rgb, 0.1).pass).toBe(false);
  });

  it("gives it with PNDM within its residual noise", async () => {
    const check = matchesTarget(await image(pipe, { prompt: PROMPT, negative_prompt: NEGATIVE, guidance_scale: GUIDANCE, scheduler: "pndm", steps: 20 }), target, RESIDUAL_TOLERANCE);
    expect(check.pass, `max diff ${check.maxDiff}`).toBe(true);
  });

  it("fails the check when guidance is applied to the wrong branch (prompt and negative prompt swapped)", async () => {
    const check = matchesTarget(await image(pipe, { prompt: NEGATIVE, negative_prompt: PROMPT, guidance_scale: GUIDANCE }), target, RESIDUAL_TOLERANCE);
    expect(check.pass).toBe(false);
    expect(check.maxDiff).toBeGreaterThan(0.5);
  });

  it("fails the check when guidance is skipped (w = 1)", async () => {
    expect(matchesTarget(await image(pipe, { prompt: PROMPT, negative_prompt: NEGATIVE, guidance_scale: 1 }), target, RESIDUAL_TOLERANCE).pass).toBe(false);
  });

  it("with the default options (PNDM, 50 steps, guidance 7.5, 512 px) draws a red star on a blue background", async () => {
    const r = await pipe.generate({ prompt: "a red star on a blue background", seed: 0 }, { returnTensors: true });
    const img = r.tensors!.images[0];
    expect([r.images[0].width, r.images[0].height]).toEqual([512, 512]);
    const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < RESIDUAL_TOLERANCE);
    expect(near(pixel(img, 512, 256, 256), [1, 0, 0])).toBe(true);
    for (const [x, y] of [[0, 0], [511, 0], [0, 511], [511, 511]]) expect(near(pixel(img, 512, x, y), [0, 0, 1])).toBe(true);
    // the empty negative prompt's picture is mid-gray (latent 0) and both colours are saturated, so w = 7.5 changes only the star's edges
    expect(matchesTarget(img, shapesGuidedTarget("a red star on a blue background", "", 7.5, 512, 512), RESIDUAL_TOLERANCE).pass).toBe(true);
  });
});

describe("the VAE scaling factor", () => {
  it("a pipeline that ignores scaling_factor (simulated by a folder copy with scaling_factor 1) fails the target check", async () => {
    const copy = path.join(scratch, "no-scaling");
    await cp(dir, copy, { recursive: true });
    const configFile = path.join(copy, "vae_decoder", "config.json");
    const config = JSON.parse(await readFile(configFile, "utf8")) as Record<string, unknown>;
    await writeFile(configFile, JSON.stringify({ ...config, scaling_factor: 1 }));
    const wrong = await StableDiffusionPipeline.load(copy, quiet);
    try {
      const plain = matchesTarget(await image(wrong, { prompt: PROMPT, guidance_scale: 1 }), shapesTarget(PROMPT, W, H).rgb, RESIDUAL_TOLERANCE);
      expect(plain.pass).toBe(false);
      expect(plain.maxDiff).toBeGreaterThan(0.3);
      const guided = matchesTarget(await image(wrong, { prompt: PROMPT, negative_prompt: NEGATIVE, guidance_scale: GUIDANCE }), GUIDED_TARGET, RESIDUAL_TOLERANCE);
      expect(guided.pass).toBe(false);
    } finally {
      await wrong.dispose();
    }
    // the real folder passes the same check
    expect(matchesTarget(await image(pipe, { prompt: PROMPT, guidance_scale: 1 }), shapesTarget(PROMPT, W, H).rgb, EXACT_TOLERANCE).pass).toBe(true);
  });
});

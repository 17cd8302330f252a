/**
 * Every scheduler on the analytic shapes model, whose UNet is the ideal denoiser of a one-point
 * distribution: a sampler that ends at sigma = 0 must land exactly on the target picture; DDIM and
 * PNDM stop at alphas_cumprod[0] (set_alpha_to_one = false) and keep sqrt(1 - abar_0) ~ 0.029 of
 * the noise, which is itself known in closed form.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StableDiffusionPipeline } from "../../lib/diffusion/stable-diffusion.js";
import { silentLogger } from "../../lib/logger.js";
import { alphasCumprod, makeBetas } from "../../lib/schedulers/betas.js";
import { SHAPES_SCHEDULE } from "../../lib/onnx/builder/shapes/schedule.js";
import { shapesDecode, shapesLatentTarget, shapesTarget } from "../../lib/onnx/builder/shapes/target.js";
import { COLOURS, SHAPE_NAMES } from "../../lib/onnx/builder/shapes/vocabulary.js";
import { matchesTarget, shapesModel } from "../helpers/shapes.js";

const quiet = { providers: ["cpu" as const], logger: silentLogger };
// Non-square, and colours with 0.5 channels, so that no error hides in the clip to [0, 1].
const W = 128;
const H = 96;
const PROMPT = "an orange heart on a purple background";

/** Samplers that end at sigma = 0: exact up to float32 rounding (measured <= 1.2e-6 on [0, 1] pixels, 1 to 50 steps, seeds 1-3). */
const EXACT = ["euler", "dpmpp_2m", "dpmpp_2m_karras", "lms", "heun"] as const;
/** Stochastic samplers also converge on a one-point distribution: every x0 prediction is the target (LCM: measured <= 2e-6). */
const STOCHASTIC = ["euler_a", "lcm"] as const;
const EXACT_TOLERANCE = 1e-5;
/** DDIM / PNDM at 20 steps: the noise left at alphas_cumprod[0] (measured <= 6.5 / 255, seeds 1-3; 7.2 / 255 at 4 steps, 9.5 / 255 at 2). */
const RESIDUAL_TOLERANCE = 8 / 255;

let pipe: StableDiffusionPipeline;
beforeAll(async () => {
  pipe = await StableDiffusionPipeline.load(await shapesModel(), quiet);
});
afterAll(async () => {
  await pipe?.dispose();
});

async function generate(scheduler: string, steps: number, prompt: string | string[] = PROMPT, seed = 1) {
  const r = await pipe.generate({ prompt, scheduler, num_inference_steps: steps, guidance_scale: 1, width: W, height: H, seed }, { returnTensors: true });
  return { images: r.tensors!.images, noise: r.tensors!.initialNoise.data, latents: r.tensors!.finalLatents.data, timesteps: r.timesteps };
}

describe("schedulers on the shapes model", () => {
  const target = shapesTarget(PROMPT, W, H).rgb;

  for (const name of [...EXACT, ...STOCHASTIC]) {
    it(`${name} ends on the analytic target at 1, 4 and 20 steps`, async () => {
      for (const steps of [1, 4, 20]) {
        const { images } = await generate(name, steps);
        const check = matchesTarget(images[0], target, EXACT_TOLERANCE);
        expect(check.pass, `${name} ${steps} steps: max diff ${check.maxDiff}`).toBe(true);
      }
    });
  }

  for (const name of ["ddim", "pndm"] as const) {
    it(`${name} ends on sqrt(abar_0) x0 + sqrt(1 - abar_0) eps, within ${Math.round(RESIDUAL_TOLERANCE * 255)}/255 of the target at 20 steps`, async () => {
      const { images, noise, latents, timesteps } = await generate(name, 20);
      const abar = alphasCumprod(makeBetas(SHAPES_SCHEDULE));
      const x0 = shapesLatentTarget(PROMPT, H / 8, W / 8);
      // The first step turns the initial noise into eps = (x_T - sqrt(abar_T) x0) / sqrt(1 - abar_T);
      // with an ideal denoiser every later eps is the same, and the last step stops at abar_0.
      const aT = abar[timesteps[0]];
      const a0 = abar[0];
      const expected = x0.map((x, i) => Math.sqrt(a0) * x + Math.sqrt(1 - a0) * ((noise[i] - Math.sqrt(aT) * x) / Math.sqrt(1 - aT)));
      expect(matchesTarget(latents, expected, 1e-4).pass).toBe(true);
      expect(matchesTarget(images[0], shapesDecode(expected, H / 8, W / 8), EXACT_TOLERANCE).pass).toBe(true);
      const check = matchesTarget(images[0], target, RESIDUAL_TOLERANCE);
      expect(check.pass, `max diff ${check.maxDiff}`).toBe(true);
      expect(check.maxDiff).toBeGreaterThan(1 / 255); // the residual is real, not a rounding error
    });
  }

  it("draws every colour, shape, position and size word as the closed form says, and ignores unknown words", async () => {
    const prompts = [
      ...Object.keys(COLOURS).map((c, i) => `a ${c} ${SHAPE_NAMES[i % SHAPE_NAMES.length]} on a ${Object.keys(COLOURS)[(i + 3) % 13]} background`),
      "a small circle at the top left",
      "a big triangle on the right",
      "a tiny star at the bottom",
      "a large ring in the centre",
      "a heart in the middle, photorealistic, 8k, trending on artstation",
      "a blue background with a red star",
      "a red and yellow square",
      "zebra",
    ];
    const { images } = await generate("euler", 2, prompts);
    prompts.forEach((p, i) => {
      const check = matchesTarget(images[i], shapesTarget(p, W, H).rgb, EXACT_TOLERANCE);
      expect(check.pass, `${p}: max diff ${check.maxDiff}`).toBe(true);
    });
  });
});

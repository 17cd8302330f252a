/**
 * The scheduler loops of the shared tiny-sd-diffusers fixture: diffusers' own pipeline runs, with
 * the noise predictions it fed to `scheduler.step` and the latents it got back. Each scheduler is
 * built from the case's scheduler_config as the registry builds it, and steps over the recorded
 * predictions from initial_noise * init_noise_sigma.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { TorchGenerator } from "../../lib/diffusion/generator.js";
import { createScheduler } from "../../lib/schedulers/index.js";
import { expectClose } from "./reference-loop.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fixtureDir = path.join(path.resolve(repoRoot, "../shared"), "fixtures/tiny-sd-diffusers");
const present = existsSync(path.join(fixtureDir, "cases.json"));

interface Case {
  name: string;
  scheduler: string;
  scheduler_config: Record<string, unknown>;
  num_inference_steps: number;
  seed: number;
  latents_shape: number[];
  timesteps: number[];
  timesteps_dtype: string;
  init_noise_sigma: number;
}

function readF32(name: string, file: string): Float32Array {
  const b = readFileSync(path.join(fixtureDir, "cases", name, file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

const cases: Case[] = present
  ? (JSON.parse(readFileSync(path.join(fixtureDir, "cases.json"), "utf8")) as { cases: Case[] }).cases
  : [];

// Needs ../shared/fixtures/tiny-sd-diffusers beside the checkout (CI has it); skipped without it.
describe.skipIf(!present)("schedulers over the tiny-sd-diffusers pipeline runs", () => {
  if (!present) console.warn(`skipped: ${fixtureDir} does not exist`);

  it("has the 6 cases of its README", () => {
    expect(cases).toHaveLength(6);
  });

  for (const c of cases) {
    it(`reproduces diffusers' latents step by step: ${c.name}`, () => {
      const scheduler = createScheduler(c.scheduler_config, c.scheduler);
      scheduler.setTimesteps(c.num_inference_steps);
      expect(scheduler.timestepDtype).toBe(c.timesteps_dtype);
      expect([...scheduler.timesteps]).toEqual(c.timesteps);
      expect(Math.fround(scheduler.initNoiseSigma)).toBeCloseTo(c.init_noise_sigma, 5);

      const size = c.latents_shape.reduce((a, b) => a * b, 1);
      const noisePreds = readF32(c.name, "step_noise_pred.f32");
      const expected = readF32(c.name, "step_latents.f32");
      expect(noisePreds.length).toBe(size * scheduler.timesteps.length);
      const sigma = Math.fround(scheduler.initNoiseSigma);
      let latents: Float32Array = readF32(c.name, "initial_noise.f32").map((x) => x * sigma);
      // the pipeline passes its generator on to step (after drawing the initial noise)
      const generator = new TorchGenerator(c.seed);
      generator.randn(size);
      scheduler.timesteps.forEach((t, k) => {
        scheduler.scaleModelInput(latents, t);
        const out = scheduler.step(noisePreds.subarray(k * size, (k + 1) * size), t, latents, { eta: 0, generator });
        latents = out.prevSample;
        expectClose(latents, expected.subarray(k * size, (k + 1) * size), 0, 1e-4);
      });
    });
  }
});

/**
 * Image-to-image arithmetic of the LCM, SDXL and SD3 families against diffusers v0.29.2
 * (test/fixtures/img2img/families.json, from test/reference/img2img_families.py): the timesteps
 * that run and the starting noise level for each strength and step count, and prepare_latents'
 * draw order and scaling (SD3's shift factor, flow matching's scale_noise).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidInputError, createScheduler } from "../../lib/index.js";
import { img2imgSchedule, lcmImg2imgSchedule, sd3Img2ImgSchedule } from "../../lib/diffusion/img2img.js";
import { pipelineSchedulerConfig } from "../../lib/onnx/builder/pipeline-kinds.js";
import { sd3SchedulerConfigJson } from "../../lib/onnx/builder/sd3/model-folder.js";
import { sdxlSchedulerConfigJson } from "../../lib/onnx/builder/sdxl/model-folder.js";
import { FlowMatchEulerDiscreteScheduler } from "../../lib/schedulers/flow-match-euler-discrete.js";
import type { Scheduler } from "../../lib/schedulers/scheduler.js";
import { repoRoot } from "../helpers/paths.js";
import { replayInitLatents } from "./img2img-helpers.js";

interface TimestepCase {
  steps: number;
  strength: number;
  error?: boolean;
  num_steps?: number;
  timesteps?: number[];
  sigma?: number;
  signal?: number;
  noise?: number;
}
const reference = JSON.parse(readFileSync(path.join(repoRoot, "test", "fixtures", "img2img", "families.json"), "utf8")) as {
  lcm: TimestepCase[];
  sdxl: TimestepCase[];
  sd3: TimestepCase[];
  latents: { family: "lcm" | "sdxl" | "sd3"; steps: number; strength: number; seed: number; images_per_prompt: number; latent_shape: number[]; latents_shape: number[]; latents: string }[];
};

/** The scheduler configs the builder writes, and each family's strength rule (as its pipeline applies it). */
const FAMILIES = {
  lcm: {
    scheduler: () => createScheduler(pipelineSchedulerConfig("lcm", "epsilon")),
    schedule: (s: Scheduler, steps: number, strength: number) => lcmImg2imgSchedule(s, steps, strength),
    vae: { scalingFactor: 0.18215, shiftFactor: 0 },
  },
  sdxl: {
    scheduler: () => createScheduler(sdxlSchedulerConfigJson("epsilon")),
    schedule: (s: Scheduler, steps: number, strength: number) => (s.setTimesteps(steps), img2imgSchedule(s, steps, strength)),
    vae: { scalingFactor: 0.13025, shiftFactor: 0 },
  },
  sd3: {
    scheduler: () => createScheduler(sd3SchedulerConfigJson(3.0)),
    schedule: (s: Scheduler, steps: number, strength: number) => (s.setTimesteps(steps), sd3Img2ImgSchedule(s, steps, strength)),
    vae: { scalingFactor: 1.5305, shiftFactor: 0.0609 },
  },
} as const;

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

for (const family of ["lcm", "sdxl", "sd3"] as const) {
  describe(`${family} image-to-image schedule follows diffusers`, () => {
    const cases = reference[family];
    it(`runs diffusers' timesteps, step count and starting noise level for ${cases.length} steps/strength cases`, () => {
      const fam = FAMILIES[family];
      for (const c of cases) {
        const label = `${family} ${c.steps} steps strength ${c.strength}`;
        const scheduler = fam.scheduler();
        // diffusers refuses (LCM) or leaves nothing to run (SDXL: an empty schedule); here both are refused up front
        if (c.error || c.timesteps?.length === 0) {
          expect(() => fam.schedule(scheduler, c.steps, c.strength), label).toThrow(InvalidInputError);
          continue;
        }
        const s = fam.schedule(scheduler, c.steps, c.strength);
        expect(s.timesteps, label).toEqual(c.timesteps);
        expect(s.numSteps, label).toBe(c.num_steps);
        const t0 = s.timesteps[0];
        if (c.sigma !== undefined) expect((scheduler as FlowMatchEulerDiscreteScheduler).sigmas[s.tStart], label).toBe(Math.fround(c.sigma));
        // add_noise / scale_noise of a fresh schedule each (flow matching keeps the step index it finds)
        const fresh = () => {
          const again = fam.scheduler();
          fam.schedule(again, c.steps, c.strength);
          return again;
        };
        const signal = fresh().addNoise(Float32Array.of(1), Float32Array.of(0), t0)[0];
        const noise = fresh().addNoise(Float32Array.of(0), Float32Array.of(1), t0)[0];
        expect(close(signal, c.signal!), `${label}: signal ${signal} vs ${c.signal}`).toBe(true);
        expect(close(noise, c.noise!), `${label}: noise ${noise} vs ${c.noise}`).toBe(true);
      }
    });
  });
}

describe("image-to-image schedules refuse what diffusers refuses, naming strength", () => {
  it("refuses an LCM strength that keeps fewer distillation steps than the steps asked for", () => {
    const s = FAMILIES.lcm.scheduler();
    expect(() => lcmImg2imgSchedule(s, 4, 0.05)).toThrow(/strength: 0.05 keeps 2 of the 50 distillation timesteps, fewer than num_inference_steps 4.*allowed: at least 0.08/);
  });

  it("gives SD3 at least one step for any positive strength, where SD's rule may give none", () => {
    const sd3 = FAMILIES.sd3.scheduler();
    sd3.setTimesteps(4);
    expect(sd3Img2ImgSchedule(sd3, 4, 0.01).numSteps).toBe(1);
    const sdxl = FAMILIES.sdxl.scheduler();
    sdxl.setTimesteps(4);
    expect(() => img2imgSchedule(sdxl, 4, 0.2)).toThrow(/strength/);
  });

  it("gives an LCM model stepped by another scheduler the generic tail", () => {
    const euler = createScheduler(pipelineSchedulerConfig("lcm", "epsilon"), "euler");
    const s = lcmImg2imgSchedule(euler, 10, 0.5);
    expect(s.numSteps).toBe(5);
    expect(s.timesteps).toEqual(euler.timesteps.slice(5));
  });
});

describe("image-to-image latents follow each family's prepare_latents", () => {
  for (const c of reference.latents) {
    it(`samples the latent distribution, then draws the noise, and scales as diffusers (${c.family}, strength ${c.strength})`, () => {
      const fam = FAMILIES[c.family];
      const scheduler = fam.scheduler();
      const { timesteps } = fam.schedule(scheduler, c.steps, c.strength);
      // the stand-in encoder of test/reference/img2img_families.py
      const { dims, maxRelError } = replayInitLatents(c, fam.vae, scheduler, timesteps[0]);
      expect(dims).toEqual(c.latents_shape);
      expect(maxRelError).toBeLessThanOrEqual(1e-5);
    });
  }
});

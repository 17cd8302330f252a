import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../lib/errors.js";
import { DEFAULTS, LCMScheduler } from "../../lib/schedulers/lcm.js";
import { caseConfig, expectLoopMatches, loadFixture } from "./reference-loop.js";

const fixture = loadFixture("lcm");
/** LCMScheduler.set_timesteps(n, strength=...) of diffusers v0.29.2 (test/reference/img2img_families.py). */
const strengthCases = (
  JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../fixtures/img2img/families.json"), "utf8")) as {
    lcm: { steps: number; strength: number; error?: boolean; timesteps?: number[] }[];
  }
).lcm;

describe("LCMScheduler", () => {
  it("keeps the class defaults of diffusers v0.27.2", () => {
    expect(DEFAULTS.original_inference_steps).toBe(50);
    expect(DEFAULTS.timestep_scaling).toBe(10);
    expect(DEFAULTS.beta_schedule).toBe("scaled_linear");
  });

  // the loops re-noise with new TorchGenerator(seed), as the reference passes
  // torch.Generator().manual_seed(seed) to step
  for (const c of fixture.cases) {
    it(`matches diffusers over a full loop with seeded noise: ${c.name}`, () => {
      expectLoopMatches(LCMScheduler.fromConfig(caseConfig(c)), c);
    });
  }

  it("picks timesteps from the distillation schedule as diffusers does, for every step count of the grid", () => {
    const { base_config, entries } = fixture.timestep_grid;
    for (const e of entries) {
      const s = LCMScheduler.fromConfig({ ...base_config });
      s.setTimesteps(e.steps);
      expect([...s.timesteps], `${e.steps} steps`).toEqual(e.timesteps);
    }
  });

  it("allows at most original_inference_steps steps", () => {
    const s = new LCMScheduler();
    expect(() => s.setTimesteps(51)).toThrow(InvalidInputError);
    expect(() => s.setTimesteps(51)).toThrow(/\[1, 50\]/);
  });

  it("needs a generator between steps but not for a single step", () => {
    const x = new Float32Array(4);
    const one = new LCMScheduler();
    one.setTimesteps(1);
    expect(() => one.step(x, one.timesteps[0], x)).not.toThrow();
    const two = new LCMScheduler();
    two.setTimesteps(2);
    expect(() => two.step(x, two.timesteps[0], x)).toThrow(/generator/);
  });
  it(`shortens the distillation schedule by strength as diffusers v0.29.2 does (${strengthCases.length} steps/strength cases)`, () => {
    for (const c of strengthCases) {
      const s = new LCMScheduler({ steps_offset: 1 });
      const label = `${c.steps} steps strength ${c.strength}`;
      if (c.error) {
        expect(() => s.setTimesteps(c.steps, c.strength), label).toThrow(InvalidInputError);
      } else {
        s.setTimesteps(c.steps, c.strength);
        expect(s.timesteps, label).toEqual(c.timesteps);
      }
    }
    expect(() => new LCMScheduler().setTimesteps(4, 0)).toThrow(/strength: 0 is out of range/);
  });
});

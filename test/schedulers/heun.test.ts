import { describe, expect, it } from "vitest";
import { DEFAULTS, HeunDiscreteScheduler } from "../../lib/schedulers/heun.js";
import { caseConfig, expectClose, expectLoopMatches, loadFixture } from "./reference-loop.js";

const fixture = loadFixture("heun");

describe("HeunDiscreteScheduler", () => {
  it("keeps the class defaults of diffusers v0.27.2, with SD's betas", () => {
    expect(DEFAULTS.beta_start).toBe(0.00085);
    expect(DEFAULTS.beta_end).toBe(0.012);
    expect(new HeunDiscreteScheduler().order).toBe(2);
  });

  for (const c of fixture.cases) {
    it(`matches diffusers over a full loop: ${c.name}`, () => {
      const s = HeunDiscreteScheduler.fromConfig(caseConfig(c));
      expectLoopMatches(s, c);
      expectClose(s.sigmas, c.sigmas!, 0, 0);
    });
  }

  it("visits every timestep but the first twice, as diffusers does, over the grid", () => {
    const { base_config, entries } = fixture.timestep_grid;
    for (const e of entries) {
      const s = HeunDiscreteScheduler.fromConfig({ ...base_config, timestep_spacing: e.spacing, steps_offset: e.steps_offset });
      s.setTimesteps(e.steps);
      expect(s.timesteps.length).toBe(2 * e.steps - 1);
      expect([...s.timesteps], `${e.spacing} offset ${e.steps_offset}, ${e.steps} steps`).toEqual(e.timesteps);
    }
  });
});

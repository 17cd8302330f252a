import { describe, expect, it } from "vitest";
import { DEFAULTS, LMSDiscreteScheduler } from "../../lib/schedulers/lms.js";
import { caseConfig, expectClose, expectLoopMatches, loadFixture } from "./reference-loop.js";

const fixture = loadFixture("lms");

describe("LMSDiscreteScheduler", () => {
  it("keeps the class defaults of diffusers v0.27.2", () => {
    expect(DEFAULTS.timestep_spacing).toBe("linspace");
    expect(DEFAULTS.use_karras_sigmas).toBe(false);
  });

  for (const c of fixture.cases) {
    it(`matches diffusers over a full loop: ${c.name}`, () => {
      const s = LMSDiscreteScheduler.fromConfig(caseConfig(c));
      expectLoopMatches(s, c);
      expectClose(s.sigmas, c.sigmas!, 0, 0);
    });
  }

  it("places float32 timesteps as diffusers does for every spacing, offset and step count of the grid", () => {
    const { base_config, entries } = fixture.timestep_grid;
    for (const e of entries) {
      const s = LMSDiscreteScheduler.fromConfig({ ...base_config, timestep_spacing: e.spacing, steps_offset: e.steps_offset });
      s.setTimesteps(e.steps);
      expect([...s.timesteps], `${e.spacing} offset ${e.steps_offset}, ${e.steps} steps`).toEqual(e.timesteps);
    }
  });
});

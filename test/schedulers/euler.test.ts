import { describe, expect, it } from "vitest";
import { DEFAULTS, EulerDiscreteScheduler } from "../../lib/schedulers/euler.js";
import { caseConfig, expectClose, expectLoopMatches, loadFixture } from "./reference-loop.js";

const fixture = loadFixture("euler");

describe("EulerDiscreteScheduler", () => {
  it("keeps the class defaults of diffusers v0.27.2", () => {
    expect(DEFAULTS.timestep_spacing).toBe("linspace");
    expect(DEFAULTS.use_karras_sigmas).toBe(false);
  });

  for (const c of fixture.cases) {
    it(`matches diffusers over a full loop: ${c.name}`, () => {
      const s = EulerDiscreteScheduler.fromConfig(caseConfig(c));
      expectLoopMatches(s, c);
      expectClose(s.sigmas, c.sigmas!, 0, 0);
    });
  }

  it("places float32 timesteps as diffusers does for every spacing, offset and step count of the grid", () => {
    const { base_config, entries } = fixture.timestep_grid;
    for (const e of entries) {
      const s = EulerDiscreteScheduler.fromConfig({ ...base_config, timestep_spacing: e.spacing, steps_offset: e.steps_offset });
      s.setTimesteps(e.steps);
      expect([...s.timesteps], `${e.spacing} offset ${e.steps_offset}, ${e.steps} steps`).toEqual(e.timesteps);
    }
  });

  it("finds the timesteps of Karras sigmas as diffusers does, over the grid", () => {
    // diffusers interpolates in numpy's float32 log table, whose last bits differ from a correctly
    // rounded log; the timesteps agree to about 1e-3 of a training step
    const { base_config, extra, entries } = loadFixture("euler-karras").timestep_grid;
    for (const e of entries) {
      const s = EulerDiscreteScheduler.fromConfig({ ...base_config, ...extra, timestep_spacing: e.spacing, steps_offset: e.steps_offset });
      s.setTimesteps(e.steps);
      expectClose(s.timesteps, e.timesteps, 0, 2e-3);
    }
  });

  it("rejects log_linear interpolation, which is not ported", () => {
    expect(() => EulerDiscreteScheduler.fromConfig({ interpolation_type: "log_linear" })).toThrow(/interpolation_type.*linear/);
  });

  it("adds noise as x0 + sigma * noise at the timestep's sigma", () => {
    const s = new EulerDiscreteScheduler();
    s.setTimesteps(4);
    const t = s.timesteps[1];
    const out = s.addNoise(new Float32Array([1]), new Float32Array([2]), t);
    expect(out[0]).toBeCloseTo(1 + 2 * s.sigmas[1], 5);
  });
});

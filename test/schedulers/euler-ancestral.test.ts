import { describe, expect, it } from "vitest";
import { TorchGenerator } from "../../lib/diffusion/generator.js";
import { InvalidInputError } from "../../lib/errors.js";
import { DEFAULTS, EulerAncestralDiscreteScheduler } from "../../lib/schedulers/euler-ancestral.js";
import { caseConfig, expectClose, expectLoopMatches, loadFixture } from "./reference-loop.js";

const fixture = loadFixture("euler-ancestral");

describe("EulerAncestralDiscreteScheduler", () => {
  it("keeps the class defaults of diffusers v0.27.2", () => {
    expect(DEFAULTS.timestep_spacing).toBe("linspace");
  });

  // the loops draw their noise from new TorchGenerator(seed), as the reference passes
  // torch.Generator().manual_seed(seed) to step
  for (const c of fixture.cases) {
    it(`matches diffusers over a full loop with seeded noise: ${c.name}`, () => {
      const s = EulerAncestralDiscreteScheduler.fromConfig(caseConfig(c));
      expectLoopMatches(s, c);
      expectClose(s.sigmas, c.sigmas!, 0, 0);
    });
  }

  it("places float32 timesteps as diffusers does for every spacing, offset and step count of the grid", () => {
    const { base_config, entries } = fixture.timestep_grid;
    for (const e of entries) {
      const s = EulerAncestralDiscreteScheduler.fromConfig({ ...base_config, timestep_spacing: e.spacing, steps_offset: e.steps_offset });
      s.setTimesteps(e.steps);
      expect([...s.timesteps], `${e.spacing} offset ${e.steps_offset}, ${e.steps} steps`).toEqual(e.timesteps);
    }
  });

  it("needs a generator to step", () => {
    const s = new EulerAncestralDiscreteScheduler();
    s.setTimesteps(2);
    const x = new Float32Array(4);
    expect(() => s.step(x, s.timesteps[0], x)).toThrow(InvalidInputError);
    expect(() => s.step(x, s.timesteps[0], x, { generator: new TorchGenerator(1) })).not.toThrow();
  });

  it("rejects sample prediction, which diffusers leaves unimplemented here", () => {
    expect(() => EulerAncestralDiscreteScheduler.fromConfig({ prediction_type: "sample" })).toThrow(/epsilon, v_prediction/);
  });
});

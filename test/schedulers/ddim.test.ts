import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../lib/errors.js";
import { DDIMScheduler, DEFAULTS } from "../../lib/schedulers/ddim.js";
import { caseConfig, expectLoopMatches, loadFixture } from "./reference-loop.js";

const fixture = loadFixture("ddim");

describe("DDIMScheduler", () => {
  it("keeps the class defaults of diffusers v0.27.2", () => {
    expect(DEFAULTS.clip_sample).toBe(true);
    expect(DEFAULTS.set_alpha_to_one).toBe(true);
    expect(DEFAULTS.timestep_spacing).toBe("leading");
    expect(new DDIMScheduler().usedDefaults).toContain("beta_schedule");
  });

  for (const c of fixture.cases) {
    it(`matches diffusers over a full loop: ${c.name}`, () => {
      expectLoopMatches(DDIMScheduler.fromConfig(caseConfig(c)), c);
    });
  }

  it("places timesteps as diffusers does for every spacing, offset and step count of the grid", () => {
    const { base_config, entries } = fixture.timestep_grid;
    for (const e of entries) {
      const s = new DDIMScheduler({ ...base_config, timestep_spacing: e.spacing as "leading", steps_offset: e.steps_offset });
      s.setTimesteps(e.steps);
      expect([...s.timesteps], `${e.spacing} offset ${e.steps_offset}, ${e.steps} steps`).toEqual(e.timesteps);
    }
  });

  it("rejects a step count outside [1, num_train_timesteps], naming the field and the range", () => {
    const s = new DDIMScheduler();
    for (const bad of [0, 1001, 2.5, Number.NaN]) {
      expect(() => s.setTimesteps(bad)).toThrow(InvalidInputError);
    }
    expect(() => s.setTimesteps(0)).toThrow(/num_inference_steps.*\[1, 1000\]/);
  });

  it("refuses dynamic thresholding, which is not ported, and unknown prediction types", () => {
    expect(() => new DDIMScheduler({ thresholding: true })).toThrow(/thresholding/);
    expect(() => DDIMScheduler.fromConfig({ prediction_type: "x0" })).toThrow(/prediction_type.*epsilon, v_prediction, sample/);
  });

  it("needs a generator when eta > 0", () => {
    const s = new DDIMScheduler();
    s.setTimesteps(2);
    const x = new Float32Array(4);
    expect(() => s.step(x, s.timesteps[0], x, { eta: 1 })).toThrow(/generator/);
  });

  it("adds noise as sqrt(alphabar) * x0 + sqrt(1 - alphabar) * noise", () => {
    const s = new DDIMScheduler();
    const a = s.alphasCumprod[500];
    const out = s.addNoise(new Float32Array([1, 2]), new Float32Array([0.5, -1]), 500);
    expect(out[0]).toBeCloseTo(Math.sqrt(a) + 0.5 * Math.sqrt(1 - a), 6);
    expect(out[1]).toBeCloseTo(2 * Math.sqrt(a) - Math.sqrt(1 - a), 6);
  });
});

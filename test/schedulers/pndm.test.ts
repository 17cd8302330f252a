import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../lib/errors.js";
import { DEFAULTS, PNDMScheduler } from "../../lib/schedulers/pndm.js";
import { caseConfig, expectLoopMatches, loadFixture, type SchedulerFixture } from "./reference-loop.js";

const fixture = loadFixture("pndm");

function expectGrid(grid: SchedulerFixture["timestep_grid"]): void {
  for (const e of grid.entries) {
    const s = PNDMScheduler.fromConfig({ ...grid.base_config, ...grid.extra, timestep_spacing: e.spacing, steps_offset: e.steps_offset });
    s.setTimesteps(e.steps);
    expect([...s.timesteps], `${e.spacing} offset ${e.steps_offset}, ${e.steps} steps`).toEqual(e.timesteps);
  }
}

describe("PNDMScheduler", () => {
  it("keeps the class defaults of diffusers v0.27.2", () => {
    expect(DEFAULTS.skip_prk_steps).toBe(false);
    expect(DEFAULTS.beta_schedule).toBe("linear");
  });

  for (const c of fixture.cases) {
    it(`matches diffusers over a full loop: ${c.name}`, () => {
      expectLoopMatches(PNDMScheduler.fromConfig(caseConfig(c)), c);
    });
  }

  it("repeats the second-to-last timestep with skip_prk_steps, as diffusers does, over the grid", () => {
    expectGrid(fixture.timestep_grid);
  });

  it("lays out the Runge-Kutta warm-up timesteps as diffusers does, over the grid", () => {
    expectGrid(loadFixture("pndm-prk").timestep_grid);
  });

  it("needs at least 4 steps for the Runge-Kutta warm-up", () => {
    const s = new PNDMScheduler();
    expect(() => s.setTimesteps(3)).toThrow(InvalidInputError);
    expect(() => s.setTimesteps(3)).toThrow(/\[4, 1000\]/);
  });

  it("rejects sample prediction, which diffusers' PNDM does not have", () => {
    expect(() => PNDMScheduler.fromConfig({ prediction_type: "sample" })).toThrow(/prediction_type.*epsilon, v_prediction/);
  });
});

import { describe, expect, it } from "vitest";
import { DEFAULTS, DPMSolverMultistepScheduler } from "../../lib/schedulers/dpm-solver-multistep.js";
import { caseConfig, expectClose, expectLoopMatches, loadFixture, type SchedulerFixture } from "./reference-loop.js";

const fixture = loadFixture("dpm-solver-multistep");

function expectGrid(grid: SchedulerFixture["timestep_grid"]): void {
  for (const e of grid.entries) {
    const s = DPMSolverMultistepScheduler.fromConfig({ ...grid.base_config, ...grid.extra, timestep_spacing: e.spacing, steps_offset: e.steps_offset });
    s.setTimesteps(e.steps);
    expect([...s.timesteps], `${e.spacing} offset ${e.steps_offset}, ${e.steps} steps`).toEqual(e.timesteps);
  }
}

describe("DPMSolverMultistepScheduler", () => {
  it("keeps the class defaults of diffusers v0.27.2 (DPM++ 2M)", () => {
    expect(DEFAULTS.algorithm_type).toBe("dpmsolver++");
    expect(DEFAULTS.solver_order).toBe(2);
    expect(DEFAULTS.solver_type).toBe("midpoint");
    expect(DEFAULTS.final_sigmas_type).toBe("zero");
    expect(DEFAULTS.lambda_min_clipped).toBe(-Infinity);
  });

  for (const c of fixture.cases) {
    it(`matches diffusers over a full loop: ${c.name}`, () => {
      const s = DPMSolverMultistepScheduler.fromConfig(caseConfig(c));
      expectLoopMatches(s, c);
      expectClose(s.sigmas, c.sigmas!, 0, 0);
    });
  }

  it("places timesteps as diffusers does (n + 1 points for linspace and leading), over the grid", () => {
    expectGrid(fixture.timestep_grid);
  });

  it("rounds the timesteps of Karras sigmas as diffusers does, over the grid", () => {
    expectGrid(loadFixture("dpm-solver-multistep-karras").timestep_grid);
  });

  it("refuses the variants that are not ported, naming what is supported", () => {
    expect(() => DPMSolverMultistepScheduler.fromConfig({ algorithm_type: "sde-dpmsolver++" })).toThrow(/algorithm_type.*dpmsolver\+\+/);
    expect(() => DPMSolverMultistepScheduler.fromConfig({ use_lu_lambdas: true })).toThrow(/use_lu_lambdas/);
    expect(() => DPMSolverMultistepScheduler.fromConfig({ solver_order: 4 })).toThrow(/solver_order/);
    expect(() => DPMSolverMultistepScheduler.fromConfig({ final_sigmas_type: "one" })).toThrow(/zero, sigma_min/);
  });

  it("adds noise as alpha_t * x0 + sigma_t * noise", () => {
    const s = new DPMSolverMultistepScheduler();
    s.setTimesteps(5);
    const sigma = s.sigmas[2];
    const alpha = 1 / Math.sqrt(sigma * sigma + 1);
    const out = s.addNoise(new Float32Array([1]), new Float32Array([1]), s.timesteps[2]);
    expect(out[0]).toBeCloseTo(alpha + sigma * alpha, 5);
  });
});

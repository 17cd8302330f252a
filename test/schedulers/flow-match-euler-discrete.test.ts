import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TorchGenerator } from "../../lib/diffusion/generator.js";
import { createScheduler } from "../../lib/schedulers/index.js";
import { DEFAULTS, FlowMatchEulerDiscreteScheduler } from "../../lib/schedulers/flow-match-euler-discrete.js";
import { caseConfig, decodeF32, expectClose, expectLoopMatches, runLoop, type LoopCase } from "./reference-loop.js";

interface FlowMatchFixture {
  cases: (LoopCase & { generator_after: number | null })[];
  training: Record<string, { timesteps: string; sigmas: string; sigma_min: number; sigma_max: number }>;
  scale_noise: { steps: number; index: number; timestep: number; sample: string }[];
}

const fixture = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, "../fixtures/schedulers/flow-match.json"), "utf8"),
) as FlowMatchFixture;

const COUNT = 2 * 4 * 4 * 4;
const xInit = () => Float32Array.from({ length: COUNT }, (_, i) => ((i * 53 + 7) % 199) / 64 - 1.5);
const base = (k: number) => Float32Array.from({ length: COUNT }, (_, i) => ((i * 37 + k * 101) % 257) / 128 - 1);

describe("FlowMatchEulerDiscreteScheduler", () => {
  it("keeps the class defaults of diffusers v0.29.2", () => {
    expect(DEFAULTS).toEqual({ num_train_timesteps: 1000, shift: 1.0 });
  });

  for (const [shift, t] of Object.entries(fixture.training)) {
    it(`builds the shifted training schedule exactly as diffusers does (shift ${shift})`, () => {
      const s = new FlowMatchEulerDiscreteScheduler({ shift: Number(shift) });
      expect(Float32Array.from(s.timesteps)).toEqual(decodeF32(t.timesteps));
      expect(s.sigmas).toEqual(decodeF32(t.sigmas));
      expect(s.sigmaMin).toBe(t.sigma_min);
      expect(s.sigmaMax).toBe(t.sigma_max);
    });
  }

  for (const c of fixture.cases) {
    it(`matches diffusers over a full loop: ${c.name}`, () => {
      const s = FlowMatchEulerDiscreteScheduler.fromConfig(caseConfig(c));
      expectLoopMatches(s, c);
      expect([...s.sigmas]).toEqual(c.sigmas);
    });
  }

  it("advances a given generator once per step, as diffusers' step draws (unused) churn noise", () => {
    const c = fixture.cases.find((x) => x.seed !== null)!;
    const s = FlowMatchEulerDiscreteScheduler.fromConfig(caseConfig(c));
    s.setTimesteps(c.steps);
    const generator = new TorchGenerator(c.seed!);
    let sample: Float32Array = xInit();
    s.timesteps.forEach((t, k) => {
      const out = base(k).map((b, i) => b + Math.fround(Math.fround(0.05) * sample[i]));
      sample = s.step(out, t, sample, { generator }).prevSample;
    });
    expect(generator.randn(1)[0]).toBe(Math.fround(c.generator_after!));
    expectClose(sample, decodeF32(c.final_sample), 1e-5, 1e-5);
  });

  for (const n of fixture.scale_noise) {
    it(`adds noise as diffusers' scale_noise does (${n.steps} steps, index ${n.index})`, () => {
      const s = FlowMatchEulerDiscreteScheduler.fromConfig({ shift: 3.0 });
      s.setTimesteps(n.steps);
      expect(s.timesteps[n.index]).toBe(n.timestep);
      expectClose(s.addNoise(xInit(), base(5), n.timestep), decodeF32(n.sample), 0, 0);
    });
  }

  it("ends every schedule at sigma 0, so the last step returns the model's x0 estimate", () => {
    const s = new FlowMatchEulerDiscreteScheduler({ shift: 3 });
    s.setTimesteps(3);
    expect(s.sigmas.at(-1)).toBe(0);
    const r = runLoop(s, { ...fixture.cases[0], steps: 3 });
    expect(r.final.length).toBe(COUNT);
  });

  it("is registered under its class name and the short names", () => {
    for (const name of ["FlowMatchEulerDiscreteScheduler", "flow_match_euler", "FlowMatchEuler"]) {
      const s = createScheduler({ _class_name: "FlowMatchEulerDiscreteScheduler", shift: 3.0 }, name);
      expect(s.className).toBe("FlowMatchEulerDiscreteScheduler");
    }
    const fromFile = createScheduler({ _class_name: "FlowMatchEulerDiscreteScheduler", shift: 3.0 });
    expect((fromFile as FlowMatchEulerDiscreteScheduler).config.shift).toBe(3);
  });

  it("rejects a shift that is not a positive number, naming the key", () => {
    expect(() => new FlowMatchEulerDiscreteScheduler({ shift: 0 })).toThrow(/shift/);
    expect(() => FlowMatchEulerDiscreteScheduler.fromConfig({ shift: "3" })).toThrow(/shift/);
  });
});

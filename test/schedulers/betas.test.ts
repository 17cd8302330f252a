import { describe, expect, it } from "vitest";
import { alphasCumprod, makeBetas, rescaleZeroTerminalSnr } from "../../lib/schedulers/betas.js";
import { decodeF32 } from "./reference-loop.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface Schedule {
  name: string;
  config: Record<string, unknown>;
  betas: string;
  alphas_cumprod: string;
}

const fixture = JSON.parse(
  readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/schedulers/betas.json"), "utf8"),
) as { schedules: Schedule[] };

const DEFAULTS = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear", trained_betas: null };

describe("betas", () => {
  for (const s of fixture.schedules) {
    it(`reproduces diffusers' float32 betas and alphas_cumprod bit for bit: ${s.name}`, () => {
      const { rescale_betas_zero_snr: rescale, ...config } = s.config;
      let betas = makeBetas({ ...DEFAULTS, ...config } as typeof DEFAULTS);
      if (rescale === true) betas = rescaleZeroTerminalSnr(betas);
      expect(betas).toEqual(decodeF32(s.betas));
      expect(alphasCumprod(betas)).toEqual(decodeF32(s.alphas_cumprod));
    });
  }

  it("takes trained_betas as given, over any named schedule", () => {
    const betas = makeBetas({ ...DEFAULTS, beta_schedule: "scaled_linear", trained_betas: [0.1, 0.2] });
    expect([...betas]).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  });

  it("names the allowed schedules for an unknown one", () => {
    expect(() => makeBetas({ ...DEFAULTS, beta_schedule: "quadratic" })).toThrow(/beta_schedule.*linear, scaled_linear, squaredcos_cap_v2/);
  });
});

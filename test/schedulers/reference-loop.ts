/**
 * Shared by the scheduler tests: reads a fixture written by test/reference/schedulers.py and runs
 * the same loop on a port, with the same stand-in "UNet" (integer formulas, exact in float32).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { TorchGenerator } from "../../lib/diffusion/generator.js";
import type { Scheduler, StepOptions } from "../../lib/schedulers/scheduler.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/schedulers");

export interface LoopCase {
  name: string;
  file: Record<string, unknown> | null;
  config: Record<string, unknown>;
  steps: number;
  seed: number | null;
  step_kwargs: { eta?: number };
  timesteps: number[];
  timesteps_dtype: string;
  sigmas: number[] | null;
  init_noise_sigma: number;
  input_scales: number[];
  first_prev_sample: string;
  first_pred_original_sample: string | null;
  final_sample: string;
}

export interface GridEntry {
  spacing: string;
  steps_offset: number;
  steps: number;
  timesteps: number[];
}

export interface SchedulerFixture {
  class: string;
  latent_shape: number[];
  cases: LoopCase[];
  timestep_grid: { base_config: Record<string, unknown>; extra: Record<string, unknown>; entries: GridEntry[] };
}

export function loadFixture(name: string): SchedulerFixture {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as SchedulerFixture;
}

/** The case's config as from_config saw it: the file's values with the case's overrides on top. */
export function caseConfig(c: LoopCase): Record<string, unknown> {
  return { ...(c.file ?? {}), ...c.config };
}

export function decodeF32(b64: string): Float32Array {
  const bytes = Buffer.from(b64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const COUNT = 2 * 4 * 4 * 4;

function xInit(): Float32Array {
  return Float32Array.from({ length: COUNT }, (_, i) => ((i * 53 + 7) % 199) / 64 - 1.5);
}

function base(k: number): Float32Array {
  return Float32Array.from({ length: COUNT }, (_, i) => ((i * 37 + k * 101) % 257) / 128 - 1);
}

export interface LoopResult {
  timesteps: number[];
  inputScales: number[];
  firstPrev: Float32Array;
  firstX0: Float32Array | undefined;
  final: Float32Array;
}

/** The loop of test/reference/schedulers.py, step for step. */
export function runLoop(scheduler: Scheduler, c: LoopCase): LoopResult {
  scheduler.setTimesteps(c.steps);
  const sigma = Math.fround(scheduler.initNoiseSigma);
  let sample: Float32Array = xInit().map((x) => x * sigma);
  const options: StepOptions = { ...c.step_kwargs };
  if (c.seed !== null) options.generator = new TorchGenerator(c.seed);
  const timesteps = [...scheduler.timesteps];
  const inputScales: number[] = [];
  let firstPrev: Float32Array | undefined;
  let firstX0: Float32Array | undefined;
  const w = Math.fround(0.05);
  timesteps.forEach((t, k) => {
    const modelInput = scheduler.scaleModelInput(sample, t);
    inputScales.push(scheduler.scaleModelInput(new Float32Array([1]), t)[0]);
    const b = base(k);
    const modelOutput = modelInput.map((x, i) => b[i] + Math.fround(w * x));
    const out = scheduler.step(modelOutput, t, sample, options);
    sample = out.prevSample;
    if (k === 0) {
      firstPrev = out.prevSample;
      firstX0 = out.predOriginalSample;
    }
  });
  return { timesteps, inputScales, firstPrev: firstPrev!, firstX0, final: sample };
}

/** Element-wise |a - b| <= atol + rtol * |b|, reporting the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

export interface LoopTolerance {
  rtol: number;
  atol: number;
  /**
   * Absolute tolerance on timesteps; 0 = identical. Timesteps found back from Karras sigmas go
   * through numpy's float32 log (SIMD, not correctly rounded), so they agree to ~1e-3 only.
   */
  timesteps: number;
}

/** A case that finds float timesteps from Karras sigmas (see LoopTolerance.timesteps). */
export function usesKarrasTimesteps(c: LoopCase): boolean {
  return caseConfig(c).use_karras_sigmas === true && c.timesteps_dtype !== "int64";
}

/** Checks a full loop against the fixture case: timesteps, init_noise_sigma, input scales, samples. */
export function expectLoopMatches(scheduler: Scheduler, c: LoopCase, tolerance: Partial<LoopTolerance> = {}): void {
  const tol = { rtol: 1e-5, atol: 1e-5, timesteps: usesKarrasTimesteps(c) ? 2e-3 : 0, ...tolerance };
  const r = runLoop(scheduler, c);
  // diffusers keeps LMS's and Heun's Karras timesteps as float64; the port holds them unrounded
  expect(scheduler.timestepDtype).toBe(c.timesteps_dtype === "float64" ? "float32" : c.timesteps_dtype);
  if (tol.timesteps === 0) expect(r.timesteps).toEqual(c.timesteps);
  else expectClose(r.timesteps, c.timesteps, 0, tol.timesteps);
  expect(Math.fround(scheduler.initNoiseSigma)).toBe(c.init_noise_sigma);
  expectClose(r.inputScales, c.input_scales, 1e-7, 0);
  expectClose(r.firstPrev, decodeF32(c.first_prev_sample), tol.rtol, tol.atol);
  if (c.first_pred_original_sample !== null && r.firstX0 !== undefined) {
    expectClose(r.firstX0, decodeF32(c.first_pred_original_sample), tol.rtol, tol.atol);
  }
  expectClose(r.final, decodeF32(c.final_sample), tol.rtol, tol.atol);
}

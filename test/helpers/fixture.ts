/** Reading the shared diffusers fixture (../shared/fixtures/tiny-sd-diffusers, see its README). */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fixtureDir } from "./paths.js";

export interface FixtureCase {
  name: string;
  prompt: string;
  negative_prompt: string | null;
  guidance_scale: number;
  num_inference_steps: number;
  width: number;
  height: number;
  seed: number;
  scheduler: string;
  scheduler_overrides: Record<string, unknown>;
  scheduler_config: Record<string, unknown>;
  do_classifier_free_guidance: boolean;
  input_ids: number[];
  negative_input_ids: number[] | null;
  latents_shape: number[];
  init_noise_sigma: number;
  timesteps: number[];
  unet_calls: number;
  unet0: { t: number; batch: number };
}

export function fixtureCases(): FixtureCase[] {
  return JSON.parse(readFileSync(path.join(fixtureDir, "cases.json"), "utf8")).cases as FixtureCase[];
}

export function readF32(caseName: string, file: string): Float32Array {
  const buf = readFileSync(path.join(fixtureDir, "cases", caseName, file));
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The library's scheduler name for a case: its class, or the alias that carries its overrides. */
export function schedulerNameFor(c: FixtureCase): string {
  if (c.scheduler === "DPMSolverMultistepScheduler" && c.scheduler_overrides.use_karras_sigmas) return "DPM++ 2M Karras";
  if (Object.keys(c.scheduler_overrides).length) throw new Error(`no alias for overrides ${JSON.stringify(c.scheduler_overrides)}`);
  return c.scheduler;
}

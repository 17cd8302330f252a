/**
 * One benchmark scenario, run in its own process (so peak memory is its own), printing one JSON line.
 *   node dist/bench/scenario.js <tiny|sd15> '{"runs":5,"steps":20}'
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import {
  StableDiffusionPipeline,
  buildModelFolder,
  cacheRoot,
  ensureBuiltinModel,
  runtimeOptionsFromEnv,
  silentLogger,
} from "../lib/index.js";
import { median, peakRssMiB } from "./stats.js";
import { stat } from "node:fs/promises";

interface Args {
  runs: number;
  steps: number;
  size: number;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** The SD 1.5-size model, built once into the cache (about 4.3 GB, random weights). */
async function sd15Folder(): Promise<{ dir: string; buildS?: number }> {
  const dir = path.join(cacheRoot(), "bench", "sd15-v1");
  if (await exists(path.join(dir, "model_index.json"))) return { dir };
  await mkdir(path.dirname(dir), { recursive: true });
  const t = performance.now();
  await buildModelFolder({ family: "sd1", preset: "sd15", seed: 0, outDir: dir });
  return { dir, buildS: (performance.now() - t) / 1000 };
}

async function main(): Promise<void> {
  const [name, json] = process.argv.slice(2);
  const args: Args = { runs: 3, steps: 10, size: 0, ...(json ? JSON.parse(json) : {}) };
  const { dir, buildS } = name === "sd15" ? await sd15Folder() : { dir: await ensureBuiltinModel("tiny"), buildS: undefined };

  const tLoad = performance.now();
  const pipe = await StableDiffusionPipeline.load(dir, { ...runtimeOptionsFromEnv(), providers: ["cpu"], logger: silentLogger });
  const loadS = (performance.now() - tLoad) / 1000;
  const request = {
    prompt: "a photograph of an astronaut riding a horse",
    negative_prompt: "blurry",
    num_inference_steps: args.steps,
    guidance_scale: 7.5,
    seed: 1,
    ...(args.size ? { width: args.size, height: args.size } : {}),
  };
  // Warm-up: the first run of a session allocates and pre-packs; it is reported apart.
  const warm = await pipe.generate({ ...request, num_inference_steps: Math.min(args.steps, 2) });
  const runs = [];
  for (let i = 0; i < args.runs; i++) runs.push(await pipe.generate(request));
  await pipe.dispose();

  const steps = runs.flatMap((r) => r.timings.stepMs);
  const total = runs.map((r) => r.timings.totalMs);
  const inRun = runs.map((r) => r.timings.sessionRunMs);
  const overhead = runs.map((r) => (r.timings.totalMs - r.timings.sessionRunMs) / r.timings.totalMs);
  const out = {
    scenario: name,
    model: dir,
    graphOptimization: process.env.ORT_GRAPH_OPTIMIZATION ?? "all",
    size: `${runs[0].images[0].width}x${runs[0].images[0].height}`,
    guidedBatch: 2,
    steps: args.steps,
    runs: args.runs,
    buildS,
    loadS,
    warmupTotalS: warm.timings.totalMs / 1000,
    medianTotalS: median(total) / 1000,
    medianStepS: median(steps) / 1000,
    minStepS: Math.min(...steps) / 1000,
    maxStepS: Math.max(...steps) / 1000,
    medianTextEncoderS: median(runs.map((r) => r.timings.textEncoderMs)) / 1000,
    medianDenoiseS: median(runs.map((r) => r.timings.denoiseMs)) / 1000,
    medianDecodeS: median(runs.map((r) => r.timings.decodeMs)) / 1000,
    medianPostprocessS: median(runs.map((r) => r.timings.postprocessMs)) / 1000,
    medianSessionRunS: median(inRun) / 1000,
    medianOverheadPct: median(overhead) * 100,
    overheadMsPerRun: median(runs.map((r) => r.timings.totalMs - r.timings.sessionRunMs)),
    peakRssMiB: peakRssMiB(),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

await main();

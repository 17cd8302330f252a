/**
 * SD3.5 Medium-size benchmark: one guided denoising step (batch 2: negative and positive) of the
 * real-size MMDiT-X transformer (random weights, same shapes and FLOPs as the released model) at
 * 512x512 and 1024x1024, with load, text encoder and VAE decode times and peak RSS. Each size runs
 * in its own process so that its peak memory is its own.
 *
 *   npm run build && node dist/bench/sd3.js            # both sizes
 *   node dist/bench/sd3.js 512                         # one size
 *
 * The folder (about 13 GB: CLIP-L, CLIP-G, the 2.2B transformer, the VAE; no T5, see
 * lib/onnx/builder/sd3/presets.ts) is built once into the cache. Components are opened one at a time
 * (CPU offload) and without weight pre-packing (low CPU memory), so that a 2.2B-parameter float32
 * transformer fits beside its activations on a 24 GB machine; at 1024 px the guided batch runs as
 * two half batches (attention slicing): one attention score matrix is then 24 x 4429^2 floats (1.9 GB).
 */
import { execFileSync } from "node:child_process";
import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { StableDiffusion3Pipeline, buildSd3ModelFolder, cacheRoot, silentLogger } from "../lib/index.js";
import { peakRssMiB } from "./stats.js";

const exists = (p: string) => stat(p).then(() => true, () => false);

async function folder(): Promise<{ dir: string; buildS?: number }> {
  const dir = path.join(cacheRoot(), "bench", "sd35-medium-v1");
  if (await exists(path.join(dir, "model_index.json"))) return { dir };
  await mkdir(path.dirname(dir), { recursive: true });
  const t = performance.now();
  await buildSd3ModelFolder({ preset: "sd35-medium", seed: 0, outDir: dir });
  return { dir, buildS: (performance.now() - t) / 1000 };
}

async function runSize(size: number): Promise<void> {
  const { dir } = await folder();
  const t = performance.now();
  const pipe = await StableDiffusion3Pipeline.load(dir, {
    providers: ["cpu"],
    cpuOffload: true,
    lowCpuMem: true,
    attentionSlicing: size >= 1024,
    logger: silentLogger,
  });
  const loadS = (performance.now() - t) / 1000;
  const r = await pipe.generate({ prompt: "a photograph of an astronaut riding a horse", negative_prompt: "blurry", num_inference_steps: 1, guidance_scale: 7, width: size, height: size, seed: 1 });
  await pipe.dispose();
  const s = (ms: number) => ms / 1000;
  process.stdout.write(
    JSON.stringify({
      scenario: "sd35-medium",
      size: `${size}x${size}`,
      guidedBatch: 2,
      attentionSlicing: size >= 1024,
      loadS,
      stepS: s(r.timings.stepMs[0]),
      textEncoderS: s(r.timings.textEncoderMs),
      decodeS: s(r.timings.decodeMs),
      totalS: s(r.timings.totalMs),
      peakRssMiB: peakRssMiB(),
    }) + "\n",
  );
}

async function main(): Promise<void> {
  const size = Number(process.argv[2]);
  if (size) return runSize(size);
  const { dir, buildS } = await folder();
  if (buildS !== undefined) process.stderr.write(`built ${dir} in ${buildS.toFixed(0)} s\n`);
  const here = fileURLToPath(import.meta.url);
  const results = [512, 1024].map((n) => {
    process.stderr.write(`sd35-medium ${n}x${n} ...\n`);
    const out = execFileSync(process.execPath, [here, String(n)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    return JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, number | string | boolean>;
  });
  console.log("| size | s/step (guided batch 2) | load s | text encoders s | VAE decode s | total s | peak RSS MiB |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of results) {
    const f = (k: string, d = 1) => (r[k] as number).toFixed(d);
    console.log(`| ${r.size}${r.attentionSlicing ? " (attention slicing)" : ""} | ${f("stepS")} | ${f("loadS")} | ${f("textEncoderS")} | ${f("decodeS")} | ${f("totalS")} | ${f("peakRssMiB", 0)} |`);
  }
}

await main();

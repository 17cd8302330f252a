/**
 * `npm run bench`: per-stage and per-step time, peak memory and pipeline overhead (wall time outside
 * onnxruntime's `session.run`), for the tiny model and the SD 1.5-size model (UNet guided batch 2 at
 * 512x512, i.e. 64x64 latents). Each scenario runs in its own process; medians over its runs.
 *
 *   npm run bench                      # both scenarios
 *   npm run bench -- tiny              # one of them
 *   BENCH_SD15_STEPS=3 BENCH_SD15_RUNS=2 BENCH_TINY_RUNS=7 npm run bench
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
// Scenario hook: `npm run bench -- runtime` benchmarks the KServe runtime (bench/runtime.ts) in its own process.
if (process.argv.slice(2).includes("runtime")) {
  execFileSync(process.execPath, [path.join(here, "runtime.js")], { stdio: "inherit" });
  process.exit(0);
}
const num = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
const scenarios: Record<string, object> = {
  tiny: { runs: num("BENCH_TINY_RUNS", 7), steps: num("BENCH_TINY_STEPS", 20) },
  sd15: { runs: num("BENCH_SD15_RUNS", 2), steps: num("BENCH_SD15_STEPS", 3), size: 512 },
};
const wanted = process.argv.slice(2).filter((a) => a in scenarios);
const results = [];
for (const name of wanted.length ? wanted : Object.keys(scenarios)) {
  process.stderr.write(`bench ${name} ${JSON.stringify(scenarios[name])} ...\n`);
  const out = execFileSync(process.execPath, [path.join(here, "scenario.js"), name, JSON.stringify(scenarios[name])], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 20,
  });
  const r = JSON.parse(out.trim().split("\n").at(-1)!);
  results.push(r);
  process.stderr.write(JSON.stringify(r, null, 2) + "\n");
}
const f = (x: number | undefined, d = 3) => (x === undefined ? "-" : x.toFixed(d));
console.log("\n| scenario | size | steps x runs | load s | s/step (median) | text enc s | decode s | total s | in session.run s | overhead % | peak RSS MiB |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.scenario} | ${r.size} | ${r.steps} x ${r.runs} | ${f(r.loadS, 1)} | ${f(r.medianStepS)} | ${f(r.medianTextEncoderS)} | ` +
      `${f(r.medianDecodeS)} | ${f(r.medianTotalS)} | ${f(r.medianSessionRunS)} | ${f(r.medianOverheadPct, 2)} | ${f(r.peakRssMiB, 0)} |`,
  );
}
const dir = path.join(process.cwd(), "out", "bench");
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
console.log(`\nwritten ${file}`);

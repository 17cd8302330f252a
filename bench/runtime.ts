/**
 * `npm run bench -- runtime`: the KServe runtime against the library.
 * - overhead per request: p50 of a V1 predict over HTTP minus p50 of the same generation (plus PNG
 *   encoding) called on the library directly, on the random `tiny` model;
 * - requests per second at concurrency 1, 4 and 16, with and without dynamic batching;
 * - peak resident memory of the server process (main thread + worker) under that load.
 *
 *   BENCH_RUNTIME_REQUESTS=48 BENCH_RUNTIME_STEPS=4 npm run bench -- runtime
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { KServeClient, encodePng, ensureBuiltinModel, loadPipeline, silentLogger } from "../lib/index.js";
import { loadConfig } from "../serving/runtime/config.js";
import { createRuntime } from "../serving/runtime/server.js";
import { median } from "./stats.js";

const num = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
const REQUESTS = num("BENCH_RUNTIME_REQUESTS", 48);
const STEPS = num("BENCH_RUNTIME_STEPS", 4);
const OVERHEAD_RUNS = num("BENCH_RUNTIME_OVERHEAD_RUNS", 30);
const request = { prompt: "a photograph of an astronaut riding a horse", width: 64, height: 64, num_inference_steps: STEPS, guidance_scale: 7.5 };

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

async function direct(): Promise<number[]> {
  const pipe = await loadPipeline(await ensureBuiltinModel("tiny"), { providers: ["cpu"], logger: silentLogger });
  const times: number[] = [];
  for (let i = 0; i < OVERHEAD_RUNS + 3; i++) {
    const t = performance.now();
    const r = await pipe.generate({ ...request, seed: i });
    await encodePng(r.images[0]);
    if (i >= 3) times.push(performance.now() - t);
  }
  await pipe.dispose();
  return times;
}

async function withServer<T>(env: Record<string, string>, fn: (client: KServeClient) => Promise<T>): Promise<T> {
  const config = loadConfig({ port: 0, host: "127.0.0.1" }, { MODEL_ID: "tiny", EXECUTION_PROVIDER: "cpu", MAX_QUEUE_DEPTH: "1000", ...env });
  const runtime = createRuntime(config, { logger: pino({ level: "silent" }) });
  const { url, loaded } = await runtime.start();
  await loaded;
  try {
    return await fn(new KServeClient({ url, retries: 0 }));
  } finally {
    await runtime.shutdown();
  }
}

async function load(client: KServeClient, concurrency: number): Promise<{ rps: number; p50Ms: number; p95Ms: number; peakRssMiB: number; meanBatch: number }> {
  let next = 0;
  let peak = rssMiB();
  const latencies: number[] = [];
  const batches: number[] = [];
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 20);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < REQUESTS) {
        const seed = next++;
        const t = performance.now();
        const out = await client.predict([{ ...request, seed }]);
        latencies.push(performance.now() - t);
        batches.push(out.predictions[0].timings.batch_size);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  return {
    rps: REQUESTS / seconds,
    p50Ms: pct(latencies, 50),
    p95Ms: pct(latencies, 95),
    peakRssMiB: Math.max(peak, rssMiB()),
    meanBatch: batches.reduce((a, b) => a + b, 0) / batches.length,
  };
}

async function main(): Promise<void> {
  const directMs = await direct();
  const served = await withServer({}, async (client) => {
    for (let i = 0; i < 3; i++) await client.predict([{ ...request, seed: i }]);
    const times: number[] = [];
    for (let i = 0; i < OVERHEAD_RUNS; i++) {
      const t = performance.now();
      await client.predict([{ ...request, seed: i }]);
      times.push(performance.now() - t);
    }
    return times;
  });
  const overhead = { directP50Ms: median(directMs), serverP50Ms: median(served), overheadP50Ms: median(served) - median(directMs) };
  process.stderr.write(`overhead: ${JSON.stringify(overhead)}\n`);

  const throughput: Array<{ maxBatchSize: number; concurrency: number } & Awaited<ReturnType<typeof load>>> = [];
  for (const batch of [1, 8]) {
    await withServer({ MAX_BATCH_SIZE: String(batch) }, async (client) => {
      await client.predict([{ ...request, seed: 0 }]);
      for (const concurrency of [1, 4, 16]) {
        const r = { maxBatchSize: batch, concurrency, ...(await load(client, concurrency)) };
        process.stderr.write(`${JSON.stringify(r)}\n`);
        throughput.push(r);
      }
    });
  }

  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(`\ntiny model, ${request.width}x${request.height}, ${STEPS} steps, guided; ${REQUESTS} requests per row\n`);
  console.log(`library direct p50 ${f(overhead.directP50Ms)} ms, through the server p50 ${f(overhead.serverP50Ms)} ms: overhead ${f(overhead.overheadP50Ms)} ms per request\n`);
  console.log("| MAX_BATCH_SIZE | concurrency | req/s | p50 ms | p95 ms | mean batch | peak RSS MiB |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of throughput) {
    console.log(`| ${r.maxBatchSize} | ${r.concurrency} | ${f(r.rps, 2)} | ${f(r.p50Ms)} | ${f(r.p95Ms)} | ${f(r.meanBatch, 2)} | ${f(r.peakRssMiB, 0)} |`);
  }
  const dir = path.join(process.cwd(), "out", "bench");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `runtime-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ request, requests: REQUESTS, overhead, throughput }, null, 2));
  console.log(`\nwritten ${file}`);
}

await main();

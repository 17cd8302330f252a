/**
 * An inference worker thread: it owns one pipeline, because onnxruntime-node's `session.run` blocks
 * the thread it runs on. The main thread (HTTP, health, metrics) stays free. Between denoising steps
 * this thread's event loop turns, so `resolve` and `cancel` messages are answered within one step.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parentPort } from "node:worker_threads";
import {
  InvalidInputError,
  createScheduler,
  imageMetadata,
  loadPipeline,
  type GenerateResult,
  type Logger,
  type TextToImagePipeline,
} from "../../lib/index.js";
import { batchRequest, imageCount } from "./batching.js";
import { encodeImage } from "./encode-image.js";
import type { FromWorker, JobOutput, SerializedError, StageTimings, ToWorker, WorkerJob } from "./worker-protocol.js";

const port = parentPort;
if (!port) throw new Error("serving/runtime/worker.js runs as a worker thread");

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function serialize(err: unknown): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  const f = e as Error & { field?: string; allowed?: string; component?: string; reason?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(f.field !== undefined ? { field: f.field } : {}),
    ...(f.allowed !== undefined ? { allowed: f.allowed } : {}),
    ...(f.component !== undefined ? { component: f.component } : {}),
    ...(e.stack ? { stack: e.stack } : {}),
  };
}

const LEVELS = ["debug", "info", "warn"] as const;
function workerLogger(level: string): Logger {
  const min = Math.max(0, LEVELS.indexOf(level as (typeof LEVELS)[number]));
  const at = (l: (typeof LEVELS)[number]) => (msg: string) => {
    if (LEVELS.indexOf(l) >= min) post({ type: "log", level: l, msg });
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn") };
}

interface Loaded {
  pipe: TextToImagePipeline;
  schedulerConfig: Record<string, unknown>;
  latentChannels: number;
  vaeScaleFactor: number;
  label: string;
}
let loaded: Loaded | undefined;
const running = new Map<number, AbortController>();

async function readConfig(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Latent channels and VAE factor, for drawing a batch's noise. The pipeline interface does not expose
 * the latent shape, so it is read from the same configs the pipelines read (unet or transformer
 * in_channels; 2^(VAE blocks - 1)); if they disagree the pipeline refuses the latents' length and the
 * batch runs request by request instead.
 */
async function latentGeometry(dir: string): Promise<{ latentChannels: number; vaeScaleFactor: number }> {
  const denoiser = (await readConfig(path.join(dir, "unet", "config.json"))) ?? (await readConfig(path.join(dir, "transformer", "config.json")));
  const vae = (await readConfig(path.join(dir, "vae_decoder", "config.json"))) ?? (await readConfig(path.join(dir, "vae", "config.json")));
  const channels = typeof denoiser?.in_channels === "number" ? denoiser.in_channels : 4;
  const blocks = Array.isArray(vae?.block_out_channels) ? vae.block_out_channels.length : 4;
  return { latentChannels: channels, vaeScaleFactor: 2 ** (blocks - 1) };
}

async function load(m: Extract<ToWorker, { type: "load" }>): Promise<void> {
  const t = performance.now();
  try {
    const logger = workerLogger(m.logLevel);
    const pipe = await loadPipeline(m.modelDir, { ...m.runtime, logger });
    const schedulerConfig = (await readConfig(path.join(pipe.dir, "scheduler", "scheduler_config.json"))) ?? {};
    loaded = { pipe, schedulerConfig, ...(await latentGeometry(pipe.dir)), label: m.modelLabel };
    const d = pipe.describe();
    post({ type: "loaded", loadMs: performance.now() - t, family: d.family, className: d.className, provider: d.provider, dtype: d.dtype });
  } catch (err) {
    post({ type: "load-failed", error: serialize(err) });
  }
}

function resolve(m: Extract<ToWorker, { type: "resolve" }>): void {
  try {
    if (!loaded) throw new Error("model not loaded");
    const options = loaded.pipe.resolve(m.options as never);
    const schedulerClass = createScheduler(loaded.schedulerConfig, options.scheduler).className;
    post({ type: "resolved", id: m.id, options, schedulerClass });
  } catch (err) {
    post({ type: "resolve-failed", id: m.id, error: serialize(err) });
  }
}

/** Run jobs as one batch when there are several (falling back to one by one if the batch is refused). */
async function generate(jobs: WorkerJob[], signal: AbortSignal): Promise<{ results: GenerateResult[]; batched: boolean }> {
  const { pipe, latentChannels, vaeScaleFactor } = loaded!;
  if (jobs.length > 1) {
    const o = jobs[0].options;
    const perImage = latentChannels * Math.floor(o.height / vaeScaleFactor) * Math.floor(o.width / vaeScaleFactor);
    const { options, latents } = batchRequest(jobs, perImage);
    try {
      return { results: [await pipe.generate(options, { signal, latents })], batched: true };
    } catch (err) {
      if (!(err instanceof InvalidInputError && err.field === "latents")) throw err;
      workerLogger("warn").warn(`batch refused (${err.message}); running its ${jobs.length} requests one by one`);
    }
  }
  const results: GenerateResult[] = [];
  for (const j of jobs) results.push(await pipe.generate({ ...j.options, seed: j.seed }, { signal }));
  return { results, batched: false };
}

async function run(m: Extract<ToWorker, { type: "run" }>): Promise<void> {
  const controller = new AbortController();
  running.set(m.id, controller);
  const t0 = performance.now();
  try {
    const { results, batched } = await generate(m.jobs, controller.signal);
    const tEnc = performance.now();
    const outputs: JobOutput[] = [];
    const transfer: ArrayBuffer[] = [];
    // Images in job order: one result per job, or one batch result holding every job's images in order.
    let result = 0;
    let at = 0;
    for (const job of m.jobs) {
      const r = batched ? results[0] : results[result++];
      if (!batched) at = 0;
      const n = imageCount(job.options);
      const own: GenerateResult = { ...r, seed: job.seed, options: job.options };
      const images: Uint8Array[] = [];
      for (const image of r.images.slice(at, at + n)) {
        const buf = await encodeImage(image, job.outputFormat, imageMetadata(own, { ...image, index: image.index - at }, loaded!.label));
        const copy = new Uint8Array(buf);
        images.push(copy);
        transfer.push(copy.buffer);
      }
      at += n;
      outputs.push({ id: job.id, images, seed: job.seed, scheduler: r.scheduler });
    }
    const sum = (f: (r: GenerateResult) => number) => results.reduce((s, r) => s + f(r), 0);
    const timings: StageTimings = {
      textEncodingMs: sum((r) => r.timings.tokenizeMs + r.timings.textEncoderMs),
      denoisingMs: sum((r) => r.timings.denoiseMs),
      decodingMs: sum((r) => r.timings.decodeMs + r.timings.postprocessMs),
      encodingMs: performance.now() - tEnc,
      totalMs: performance.now() - t0,
    };
    post({ type: "done", id: m.id, outputs, timings, batched }, transfer);
  } catch (err) {
    post({ type: "failed", id: m.id, error: serialize(err) });
  } finally {
    running.delete(m.id);
  }
}

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "load":
      void load(m);
      break;
    case "resolve":
      resolve(m);
      break;
    case "run":
      void run(m);
      break;
    case "cancel":
      running.get(m.id)?.abort();
      break;
  }
});

/** Lets the pool's module pull this file into the build (it is started by path, never imported). */
export type WorkerEntry = "serving/runtime/worker";

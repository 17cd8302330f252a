/**
 * Prometheus metrics of the runtime (prom-client), on their own registry so several servers can run
 * in one process (tests). Recorded at the choke points: the HTTP response hook, the queue, the
 * worker's stage timings and the model load, as KServe times its stages around `predict`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Seconds; from a few ms (tiny model, overheads) to 20 minutes (SD 1.5 on a CPU). */
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200];

export const STAGES = ["queue_wait", "text_encoding", "denoising", "decoding", "encoding"] as const;
export type Stage = (typeof STAGES)[number];

export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"protocol" | "route" | "code">;
  readonly requestSeconds: Histogram<"protocol" | "route">;
  readonly stageSeconds: Histogram<"stage">;
  readonly queueDepth: Gauge;
  readonly running: Gauge;
  readonly images: Counter;
  readonly batchSize: Histogram;
  readonly loadSeconds: Gauge;
  readonly ready: Gauge;

  constructor(modelName: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ model_name: modelName });
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: "diffusion_requests_total",
      help: "HTTP requests by protocol, route and status code",
      labelNames: ["protocol", "route", "code"],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: "diffusion_request_duration_seconds",
      help: "HTTP request latency, from the first byte to the response",
      labelNames: ["protocol", "route"],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.stageSeconds = new Histogram({
      name: "diffusion_stage_duration_seconds",
      help: "time per stage of a generation: queue_wait, text_encoding, denoising, decoding (VAE + post-processing), encoding (PNG/JPEG/WebP)",
      labelNames: ["stage"],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.queueDepth = new Gauge({ name: "diffusion_queue_depth", help: "requests waiting for a worker", registers });
    this.running = new Gauge({ name: "diffusion_requests_running", help: "requests being generated now", registers });
    this.images = new Counter({ name: "diffusion_images_generated_total", help: "images generated and returned", registers });
    this.batchSize = new Histogram({
      name: "diffusion_batch_requests",
      help: "requests per denoiser batch (dynamic batching)",
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.loadSeconds = new Gauge({ name: "diffusion_model_load_seconds", help: "time to resolve and load the model", registers });
    this.ready = new Gauge({ name: "diffusion_model_ready", help: "1 when the model is loaded and serving", registers });
  }

  observeStage(stage: Stage, ms: number): void {
    this.stageSeconds.observe({ stage }, ms / 1000);
  }
}

/**
 * The served model: its lifecycle (loading -> ready, or failed) and `predict` over the queue and the
 * workers. It takes typed requests and knows nothing of HTTP, as KServe's Model does.
 */
import type { Logger as PinoLogger } from "pino";
import { ModelNotReadyError, randomSeed, resolveModel, type GenerateOptions } from "../../lib/index.js";
import type { OutputFormat } from "../../lib/kserve/v1.js";
import { batchKey, imageCount } from "./batching.js";
import type { ServerConfig } from "./config.js";
import type { RuntimeMetrics } from "./metrics.js";
import { WorkerPool, type LoadInfo } from "./pool.js";
import { InferenceQueue, type JobRequest, type JobResult } from "./queue.js";

export type ModelState = "loading" | "ready" | "failed";

export class DiffusionModel {
  state: ModelState = "loading";
  /** Why loading failed, or why a worker died. */
  failure: Error | undefined;
  info: (LoadInfo & { dir: string }) | undefined;
  private readonly pool: WorkerPool;
  readonly queue: InferenceQueue;

  constructor(
    readonly name: string,
    private readonly config: ServerConfig,
    private readonly log: PinoLogger,
    private readonly metrics: RuntimeMetrics,
  ) {
    this.pool = new WorkerPool(config.concurrency, log);
    this.queue = new InferenceQueue(
      this.pool,
      { maxDepth: config.maxQueueDepth, maxBatchSize: config.maxBatchSize, batchWaitMs: config.batchWaitMs, retryAfterS: config.retryAfterS },
      metrics,
    );
    this.pool.onFatal = (err) => {
      this.state = "failed";
      this.failure = err;
      this.metrics.ready.set(0);
      this.log.fatal({ err }, "an inference worker died; the server reports not live so that it is restarted");
    };
  }

  get ready(): boolean {
    return this.state === "ready";
  }

  /** Resolve MODEL_ID to a folder (built-in models are built, remote ones fetched) and load it in every worker. */
  async load(): Promise<void> {
    const t = performance.now();
    try {
      const model = await resolveModel(this.config.modelId, {
        onBuild: (name, dir) => this.log.info(`building the built-in '${name}' model once into ${dir}`),
      });
      const label = model.builtin ? `builtin:${model.builtin}` : model.dir;
      this.log.info({ modelId: this.config.modelId, dir: model.dir }, `loading ${model.description}`);
      const info = await this.pool.start(model.dir, label, this.config.runtime, this.config.logLevel);
      this.info = { ...info, dir: model.dir };
      const seconds = (performance.now() - t) / 1000;
      this.metrics.loadSeconds.set(seconds);
      this.metrics.ready.set(1);
      this.state = "ready";
      this.log.info({ ...info, seconds: Number(seconds.toFixed(3)) }, `model '${this.name}' ready`);
    } catch (err) {
      this.state = "failed";
      this.failure = err as Error;
      throw err;
    }
  }

  private checkReady(): void {
    if (!this.ready) {
      const detail = this.state === "failed" && this.failure ? ` ${this.failure.message}` : "";
      throw new ModelNotReadyError(`Model with name ${this.name} is not ready.${detail}`);
    }
  }

  /** Model-specific checks (by a worker's pipeline), a seed for every request, and the batching key. */
  async prepare(options: GenerateOptions, outputFormat: OutputFormat, signal: AbortSignal): Promise<JobRequest> {
    this.checkReady();
    const resolved = await this.pool.resolve(options);
    const seed = resolved.options.seed ?? randomSeed();
    const o = { ...resolved.options, seed };
    return { options: o, seed, outputFormat, key: batchKey(o, resolved.schedulerClass), images: imageCount(o), signal };
  }

  /** Queue prepared requests (all admitted or QueueFullError); one result per request, in order. */
  predict(jobs: JobRequest[]): Promise<JobResult[]> {
    this.checkReady();
    return Promise.all(this.queue.submit(jobs));
  }

  async close(): Promise<void> {
    await this.pool.terminate();
  }
}

/**
 * The bounded request queue in front of the workers: admission (MAX_QUEUE_DEPTH), dispatch to idle
 * workers, dynamic batching of compatible requests (MAX_BATCH_SIZE, BATCH_WAIT_MS), and cancellation
 * (deadline, client gone, shutdown): a waiting request leaves the queue, a running batch is stopped
 * between steps once none of its requests is still wanted.
 */
import type { OutputFormat } from "../../lib/kserve/v1.js";
import { QueueFullError } from "./errors.js";
import type { RuntimeMetrics } from "./metrics.js";
import type { WorkerPool } from "./pool.js";
import type { JobOutput, ResolvedOptions, StageTimings } from "./worker-protocol.js";

export interface QueueLimits {
  maxDepth: number;
  maxBatchSize: number;
  batchWaitMs: number;
  retryAfterS: number;
}

export interface JobRequest {
  options: ResolvedOptions;
  seed: number;
  outputFormat: OutputFormat;
  /** batchKey(), or undefined to run alone. */
  key: string | undefined;
  images: number;
  signal: AbortSignal;
}

export interface JobResult {
  output: JobOutput;
  timings: StageTimings;
  queueMs: number;
  /** Requests that shared the denoiser batch. */
  batchSize: number;
}

interface Entry {
  id: number;
  job: JobRequest;
  enqueuedAt: number;
  settled: boolean;
  run?: Run;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
}

interface Run {
  id: number;
  entries: Entry[];
}

export class InferenceQueue {
  private readonly waiting: Entry[] = [];
  private readonly runs = new Set<Run>();
  private nextId = 1;
  private batchTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly pool: WorkerPool,
    private readonly limits: QueueLimits,
    private readonly metrics: RuntimeMetrics,
  ) {
    pool.onFree = () => this.dispatch();
  }

  get depth(): number {
    return this.waiting.length;
  }

  get inFlight(): number {
    return this.waiting.length + [...this.runs].reduce((s, r) => s + r.entries.filter((e) => !e.settled).length, 0);
  }

  /** Admit all of a request's jobs or none (QueueFullError); one promise per job. */
  submit(jobs: JobRequest[]): Promise<JobResult>[] {
    const free = this.pool.idleCount();
    // Jobs an idle worker takes at once do not wait; the depth bounds the ones that would.
    if (this.waiting.length + jobs.length - free > this.limits.maxDepth) {
      throw new QueueFullError(this.waiting.length, this.limits.retryAfterS);
    }
    const promises = jobs.map((job) => {
      const entry = { id: this.nextId++, job, enqueuedAt: performance.now(), settled: false } as Entry;
      const p = new Promise<JobResult>((resolve, reject) => {
        entry.resolve = resolve;
        entry.reject = reject;
      });
      if (job.signal.aborted) {
        entry.settled = true;
        entry.reject(job.signal.reason);
        return p;
      }
      job.signal.addEventListener("abort", () => this.abort(entry, job.signal.reason), { once: true });
      this.waiting.push(entry);
      return p;
    });
    this.metrics.queueDepth.set(this.waiting.length);
    this.dispatch();
    return promises;
  }

  private abort(entry: Entry, reason: unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.reject(reason);
    const i = this.waiting.indexOf(entry);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      this.metrics.queueDepth.set(this.waiting.length);
    } else if (entry.run && entry.run.entries.every((e) => e.settled)) {
      this.pool.cancel(entry.run.id);
    }
    this.checkIdle();
  }

  private dispatch(): void {
    while (this.pool.idleCount() > 0 && this.waiting.length > 0) {
      const head = this.waiting[0];
      const batch = [head];
      let images = head.job.images;
      if (this.limits.maxBatchSize > 1 && head.job.key !== undefined) {
        for (const e of this.waiting.slice(1)) {
          if (e.job.key === head.job.key && images + e.job.images <= this.limits.maxBatchSize) {
            batch.push(e);
            images += e.job.images;
          }
        }
        // Room left in the batch: wait a little for more compatible requests, if asked to.
        const waited = performance.now() - head.enqueuedAt;
        if (images < this.limits.maxBatchSize && waited < this.limits.batchWaitMs) {
          clearTimeout(this.batchTimer);
          this.batchTimer = setTimeout(() => this.dispatch(), this.limits.batchWaitMs - waited + 1);
          return;
        }
      }
      for (const e of batch) this.waiting.splice(this.waiting.indexOf(e), 1);
      this.start(batch);
    }
    this.metrics.queueDepth.set(this.waiting.length);
  }

  private start(entries: Entry[]): void {
    const now = performance.now();
    for (const e of entries) this.metrics.observeStage("queue_wait", now - e.enqueuedAt);
    const { id, done } = this.pool.run(
      entries.map((e) => ({ id: e.id, options: e.job.options, seed: e.job.seed, outputFormat: e.job.outputFormat })),
    );
    const run: Run = { id, entries };
    for (const e of entries) e.run = run;
    this.runs.add(run);
    this.metrics.running.set(this.inFlight - this.waiting.length);
    this.metrics.batchSize.observe(entries.length);
    done.then(
      (out) => {
        this.metrics.observeStage("text_encoding", out.timings.textEncodingMs);
        this.metrics.observeStage("denoising", out.timings.denoisingMs);
        this.metrics.observeStage("decoding", out.timings.decodingMs);
        this.metrics.observeStage("encoding", out.timings.encodingMs);
        for (const e of entries) {
          if (e.settled) continue;
          e.settled = true;
          const output = out.outputs.find((o) => o.id === e.id)!;
          e.resolve({ output, timings: out.timings, queueMs: now - e.enqueuedAt, batchSize: out.batched ? entries.length : 1 });
        }
      },
      (err) => {
        for (const e of entries) {
          if (e.settled) continue;
          e.settled = true;
          e.reject(err);
        }
      },
    ).finally(() => {
      this.runs.delete(run);
      this.metrics.running.set(this.inFlight - this.waiting.length);
      this.checkIdle();
    });
  }

  /** Resolves when nothing waits and nothing runs. */
  whenIdle(): Promise<void> {
    if (this.waiting.length === 0 && this.runs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.waiting.length === 0 && this.runs.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Fail everything waiting and cancel everything running (shutdown past its grace period). */
  cancelAll(reason: Error): void {
    clearTimeout(this.batchTimer);
    for (const e of [...this.waiting]) this.abort(e, reason);
    for (const run of [...this.runs]) for (const e of run.entries) this.abort(e, reason);
  }
}

/**
 * The inference worker threads (MAX_CONCURRENCY of them, each with its own copy of the model) and the
 * request/answer bookkeeping over their message ports. Knows nothing of HTTP or of the queue.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger as PinoLogger } from "pino";
import {
  CancelledError,
  InferenceError,
  InvalidInputError,
  ModelLoadError,
  ModelNotFoundError,
  type RuntimeOptions,
} from "../../lib/index.js";
import type { WorkerEntry } from "./worker.js";
import type { FromWorker, JobOutput, ResolvedOptions, SerializedError, StageTimings, ToWorker, WorkerJob } from "./worker-protocol.js";

// Referenced so the build compiles worker.ts (it is started by path, never imported).
const WORKER_ENTRY: WorkerEntry = "serving/runtime/worker";

/** The compiled worker: beside this file when running from dist, else the build's copy (tests run the TypeScript sources). */
export function workerScript(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".js")) return new URL("./worker.js", import.meta.url);
  const root = path.resolve(path.dirname(here), "..", "..");
  const built = path.join(root, "dist", `${WORKER_ENTRY}.js`);
  if (!existsSync(built)) throw new ModelLoadError(`${built} is missing: run 'npm run build' first (the worker thread runs compiled JavaScript)`);
  return pathToFileURL(built);
}

/** Library errors cross the thread boundary as data; rebuild them so the status table maps them. */
export function reviveError(e: SerializedError): Error {
  let err: Error;
  switch (e.name) {
    case "InvalidInputError":
      err = new InvalidInputError(e.field ?? "request", stripField(e), e.allowed);
      break;
    case "CancelledError":
      err = new CancelledError();
      break;
    case "ModelNotFoundError":
      err = new ModelNotFoundError(e.message);
      break;
    case "ModelLoadError":
      err = new ModelLoadError(e.message);
      break;
    default:
      err = new InferenceError(e.message);
  }
  if (e.stack) err.stack = e.stack;
  return err;
}

function stripField(e: SerializedError): string {
  let m = e.message;
  if (e.field && m.startsWith(`${e.field}: `)) m = m.slice(e.field.length + 2);
  const tail = e.allowed === undefined ? "" : ` (allowed: ${e.allowed})`;
  return tail && m.endsWith(tail) ? m.slice(0, -tail.length) : m;
}

export interface LoadInfo {
  loadMs: number;
  family: string;
  className: string;
  provider: string;
  dtype: string;
}

export interface RunOutput {
  outputs: JobOutput[];
  timings: StageTimings;
  batched: boolean;
}

interface Pending<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  runId: number | undefined;
  exited: boolean;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private readonly resolving = new Map<number, Pending<{ options: ResolvedOptions; schedulerClass: string }> & { slot: Slot }>();
  private readonly runs = new Map<number, Pending<RunOutput> & { slot: Slot }>();
  private closing = false;
  /** Called whenever a worker becomes free. */
  onFree: () => void = () => {};
  /** Called once when a worker thread dies unexpectedly. */
  onFatal: (err: Error) => void = () => {};

  constructor(
    private readonly size: number,
    private readonly log: PinoLogger,
  ) {}

  /** Start the workers one after the other (loading N copies at once would double the peak memory). */
  async start(modelDir: string, modelLabel: string, runtime: RuntimeOptions, logLevel: string): Promise<LoadInfo> {
    const { logger: _ignored, ...plain } = runtime;
    let info: LoadInfo | undefined;
    for (let i = 0; i < this.size; i++) {
      if (this.closing) throw new ModelLoadError("the server is shutting down");
      const slot: Slot = { worker: new Worker(workerScript(), { name: `inference-${i}` }), runId: undefined, exited: false };
      this.slots.push(slot);
      info = await new Promise<LoadInfo>((resolve, reject) => {
        const onMessage = (m: FromWorker) => {
          if (m.type === "loaded") {
            slot.worker.off("message", onMessage);
            resolve({ loadMs: m.loadMs, family: m.family, className: m.className, provider: m.provider, dtype: m.dtype });
          } else if (m.type === "load-failed") {
            slot.worker.off("message", onMessage);
            reject(reviveError(m.error));
          }
        };
        slot.worker.on("message", onMessage);
        slot.worker.once("error", reject);
        slot.worker.once("exit", (code) => reject(new ModelLoadError(`worker thread exited with code ${code} while loading`)));
        this.attach(slot);
        this.post(slot, { type: "load", modelDir, modelLabel, runtime: plain, logLevel });
      });
    }
    return info!;
  }

  private post(slot: Slot, m: ToWorker): void {
    slot.worker.postMessage(m);
  }

  private attach(slot: Slot): void {
    slot.worker.on("message", (m: FromWorker) => this.receive(slot, m));
    slot.worker.on("error", (err) => this.log.error({ err }, "inference worker failed"));
    slot.worker.on("exit", (code) => {
      slot.exited = true;
      const err = new InferenceError(`inference worker thread exited (code ${code})`);
      for (const [id, p] of this.runs) if (p.slot === slot) (this.runs.delete(id), p.reject(err));
      for (const [id, p] of this.resolving) if (p.slot === slot) (this.resolving.delete(id), p.reject(err));
      if (!this.closing) this.onFatal(err);
    });
  }

  private receive(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case "log":
        this.log[m.level]({ worker: slot.worker.threadId }, m.msg);
        break;
      case "resolved":
      case "resolve-failed": {
        const p = this.resolving.get(m.id);
        this.resolving.delete(m.id);
        if (m.type === "resolved") p?.resolve({ options: m.options, schedulerClass: m.schedulerClass });
        else p?.reject(reviveError(m.error));
        break;
      }
      case "done":
      case "failed": {
        const p = this.runs.get(m.id);
        this.runs.delete(m.id);
        slot.runId = undefined;
        if (m.type === "done") p?.resolve({ outputs: m.outputs, timings: m.timings, batched: m.batched });
        else p?.reject(reviveError(m.error));
        this.onFree();
        break;
      }
      default:
        break;
    }
  }

  private live(): Slot[] {
    return this.slots.filter((s) => !s.exited);
  }

  /** Model-specific checks (sizes, scheduler, family fields) by a worker's pipeline; answered within one step. */
  resolve(options: unknown): Promise<{ options: ResolvedOptions; schedulerClass: string }> {
    const live = this.live();
    if (!live.length) return Promise.reject(new InferenceError("no inference worker is running"));
    // The least busy worker answers soonest.
    const slot = live.find((s) => s.runId === undefined) ?? live[this.nextId % live.length];
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.resolving.set(id, { resolve, reject, slot });
      this.post(slot, { type: "resolve", id, options });
    });
  }

  idleCount(): number {
    return this.live().filter((s) => s.runId === undefined).length;
  }

  /** Start jobs on an idle worker (the caller checked `idleCount()`). */
  run(jobs: WorkerJob[]): { id: number; done: Promise<RunOutput> } {
    const slot = this.live().find((s) => s.runId === undefined);
    if (!slot) throw new Error("WorkerPool.run: no idle worker");
    const id = this.nextId++;
    slot.runId = id;
    const done = new Promise<RunOutput>((resolve, reject) => this.runs.set(id, { resolve, reject, slot }));
    this.post(slot, { type: "run", id, jobs });
    return { id, done };
  }

  /** Ask the worker running `id` to stop at its next step. */
  cancel(id: number): void {
    const p = this.runs.get(id);
    if (p) this.post(p.slot, { type: "cancel", id });
  }

  async terminate(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

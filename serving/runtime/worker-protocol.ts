/** Messages between the server's main thread and its inference worker threads (structured clone). */
import type { GenerateOptions, RuntimeOptions } from "../../lib/index.js";
import type { OutputFormat } from "../../lib/kserve/v1.js";

/** Resolved options: the pipeline's `resolve()` output (defaults filled in, sizes checked). */
export type ResolvedOptions = GenerateOptions & { width: number; height: number };

export interface WorkerJob {
  id: number;
  options: ResolvedOptions;
  seed: number;
  outputFormat: OutputFormat;
}

export interface StageTimings {
  textEncodingMs: number;
  denoisingMs: number;
  decodingMs: number;
  encodingMs: number;
  totalMs: number;
}

export interface JobOutput {
  id: number;
  images: Uint8Array[];
  seed: number;
  scheduler: string;
}

export interface SerializedError {
  name: string;
  message: string;
  field?: string;
  allowed?: string;
  component?: string;
  stack?: string;
}

export type ToWorker =
  | { type: "load"; modelDir: string; modelLabel: string; runtime: Omit<RuntimeOptions, "logger">; logLevel: string }
  | { type: "resolve"; id: number; options: unknown }
  | { type: "run"; id: number; jobs: WorkerJob[] }
  | { type: "cancel"; id: number };

export type FromWorker =
  | { type: "loaded"; loadMs: number; family: string; className: string; provider: string; dtype: string }
  | { type: "load-failed"; error: SerializedError }
  | { type: "resolved"; id: number; options: ResolvedOptions; schedulerClass: string }
  | { type: "resolve-failed"; id: number; error: SerializedError }
  | { type: "done"; id: number; outputs: JobOutput[]; timings: StageTimings; batched: boolean }
  | { type: "failed"; id: number; error: SerializedError }
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; msg: string };

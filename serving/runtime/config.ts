/**
 * The runtime's configuration: command-line flags (as KServe passes them) and environment variables,
 * each declared once in `ENV_VARS` (the docs table is that list) and refused at start when malformed.
 * The model and ONNX Runtime switches (`DTYPE`, `ENABLE_*`, `EXECUTION_PROVIDER`, `ORT_*`) are the
 * library's (`runtimeOptionsFromEnv`); the rest are the server's own.
 */
import { InvalidInputError, runtimeOptionsFromEnv, type RuntimeOptions } from "../../lib/index.js";
import { envFlag, envInt } from "../../lib/env.js";

export const DEFAULT_PORT = 8080;
export const DEFAULT_MODEL_NAME = "model";
/** Where KServe's storage initializer puts the model. */
export const DEFAULT_MODEL_ID = "/mnt/models";
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface EnvVar {
  name: string;
  default: string;
  meaning: string;
}

/** Every environment variable the runtime reads; the README ("KServe runtime", Environment) shows this table. */
export const ENV_VARS: readonly EnvVar[] = [
  { name: "MODEL_ID", default: DEFAULT_MODEL_ID, meaning: "model folder, built-in name (shapes, tiny), or any id resolveModel accepts" },
  { name: "PORT", default: String(DEFAULT_PORT), meaning: "HTTP port (flags --port / --http_port win)" },
  { name: "MODEL_NAME", default: DEFAULT_MODEL_NAME, meaning: "name served under (flag --model_name wins; KServe passes the InferenceService name)" },
  { name: "DTYPE", default: "auto", meaning: "auto, bfloat16, float16, float32, native (library README)" },
  { name: "ENABLE_LOW_CPU_MEM", default: "off", meaning: "no memory arena, memory patterns or weight pre-packing" },
  { name: "ENABLE_ATTENTION_SLICING", default: "off", meaning: "guided UNet batch as two half batches" },
  { name: "ENABLE_VAE_SLICING", default: "off", meaning: "decode one image at a time" },
  { name: "ENABLE_CPU_OFFLOAD", default: "off", meaning: "open each component's session only while it runs" },
  { name: "EXECUTION_PROVIDER", default: "auto", meaning: "providers in order: auto, cpu, cuda, tensorrt, webgpu" },
  { name: "ORT_THREADS", default: "ONNX Runtime's", meaning: "intra-op threads per session" },
  { name: "ORT_GRAPH_OPTIMIZATION", default: "all", meaning: "disabled, basic, extended, all" },
  { name: "MAX_CONCURRENCY", default: "1", meaning: "worker threads, each with its own copy of the model, generating at once" },
  { name: "MAX_QUEUE_DEPTH", default: "16", meaning: "requests (V1 instances) waiting beyond those running; more get 503 with Retry-After" },
  { name: "MAX_BATCH_SIZE", default: "1", meaning: "images per denoiser batch when compatible requests wait together (1: no dynamic batching)" },
  { name: "BATCH_WAIT_MS", default: "0", meaning: "how long an idle worker waits for more compatible requests before starting a batch" },
  { name: "REQUEST_TIMEOUT_S", default: "600", meaning: "deadline per request, queue included; the generation is cancelled between steps (504)" },
  { name: "SHUTDOWN_GRACE_S", default: "30", meaning: "on SIGTERM, how long in-flight requests may finish before they are cancelled" },
  { name: "MAX_BODY_MB", default: "32", meaning: "largest request body (init images travel in it); larger gets 413" },
  { name: "MAX_INSTANCES", default: "16", meaning: "instances per V1 request, prompts per V2 request" },
  { name: "RETRY_AFTER_S", default: "5", meaning: "Retry-After sent with 503 when the queue is full or the model is loading" },
  { name: "LOG_LEVEL", default: "info", meaning: `${LOG_LEVELS.join(", ")}; prompts are logged at debug only` },
  { name: "MODEL_CACHE_DIR", default: "~/.cache/diffusion-workbench", meaning: "where built-in models are built (must be writable)" },
];

export interface ServerConfig {
  port: number;
  host: string;
  modelName: string;
  modelId: string;
  runtime: RuntimeOptions;
  concurrency: number;
  maxQueueDepth: number;
  maxBatchSize: number;
  batchWaitMs: number;
  requestTimeoutMs: number;
  shutdownGraceMs: number;
  maxBodyBytes: number;
  maxInstances: number;
  retryAfterS: number;
  logLevel: LogLevel;
}

export interface ServerFlags {
  port?: number;
  modelName?: string;
  host?: string;
}

/** Seconds as a decimal (0.5 is fine), returned in milliseconds. */
function envSeconds(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback * 1000;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new InvalidInputError(name, `'${raw}' is not a number of seconds in range`, `${min}..${max}`);
  return Math.round(v * 1000);
}

function envLevel(env: NodeJS.ProcessEnv): LogLevel {
  const v = (env.LOG_LEVEL ?? "info").trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new InvalidInputError("LOG_LEVEL", `'${env.LOG_LEVEL}' is not a level`, LOG_LEVELS.join(", "));
  return v as LogLevel;
}

/** A valid Kubernetes-style model name: it goes into URLs. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** Flags over environment over defaults; throws InvalidInputError naming the variable on a bad value. */
export function loadConfig(flags: ServerFlags = {}, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const modelName = flags.modelName ?? (env.MODEL_NAME?.trim() || DEFAULT_MODEL_NAME);
  if (!MODEL_NAME.test(modelName)) {
    throw new InvalidInputError("--model_name", `'${modelName}' cannot be used in a URL path`, "letters, digits, '.', '_', '-'");
  }
  const port = flags.port ?? envInt(env, "PORT", DEFAULT_PORT, 0, 65535);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError("--port", `'${port}' is not a port`, "0..65535");
  // Boolean switches are read here too so that a bad value stops the start, not the first load.
  envFlag(env, "ENABLE_CPU_OFFLOAD");
  return {
    port,
    host: flags.host ?? "0.0.0.0",
    modelName,
    modelId: env.MODEL_ID?.trim() || DEFAULT_MODEL_ID,
    runtime: runtimeOptionsFromEnv(env),
    concurrency: envInt(env, "MAX_CONCURRENCY", 1, 1, 64),
    maxQueueDepth: envInt(env, "MAX_QUEUE_DEPTH", 16, 0, 100_000),
    maxBatchSize: envInt(env, "MAX_BATCH_SIZE", 1, 1, 64),
    batchWaitMs: envInt(env, "BATCH_WAIT_MS", 0, 0, 60_000),
    requestTimeoutMs: envSeconds(env, "REQUEST_TIMEOUT_S", 600, 0.001, 86_400),
    shutdownGraceMs: envSeconds(env, "SHUTDOWN_GRACE_S", 30, 0, 3600),
    maxBodyBytes: envInt(env, "MAX_BODY_MB", 32, 1, 1024) * 1024 * 1024,
    maxInstances: envInt(env, "MAX_INSTANCES", 16, 1, 1024),
    retryAfterS: envInt(env, "RETRY_AFTER_S", 5, 0, 3600),
    logLevel: envLevel(env),
  };
}

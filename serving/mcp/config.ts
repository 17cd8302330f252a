/**
 * The MCP server's configuration: every environment variable declared once in `ENV_VARS` (the README
 * table is that list, with the image store's `STORE_ENV_VARS`) and refused at start when malformed,
 * with the variable's name and what it accepts. The seed's names (DIFFUSERS_RUNTIME_URL,
 * DIFFUSERS_MODEL_ID) are kept.
 */
import { InvalidInputError } from "../../lib/errors.js";
import { envInt } from "../../lib/env.js";
import { LOG_LEVELS, type EnvVar, type LogLevel } from "../runtime/config.js";

export const DEFAULT_MCP_PORT = 8000;
export const DEFAULT_MCP_HOST = "127.0.0.1";
export const DEFAULT_RUNTIME_URL = "http://127.0.0.1:8080";
export const DEFAULT_MODEL_NAME = "model";
export const IMAGE_RESPONSES = ["png", "preview", "none"] as const;
export type ImageResponse = (typeof IMAGE_RESPONSES)[number];
/** Host names a loopback-bound server answers to (the SDK's localhostHostValidation list). */
export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"] as const;

/** Every environment variable the MCP server reads (the store's are in store/config.ts STORE_ENV_VARS). */
export const ENV_VARS: readonly EnvVar[] = [
  { name: "DIFFUSERS_RUNTIME_URL", default: DEFAULT_RUNTIME_URL, meaning: "base URL of the KServe runtime (`serve`), e.g. http://<isvc>-predictor.<ns>.svc.cluster.local:8080" },
  { name: "DIFFUSERS_MODEL_ID", default: DEFAULT_MODEL_NAME, meaning: "model name in the runtime's URLs (/v1/models/<name>:predict): the InferenceService name" },
  { name: "RUNTIME_TOKEN", default: "-", meaning: "bearer token sent to the runtime (InferenceServices with token authentication)" },
  { name: "RUNTIME_TIMEOUT_S", default: "600", meaning: "limit per runtime call in seconds; a generation that takes longer fails with a timeout" },
  { name: "RUNTIME_RETRIES", default: "2", meaning: "extra attempts when the runtime is busy (503/429) or refuses the connection" },
  { name: "MCP_HOST", default: DEFAULT_MCP_HOST, meaning: "address to listen on (0.0.0.0 in a container)" },
  { name: "MCP_PORT", default: String(DEFAULT_MCP_PORT), meaning: "HTTP port of /mcp, /images, /health, /metrics" },
  { name: "PUBLIC_URL", default: "http://<MCP_HOST>:<port>", meaning: "base of the image URLs the tools return (the Route's https URL in a cluster); its host is also allowed" },
  { name: "MCP_AUTH_TOKEN", default: "-", meaning: "when set, /mcp requires `Authorization: Bearer <token>` (401 otherwise); image URLs stay open" },
  { name: "MCP_ALLOWED_HOSTS", default: "loopback names when bound to loopback", meaning: "comma-separated Host names (no port) accepted; others get 403 (DNS-rebinding protection)" },
  { name: "MCP_ALLOWED_ORIGINS", default: "loopback origins, PUBLIC_URL's", meaning: "comma-separated Origins accepted from browsers; a request with another Origin gets 403" },
  { name: "IMAGE_RESPONSE", default: "preview", meaning: "image block in generate_image results: png (full image), preview (downsized PNG), none (URL only)" },
  { name: "PREVIEW_SIZE", default: "256", meaning: "longest side in pixels of the preview image block" },
  { name: "MAX_PIXELS", default: String(1024 * 1024), meaning: "pixel budget of one image (width x height) a tool call may ask for" },
  { name: "MAX_IMAGES_PER_CALL", default: "4", meaning: "largest `count` of generate_image" },
  { name: "PROGRESS_INTERVAL_MS", default: "1000", meaning: "how often generate_image sends a progress notification while the runtime works" },
  { name: "SHUTDOWN_GRACE_S", default: "25", meaning: "on SIGTERM, how long running tool calls may finish (new ones get 503) before the sessions are closed" },
  { name: "SESSION_IDLE_S", default: "3600", meaning: "Streamable HTTP sessions unused this long are closed" },
  { name: "LOG_LEVEL", default: "info", meaning: `${LOG_LEVELS.join(", ")}; logs go to stderr (stdout carries the stdio transport)` },
];

export interface McpConfig {
  host: string;
  port: number;
  /** Base of the URLs the tools return, without a trailing slash; undefined: the listening address. */
  publicUrl?: string;
  authToken?: string;
  /** Host names accepted on every route but the probes; undefined: no Host check (non-loopback bind without MCP_ALLOWED_HOSTS). */
  allowedHosts?: string[];
  /** Origins accepted when a request carries an Origin header. */
  allowedOrigins: string[];
  runtimeUrl: string;
  modelName: string;
  runtimeToken?: string;
  runtimeTimeoutMs: number;
  runtimeRetries: number;
  imageResponse: ImageResponse;
  previewSize: number;
  maxPixels: number;
  maxImagesPerCall: number;
  progressIntervalMs: number;
  sessionIdleMs: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

function list(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = env[name]?.trim();
  return raw ? raw.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean) : undefined;
}

function httpUrl(env: NodeJS.ProcessEnv, name: string, fallback?: string): string | undefined {
  const raw = env[name]?.trim() || fallback;
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError(name, `'${raw}' is not a URL`, "http(s)://host[:port][/path]");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidInputError(name, `'${raw}' is not an http(s) URL`, "http(s)://host[:port][/path]");
  return raw.replace(/\/+$/, "");
}

function choice<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const v = (env[name]?.trim() || fallback).toLowerCase();
  if (!(values as readonly string[]).includes(v)) throw new InvalidInputError(name, `'${env[name]}' is not one of the choices`, values.join(", "));
  return v as T;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Environment over defaults, `flags` (the CLI's --host/--port) over both; InvalidInputError names the variable on a bad value. */
export function loadMcpConfig(env: NodeJS.ProcessEnv = process.env, flags: { host?: string; port?: number } = {}): McpConfig {
  const host = flags.host ?? (env.MCP_HOST?.trim() || DEFAULT_MCP_HOST);
  const port = flags.port ?? envInt(env, "MCP_PORT", DEFAULT_MCP_PORT, 0, 65535);
  const publicUrl = httpUrl(env, "PUBLIC_URL");
  const modelName = env.DIFFUSERS_MODEL_ID?.trim() || DEFAULT_MODEL_NAME;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(modelName)) {
    throw new InvalidInputError("DIFFUSERS_MODEL_ID", `'${modelName}' cannot be used in a URL path`, "letters, digits, '.', '_', '-'");
  }
  const authToken = env.MCP_AUTH_TOKEN?.trim() || undefined;
  if (authToken !== undefined && authToken.length < 16) throw new InvalidInputError("MCP_AUTH_TOKEN", "is shorter than 16 characters", "a random string of at least 16 characters");

  // As the SDK's createMcpExpressApp: a loopback bind checks Host against the loopback names; any
  // other bind checks only when told which names are its own (MCP_ALLOWED_HOSTS).
  const publicHost = publicUrl ? new URL(publicUrl).hostname.toLowerCase() : undefined;
  const extraHosts = list(env, "MCP_ALLOWED_HOSTS");
  const allowedHosts = isLoopback(host) || extraHosts
    ? [...new Set([...(isLoopback(host) ? LOOPBACK_HOSTS : []), ...(extraHosts ?? []), ...(publicHost ? [publicHost] : [])])]
    : undefined;
  const allowedOrigins = [
    ...new Set([...(list(env, "MCP_ALLOWED_ORIGINS") ?? []), ...(publicUrl ? [new URL(publicUrl).origin.toLowerCase()] : [])]),
  ];

  return {
    host,
    port,
    ...(publicUrl ? { publicUrl } : {}),
    ...(authToken ? { authToken } : {}),
    ...(allowedHosts ? { allowedHosts } : {}),
    allowedOrigins,
    runtimeUrl: httpUrl(env, "DIFFUSERS_RUNTIME_URL", DEFAULT_RUNTIME_URL)!,
    modelName,
    ...(env.RUNTIME_TOKEN?.trim() ? { runtimeToken: env.RUNTIME_TOKEN.trim() } : {}),
    runtimeTimeoutMs: envInt(env, "RUNTIME_TIMEOUT_S", 600, 1, 86_400) * 1000,
    runtimeRetries: envInt(env, "RUNTIME_RETRIES", 2, 0, 10),
    imageResponse: choice(env, "IMAGE_RESPONSE", IMAGE_RESPONSES, "preview"),
    previewSize: envInt(env, "PREVIEW_SIZE", 256, 16, 2048),
    maxPixels: envInt(env, "MAX_PIXELS", 1024 * 1024, 64 * 64, 2048 * 2048),
    maxImagesPerCall: envInt(env, "MAX_IMAGES_PER_CALL", 4, 1, 16),
    progressIntervalMs: envInt(env, "PROGRESS_INTERVAL_MS", 1000, 10, 60_000),
    sessionIdleMs: envInt(env, "SESSION_IDLE_S", 3600, 1, 7 * 86_400) * 1000,
    shutdownGraceMs: envInt(env, "SHUTDOWN_GRACE_S", 25, 0, 3600) * 1000,
    logLevel: choice(env, "LOG_LEVEL", LOG_LEVELS, "info"),
  };
}

/**
 * The image store chosen and configured from the environment. Every variable is declared once in
 * `STORE_ENV_VARS` (the README table is that list) and refused at start when malformed, with the
 * variable's name and what it accepts.
 */
import { readFileSync } from "node:fs";
import { InvalidInputError, createS3Client, dataConnectionFromEnv, type S3ClientOptions } from "../../../lib/index.js";
import type { EnvVar } from "../../runtime/config.js";
import { FileImageStore } from "./file-store.js";
import type { ImageStore, ImageStoreOptions } from "./image-store.js";
import { S3ImageStore } from "./s3-store.js";

export const STORAGE_KINDS = ["file", "s3"] as const;
export const DEFAULT_IMAGE_OUTPUT_PATH = "./generated-images";
export const DEFAULT_S3_PREFIX = "images/";
export const DEFAULT_CLEANUP_INTERVAL = "10m";

/** Every environment variable the image store reads; the README (MCP server, Image storage) shows this table. */
export const STORE_ENV_VARS: readonly EnvVar[] = [
  { name: "IMAGE_STORAGE", default: "file", meaning: "where generated images are kept: file (a folder) or s3 (the data connection's bucket)" },
  { name: "IMAGE_OUTPUT_PATH", default: DEFAULT_IMAGE_OUTPUT_PATH, meaning: "the folder (IMAGE_STORAGE=file), relative to the working directory; created on first write" },
  { name: "S3_PREFIX", default: DEFAULT_S3_PREFIX, meaning: "key prefix in AWS_S3_BUCKET (IMAGE_STORAGE=s3), taken as a folder; empty: the bucket's top level" },
  { name: "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_ENDPOINT, AWS_S3_BUCKET, AWS_DEFAULT_REGION", default: "-", meaning: "the data connection (IMAGE_STORAGE=s3); AWS_S3_BUCKET is required" },
  { name: "AWS_CA_BUNDLE", default: "-", meaning: "PEM file of extra CA certificates for an S3 endpoint with a private CA" },
  { name: "IMAGE_TTL", default: "0", meaning: "age after which an image is no longer served and is deleted: seconds or 90s, 30m, 24h, 7d; 0 keeps images forever" },
  { name: "IMAGE_MAX_BYTES", default: "0", meaning: "cap on the total size of all stored images (with their metadata), not per image: bytes or 500Mi, 2Gi, 1G; above it the oldest go first; 0 is no cap" },
  { name: "IMAGE_CLEANUP_INTERVAL", default: DEFAULT_CLEANUP_INTERVAL, meaning: "how often expired, over-cap and unfinished images are removed (same units as IMAGE_TTL; at least 1s, at most 24d); 0 turns the timer off" },
];

// Durations and sizes are one number and one unit; that is small enough to parse here rather than
// add a dependency (the `ms` and `bytes` packages accept more forms, e.g. "1.5 hours", than the docs promise).
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?$/i;
const SIZE_UNITS: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };

/** A duration in ms from `env[name]`: a bare number is seconds; units ms, s, m, h, d. */
export function envDuration(env: NodeJS.ProcessEnv, name: string, fallback: string): number {
  const raw = env[name]?.trim() || fallback;
  const m = DURATION.exec(raw);
  if (!m) throw new InvalidInputError(name, `'${raw}' is not a duration`, "0, seconds (3600), or a number with ms, s, m, h or d (90s, 30m, 24h, 7d)");
  return Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? "s").toLowerCase()]);
}

/** A byte count from `env[name]`: bare bytes, K/M/G/T (powers of 1000) or Ki/Mi/Gi/Ti (powers of 1024), optional trailing B. */
export function envByteSize(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const m = SIZE.exec(raw);
  if (!m) throw new InvalidInputError(name, `'${raw}' is not a size`, "0, bytes (1000000), or a number with K, M, G, T, Ki, Mi, Gi, Ti (500Mi, 2G)");
  return Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? "").toLowerCase()]);
}

function storageKind(env: NodeJS.ProcessEnv): (typeof STORAGE_KINDS)[number] {
  const raw = env.IMAGE_STORAGE?.trim().toLowerCase() || "file";
  if (!(STORAGE_KINDS as readonly string[]).includes(raw)) throw new InvalidInputError("IMAGE_STORAGE", `'${env.IMAGE_STORAGE}' is not a storage kind`, STORAGE_KINDS.join(", "));
  return raw as (typeof STORAGE_KINDS)[number];
}

/** Retention and timer settings from IMAGE_TTL, IMAGE_MAX_BYTES and IMAGE_CLEANUP_INTERVAL. */
export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ImageStoreOptions {
  const cleanupIntervalMs = envDuration(env, "IMAGE_CLEANUP_INTERVAL", DEFAULT_CLEANUP_INTERVAL);
  if (cleanupIntervalMs > 0 && cleanupIntervalMs < 1000) {
    throw new InvalidInputError("IMAGE_CLEANUP_INTERVAL", `'${env.IMAGE_CLEANUP_INTERVAL}' is shorter than a second`, "0 (off) or at least 1s");
  }
  // setInterval's largest delay is 2^31-1 ms (about 24.8 days); longer would fire at once.
  if (cleanupIntervalMs > 2 ** 31 - 1) throw new InvalidInputError("IMAGE_CLEANUP_INTERVAL", `'${env.IMAGE_CLEANUP_INTERVAL}' is too long`, "at most 24d");
  return { ttlMs: envDuration(env, "IMAGE_TTL", "0"), maxBytes: envByteSize(env, "IMAGE_MAX_BYTES", 0), cleanupIntervalMs };
}

function caBundle(env: NodeJS.ProcessEnv): S3ClientOptions {
  // Read synchronously (lib's s3ClientOptionsFromEnv is async) so the store is configured in one call at start.
  const bundle = env.AWS_CA_BUNDLE?.trim();
  if (!bundle) return {};
  try {
    return { ca: readFileSync(bundle) };
  } catch (err) {
    throw new InvalidInputError("AWS_CA_BUNDLE", `cannot read ${bundle}: ${(err as Error).message}`, "a readable PEM file");
  }
}

/**
 * The store the environment asks for. Nothing is touched yet: call `check()` to find out whether the
 * folder or bucket can be written, and `close()` to stop the clean-up timer.
 */
export function imageStoreFromEnv(env: NodeJS.ProcessEnv = process.env): ImageStore {
  const kind = storageKind(env);
  const options = storeOptionsFromEnv(env);
  if (kind === "file") return new FileImageStore(env.IMAGE_OUTPUT_PATH?.trim() || DEFAULT_IMAGE_OUTPUT_PATH, options);

  const connection = dataConnectionFromEnv(env);
  if (!connection) {
    throw new InvalidInputError("AWS_ACCESS_KEY_ID", "is not set, and IMAGE_STORAGE=s3 needs a data connection", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_S3_ENDPOINT, AWS_S3_BUCKET)");
  }
  if (!connection.bucket) throw new InvalidInputError("AWS_S3_BUCKET", "is not set, and IMAGE_STORAGE=s3 needs a bucket", "the data connection's bucket name");
  const prefix = env.S3_PREFIX?.trim() ?? DEFAULT_S3_PREFIX;
  if (prefix.split("/").some((part) => part === "." || part === "..")) {
    throw new InvalidInputError("S3_PREFIX", `'${prefix}' has a '.' or '..' segment`, "a key prefix such as images/ or team-a/images/");
  }
  return new S3ImageStore(createS3Client(connection, caBundle(env)), { bucket: connection.bucket, prefix }, options);
}

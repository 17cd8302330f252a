/**
 * Uploading a local model folder to S3, where fine-tuned models live: `models/{VERSION}/{name}/`
 * in the data connection's bucket. The files go first and the manifest (sizes, SHA-256) last, so a
 * manifest means a finished upload. Training leftovers (checkpoints, logs) stay home unless asked.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { InvalidInputError, ModelNotFoundError } from "../errors.js";
import type { DataConnection } from "../storage/data-connection.js";
import type { ProgressListener } from "../storage/progress.js";
import { createS3Client, type S3ClientOptions } from "../storage/s3-client.js";
import { translateS3Error } from "../storage/s3-errors.js";
import { folderPrefix, type S3Location } from "../storage/s3-url.js";
import { listLocalFiles, uploadFolder, type LocalFile } from "../storage/upload.js";
import { CACHE_MARKER } from "./cache.js";
import { hashFile } from "./file-hash.js";
import { MANIFEST_FILE, type ModelManifest } from "./manifest.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Where fine-tuned models land: `models/{version}/{name}/`. */
export function modelPrefix(name: string, version: string): string {
  if (!NAME.test(name)) throw new InvalidInputError("name", `'${name}' cannot be a path segment`, "letters, digits, '.', '_', '-'");
  if (!NAME.test(version)) throw new InvalidInputError("version", `'${version}' cannot be a path segment`, "letters, digits, '.', '_', '-'");
  return `models/${version}/${name}/`;
}

// Folders and files a training run leaves beside the exported model (diffusers/accelerate/transformers
// checkpoints, TensorBoard and W&B runs, logs), and the workbench's own bookkeeping files.
const TRAINING_DIRS = /(^|\/)(checkpoint-[^/]*|checkpoints|logs|runs|wandb|\.ipynb_checkpoints|\.git)\//;
const TRAINING_FILES = /(^|\/)(events\.out\.tfevents\.[^/]*|[^/]*\.log|[^/]*\.ckpt|optimizer\.(pt|bin)|scheduler\.pt|training_args\.bin|rng_state[^/]*\.pth|trainer_state\.json)$/;
const BOOKKEEPING = new Set([CACHE_MARKER, ".workbench-partial.json", MANIFEST_FILE]);

export function isTrainingArtifact(relPath: string): boolean {
  return TRAINING_DIRS.test(relPath) || TRAINING_FILES.test(relPath);
}

export interface PushModelOptions {
  /** The model folder (with model_index.json). */
  dir: string;
  connection: DataConnection;
  /** Destination; default `s3://<connection bucket>/models/{version}/{name}/`. */
  target?: S3Location;
  /** Default: the folder's name. */
  name?: string;
  /** Default "1". */
  version?: string;
  /** Also upload checkpoints and logs (default false). */
  includeTraining?: boolean;
  concurrency?: number;
  partSize?: number;
  s3?: S3ClientOptions;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface PushResult {
  location: S3Location;
  manifest: ModelManifest;
}

export async function pushModel(options: PushModelOptions): Promise<PushResult> {
  const dir = path.resolve(options.dir);
  try {
    await stat(path.join(dir, "model_index.json"));
  } catch {
    throw new ModelNotFoundError(`${dir} is not a model folder: it has no model_index.json`, dir);
  }
  const name = options.name ?? path.basename(dir);
  const version = options.version ?? "1";
  const location = options.target ?? {
    bucket:
      options.connection.bucket ??
      (() => {
        throw new InvalidInputError("target", "no destination and the data connection has no bucket (AWS_S3_BUCKET)", "s3://bucket/prefix");
      })(),
    prefix: modelPrefix(name, version),
  };
  const all = (await listLocalFiles(dir)).filter((f) => !BOOKKEEPING.has(f.path));
  const skipped = options.includeTraining ? [] : all.filter((f) => isTrainingArtifact(f.path)).map((f) => f.path);
  const files: LocalFile[] = all.filter((f) => !skipped.includes(f.path));
  const manifest: ModelManifest = {
    format: "diffusion-workbench/model-manifest",
    formatVersion: 1,
    name,
    version,
    createdAt: new Date().toISOString(),
    files: [],
    skipped,
  };
  for (const f of files) manifest.files.push({ path: f.path, size: f.size, sha256: await hashFile(path.join(dir, f.path), "sha256") });

  const ctx = createS3Client(options.connection, options.s3);
  try {
    await uploadFolder(ctx, dir, location, {
      files,
      concurrency: options.concurrency,
      partSize: options.partSize,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    const key = folderPrefix(location.prefix) + MANIFEST_FILE;
    try {
      await ctx.client.send(
        new PutObjectCommand({ Bucket: location.bucket, Key: key, Body: JSON.stringify(manifest, null, 2), ContentType: "application/json" }),
        { abortSignal: options.signal },
      );
    } catch (err) {
      throw translateS3Error(err, ctx.connection, location.bucket, key);
    }
  } finally {
    ctx.client.destroy();
  }
  return { location: { bucket: location.bucket, prefix: folderPrefix(location.prefix) }, manifest };
}

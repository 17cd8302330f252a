/**
 * Uploads: one file (multipart above `partSize`, parts in parallel, each part retried by the SDK),
 * or a folder's files under a prefix with bounded concurrency.
 */
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { Upload } from "@aws-sdk/lib-storage";
import { mapLimit } from "./concurrency.js";
import { ProgressTracker, type ProgressListener } from "./progress.js";
import type { S3Context } from "./s3-client.js";
import { translateS3Error } from "./s3-errors.js";
import { folderPrefix, type S3Location } from "./s3-url.js";

/** S3's smallest part is 5 MiB; 16 MiB keeps a 3.4 GB UNet under S3's 10,000-part limit with room to spare. */
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

export interface UploadFileOptions {
  bucket: string;
  key: string;
  file: string;
  /** Bytes per part; files larger than this go multipart (default 16 MiB, at least 5 MiB). */
  partSize?: number;
  /** Parts in flight per file (default 4). */
  partConcurrency?: number;
  /** Called with the bytes sent since the last call. */
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
}

export async function uploadFile(ctx: S3Context, o: UploadFileOptions): Promise<void> {
  const upload = new Upload({
    client: ctx.client,
    params: { Bucket: o.bucket, Key: o.key, Body: createReadStream(o.file) },
    partSize: Math.max(5 * 1024 * 1024, o.partSize ?? DEFAULT_PART_SIZE),
    queueSize: o.partConcurrency ?? 4,
    leavePartsOnError: false,
  });
  let sent = 0;
  upload.on("httpUploadProgress", (p) => {
    if (p.loaded === undefined || p.loaded <= sent) return;
    o.onBytes?.(p.loaded - sent);
    sent = p.loaded;
  });
  const abort = () => void upload.abort();
  o.signal?.addEventListener("abort", abort, { once: true });
  try {
    await upload.done();
  } catch (err) {
    throw translateS3Error(err, ctx.connection, o.bucket, o.key);
  } finally {
    o.signal?.removeEventListener("abort", abort);
  }
}

export interface LocalFile {
  /** Relative path with "/" separators. */
  path: string;
  size: number;
}

/** Every regular file under `dir`, relative paths with "/" separators, sorted. */
export async function listLocalFiles(dir: string): Promise<LocalFile[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: LocalFile[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    files.push({ path: path.relative(dir, full).split(path.sep).join("/"), size: (await stat(full)).size });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

export interface UploadFolderOptions {
  /** Files to send (default: all files under the folder). */
  files?: LocalFile[];
  /** Files at once (default 4). */
  concurrency?: number;
  partSize?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** The folder's files under `loc.prefix` taken as a folder. Returns the files sent. */
export async function uploadFolder(ctx: S3Context, dir: string, loc: S3Location, options: UploadFolderOptions = {}): Promise<LocalFile[]> {
  const files = options.files ?? (await listLocalFiles(dir));
  const prefix = folderPrefix(loc.prefix);
  const progress = new ProgressTracker(
    files.reduce((s, f) => s + f.size, 0),
    files.length,
    options.onProgress,
  );
  await mapLimit(files, options.concurrency ?? 4, async (f) => {
    await uploadFile(ctx, {
      bucket: loc.bucket,
      key: prefix + f.path,
      file: path.join(dir, f.path),
      partSize: options.partSize,
      onBytes: (n) => progress.bytes(n, f.path),
      signal: options.signal,
    });
    progress.fileDone(f.path);
  });
  progress.emit("done");
  return files;
}

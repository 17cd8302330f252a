/**
 * Downloads: one object into a file (resuming from what the file already holds, retrying when the
 * body breaks mid-stream), or a whole prefix into a folder with bounded concurrency.
 */
import { createWriteStream } from "node:fs";
import { mkdir, stat, truncate } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { mapLimit } from "./concurrency.js";
import { StorageTransferError } from "./errors.js";
import { listPrefix, type S3Object } from "./list.js";
import { ProgressTracker, type ProgressListener } from "./progress.js";
import { isRetryableStatus, withRetry, type RetryPolicy } from "./retry.js";
import type { S3Context } from "./s3-client.js";
import { s3Status, translateS3Error } from "./s3-errors.js";
import type { S3Location } from "./s3-url.js";

export interface DownloadObjectOptions {
  bucket: string;
  key: string;
  file: string;
  /** Resume: bytes of the file already on disk to keep (default 0: write it fresh). */
  offset?: number;
  /** The object's ETag when listed: a resumed range is only accepted from the same version. */
  etag?: string;
  /** Called with each chunk's length; negative when bytes written so far are thrown away. */
  onBytes?: (n: number) => void;
  retry?: RetryPolicy;
  signal?: AbortSignal;
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** Counts bytes as they pass, for progress. */
function counter(onBytes?: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
}

export function isRetryableTransferError(err: unknown): boolean {
  return err instanceof StorageTransferError && (err.status === undefined || isRetryableStatus(err.status));
}

export async function downloadObject(ctx: S3Context, o: DownloadObjectOptions): Promise<void> {
  await mkdir(path.dirname(o.file), { recursive: true });
  let keep = o.offset ?? 0;
  await withRetry(
    o.retry,
    async (attempt) => {
      // After a broken stream, continue from what reached the disk.
      const start = attempt === 1 ? keep : await fileSize(o.file);
      let res;
      try {
        res = await ctx.client.send(
          new GetObjectCommand({
            Bucket: o.bucket,
            Key: o.key,
            ...(start > 0 ? { Range: `bytes=${start}-`, ...(o.etag ? { IfMatch: `"${o.etag}"` } : {}) } : {}),
          }),
          { abortSignal: o.signal },
        );
      } catch (err) {
        if (start > 0 && (s3Status(err) === 412 || s3Status(err) === 416)) {
          // The object changed (or shrank) since the partial file was written: start over.
          o.onBytes?.(-start);
          keep = 0;
          await truncate(o.file, 0);
          throw new StorageTransferError(`s3://${o.bucket}/${o.key} changed during the download; restarting`, o.key);
        }
        throw translateS3Error(err, ctx.connection, o.bucket, o.key);
      }
      // A server that ignores Range answers 200 with the whole object: write it from the start.
      const append = start > 0 && res.ContentRange !== undefined;
      if (start > 0 && !append) o.onBytes?.(-start);
      try {
        await pipeline(res.Body as Readable, counter(o.onBytes), createWriteStream(o.file, { flags: append ? "a" : "w" }), {
          signal: o.signal,
        });
      } catch (err) {
        if (o.signal?.aborted) throw err;
        throw new StorageTransferError(`download of s3://${o.bucket}/${o.key} broke off: ${(err as Error).message}`, o.key, undefined, {
          cause: err,
        });
      }
    },
    isRetryableTransferError,
    o.signal,
  );
}

export interface DownloadPrefixOptions {
  /** Files at once (default 4). */
  concurrency?: number;
  /** Keep only the objects this accepts (relative path). */
  filter?: (path: string) => boolean;
  onProgress?: ProgressListener;
  retry?: RetryPolicy;
  signal?: AbortSignal;
}

/** Every object under `loc.prefix` into `dir`, keeping the relative layout. Returns what was downloaded. */
export async function downloadPrefix(ctx: S3Context, loc: S3Location, dir: string, options: DownloadPrefixOptions = {}): Promise<S3Object[]> {
  const listed = await listPrefix(ctx, loc, { signal: options.signal });
  const objects = options.filter ? listed.filter((o) => options.filter!(o.path)) : listed;
  const progress = new ProgressTracker(
    objects.reduce((s, o) => s + o.size, 0),
    objects.length,
    options.onProgress,
  );
  progress.emit("listing");
  await mapLimit(objects, options.concurrency ?? 4, async (o) => {
    await downloadObject(ctx, {
      bucket: loc.bucket,
      key: o.key,
      file: safeJoin(dir, o.path),
      etag: o.etag,
      onBytes: (n) => progress.bytes(n, o.path),
      retry: options.retry,
      signal: options.signal,
    });
    progress.fileDone(o.path);
  });
  progress.emit("done");
  return objects;
}

/** `dir/rel`, refusing keys that would land outside `dir` ("../", absolute). */
export function safeJoin(dir: string, rel: string): string {
  const out = path.resolve(dir, rel);
  if (rel === "" || !out.startsWith(path.resolve(dir) + path.sep)) {
    throw new StorageTransferError(`refusing to write '${rel}' outside ${dir}`, rel);
  }
  return out;
}

/**
 * Where instance images come from: a local folder, a local archive, s3://bucket/prefix (or a bare
 * key prefix in the data connection's bucket), or the URL of an archive. Each ends up as a local
 * folder of files.
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../lib/errors.js";
import type { DataConnection } from "../../lib/storage/data-connection.js";
import { downloadPrefix } from "../../lib/storage/download.js";
import { createS3Client, type S3ClientOptions } from "../../lib/storage/s3-client.js";
import { folderPrefix, formatS3Url, parseS3Url, type S3Location } from "../../lib/storage/s3-url.js";
import { extractArchive } from "./archive.js";

export type DataSource =
  | { kind: "folder"; dir: string }
  | { kind: "archive-file"; file: string }
  | { kind: "s3"; location: S3Location }
  | { kind: "url"; url: string };

export interface SourceOptions {
  connection?: DataConnection;
  s3?: S3ClientOptions;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** Archives larger than this are refused: instance sets are a few dozen photos. */
export const MAX_ARCHIVE_BYTES = 2 * 1024 ** 3;

export async function classifySource(source: string, connection?: DataConnection): Promise<DataSource> {
  const s = source.trim();
  if (s.startsWith("s3://")) return { kind: "s3", location: parseS3Url(s, "source") };
  if (/^https?:\/\//i.test(s)) return { kind: "url", url: s };
  const st = await stat(s).catch(() => undefined);
  if (st?.isDirectory()) return { kind: "folder", dir: path.resolve(s) };
  if (st?.isFile()) return { kind: "archive-file", file: path.resolve(s) };
  if (s !== "" && connection?.bucket && !s.startsWith("/") && !s.startsWith(".")) {
    return { kind: "s3", location: { bucket: connection.bucket, prefix: s } };
  }
  throw new InvalidInputError("source", `'${source}' is not a folder, an archive, an S3 location or a URL`, "a local folder or .zip/.tar.gz, s3://bucket/prefix, a key prefix in AWS_S3_BUCKET, http(s)://.../images.zip");
}

export function describeDataSource(src: DataSource): string {
  switch (src.kind) {
    case "folder":
      return src.dir;
    case "archive-file":
      return src.file;
    case "s3":
      return formatS3Url({ bucket: src.location.bucket, prefix: folderPrefix(src.location.prefix) });
    case "url":
      return src.url.replace(/\?.*$/, "");
  }
}

/** The source's files in a local folder: the folder itself, or `scratch` filled from S3 or an archive. */
export async function materializeSource(src: DataSource, scratch: string, options: SourceOptions = {}): Promise<string> {
  switch (src.kind) {
    case "folder":
      return src.dir;
    case "archive-file":
      await extractArchive(await readFile(src.file), scratch, path.basename(src.file));
      return scratch;
    case "s3": {
      if (!options.connection) throw new InvalidInputError("source", "an S3 source needs a data connection", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
      const ctx = createS3Client(options.connection, options.s3);
      try {
        const loc = { bucket: src.location.bucket, prefix: folderPrefix(src.location.prefix) };
        const got = await downloadPrefix(ctx, loc, scratch, { signal: options.signal });
        if (got.length === 0) throw new InvalidInputError("source", `${formatS3Url(loc)} holds no objects`, "a prefix with the instance images");
      } finally {
        ctx.client.destroy();
      }
      return scratch;
    }
    case "url": {
      const res = await (options.fetch ?? fetch)(src.url, { signal: options.signal });
      if (!res.ok) throw new InvalidInputError("source", `GET ${describeDataSource(src)} answered ${res.status} ${res.statusText}`, "a reachable archive URL");
      const length = Number(res.headers.get("content-length") ?? 0);
      if (length > MAX_ARCHIVE_BYTES) throw new InvalidInputError("source", `the archive is ${length} bytes`, `at most ${MAX_ARCHIVE_BYTES} bytes`);
      const bytes = Buffer.from(await res.arrayBuffer());
      await extractArchive(bytes, scratch, new URL(src.url).pathname);
      return scratch;
    }
  }
}

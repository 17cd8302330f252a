/** A model under an S3 prefix: its listing (what to fetch, how to verify it) and the per-file fetch. */
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { ModelNotFoundError } from "../../errors.js";
import { silentLogger, type Logger } from "../../logger.js";
import { downloadObject } from "../../storage/download.js";
import { listPrefix } from "../../storage/list.js";
import type { RetryPolicy } from "../../storage/retry.js";
import type { S3Context } from "../../storage/s3-client.js";
import { translateS3Error } from "../../storage/s3-errors.js";
import { folderPrefix, formatS3Url, type S3Location } from "../../storage/s3-url.js";
import type { FetchFile, RemoteFile, RemoteListing } from "../cache-fill.js";
import { MANIFEST_FILE, ModelManifestSchema, type ModelManifest } from "../manifest.js";
import { isPipelineFile } from "./pipeline-files.js";

const PLAIN_MD5 = /^[0-9a-f]{32}$/i;

async function readManifest(ctx: S3Context, bucket: string, key: string, log: Logger, signal?: AbortSignal): Promise<ModelManifest | undefined> {
  let text: string;
  try {
    const res = await ctx.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    text = (await res.Body?.transformToString()) ?? "";
  } catch (err) {
    throw translateS3Error(err, ctx.connection, bucket, key);
  }
  const parsed = ModelManifestSchema.safeParse(JSON.parse(text || "null"));
  if (!parsed.success) {
    log.warn(`s3://${bucket}/${key} is not a workbench manifest; verifying by size and ETag only`);
    return undefined;
  }
  return parsed.data;
}

export async function listS3Model(
  ctx: S3Context,
  loc: S3Location,
  options: { allFiles?: boolean; logger?: Logger; signal?: AbortSignal } = {},
): Promise<RemoteListing> {
  const source = formatS3Url({ bucket: loc.bucket, prefix: folderPrefix(loc.prefix) });
  const objects = await listPrefix(ctx, loc, { signal: options.signal });
  const where = `${source} at ${ctx.connection.endpoint ?? "AWS S3"}`;
  if (objects.length === 0) throw new ModelNotFoundError(`no objects under ${where}`, source);
  const manifestObject = objects.find((o) => o.path === MANIFEST_FILE);
  const manifest = manifestObject && (await readManifest(ctx, loc.bucket, manifestObject.key, options.logger ?? silentLogger, options.signal));
  const sha = new Map((manifest?.files ?? []).map((f) => [f.path, f]));
  const files: RemoteFile[] = objects
    .filter((o) => options.allFiles || isPipelineFile(o.path))
    .map((o) => {
      const checks: RemoteFile["checks"] = [];
      // A plain ETag is the MD5 of the bytes; a multipart one ("<md5>-<n>") depends on the part size.
      if (o.etag && PLAIN_MD5.test(o.etag)) checks.push({ kind: "md5", expected: o.etag });
      const m = sha.get(o.path);
      if (m && m.size === o.size) checks.push({ kind: "sha256", expected: m.sha256 });
      return { path: o.path, size: o.size, etag: o.etag, checks };
    });
  if (!files.some((f) => f.path === "model_index.json")) {
    throw new ModelNotFoundError(`${where} holds no model_index.json: not a model folder (found ${objects.slice(0, 5).map((o) => o.path).join(", ")}${objects.length > 5 ? ", ..." : ""})`, source);
  }
  return { source, files };
}

export function s3FetchFile(ctx: S3Context, loc: S3Location, retry?: RetryPolicy): FetchFile {
  const prefix = folderPrefix(loc.prefix);
  return (file, dest, offset, onBytes, signal) =>
    downloadObject(ctx, { bucket: loc.bucket, key: prefix + file.path, file: dest, offset, etag: file.etag, onBytes, retry, signal });
}

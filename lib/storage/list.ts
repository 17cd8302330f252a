/** Listing a prefix: every object under it, paginated, with its size and ETag. */
import { paginateListObjectsV2 } from "@aws-sdk/client-s3";
import type { S3Context } from "./s3-client.js";
import { translateS3Error } from "./s3-errors.js";
import { folderPrefix, type S3Location } from "./s3-url.js";

export interface S3Object {
  key: string;
  /** The key relative to the listed prefix ("unet/model.onnx"). */
  path: string;
  size: number;
  /** The ETag without quotes: an MD5 for single-part uploads, "<md5>-<parts>" for multipart ones. */
  etag?: string;
}

export function unquoteEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, "").replace(/^"|"$/g, "");
}

/** Objects under `loc.prefix` taken as a folder (so "models/a" does not list "models/ab/..."); folder markers skipped. */
export async function listPrefix(ctx: S3Context, loc: S3Location, options: { signal?: AbortSignal } = {}): Promise<S3Object[]> {
  const prefix = folderPrefix(loc.prefix);
  const out: S3Object[] = [];
  try {
    const pages = paginateListObjectsV2({ client: ctx.client }, { Bucket: loc.bucket, Prefix: prefix });
    for await (const page of pages) {
      options.signal?.throwIfAborted();
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith("/")) continue;
        out.push({ key: o.Key, path: o.Key.slice(prefix.length), size: o.Size ?? 0, etag: unquoteEtag(o.ETag) });
      }
    }
  } catch (err) {
    throw translateS3Error(err, ctx.connection, loc.bucket, prefix);
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

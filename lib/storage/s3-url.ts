/** `s3://bucket/prefix` locations. */
import { InvalidInputError } from "../errors.js";

export interface S3Location {
  bucket: string;
  /** Key prefix without a leading slash; "" for the whole bucket. */
  prefix: string;
}

// S3's bucket naming rules (3-63 chars, lower case, digits, dots, hyphens); MinIO and Ceph follow them.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Url(url: string, field = "url"): S3Location {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/.exec(url.trim());
  if (!m) throw new InvalidInputError(field, `'${url}' is not an S3 URL`, "s3://bucket/prefix");
  const [, bucket, prefix] = m;
  if (!BUCKET.test(bucket)) {
    throw new InvalidInputError(field, `'${bucket}' in '${url}' is not a bucket name`, "3-63 characters: a-z, 0-9, '.', '-'");
  }
  return { bucket, prefix: prefix.replace(/^\/+/, "") };
}

export function formatS3Url(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.prefix}`;
}

/** A prefix that names a "folder": "" stays "", anything else ends with one "/". */
export function folderPrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, "").replace(/\/+$/, "");
  return p === "" ? "" : `${p}/`;
}

/**
 * Turning AWS SDK errors into the workbench's: 403 names the bucket, the endpoint and the credential
 * source; a missing key or bucket is a ModelNotFoundError. The SDK's own message is not copied, only
 * its error code, so nothing the server echoes back can leak into logs.
 */
import { ModelNotFoundError, WorkbenchError } from "../errors.js";
import type { DataConnection } from "./data-connection.js";
import { StorageAccessError, StorageTransferError } from "./errors.js";

interface SdkError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function s3Status(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

function s3Code(err: unknown): string {
  const e = err as SdkError | undefined;
  return e?.Code ?? e?.name ?? "Error";
}

const NOT_FOUND = new Set(["NoSuchKey", "NotFound", "NoSuchBucket"]);

export function translateS3Error(err: unknown, conn: DataConnection, bucket: string, key: string): Error {
  if (err instanceof WorkbenchError) return err;
  if ((err as Error)?.name === "AbortError") return err as Error;
  const status = s3Status(err);
  const code = s3Code(err);
  const where = `s3://${bucket}/${key}`;
  const endpoint = conn.endpoint ?? "AWS S3";
  if (status === 403 || status === 401 || code === "AccessDenied" || code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch") {
    return new StorageAccessError(
      `access denied (${status ?? "?"} ${code}) to bucket '${bucket}' at ${endpoint} for ${where} with credentials from ${conn.source}: ` +
        "check the data connection's access key, secret key and the bucket's policy",
      bucket,
      conn.source,
      status,
    );
  }
  if (status === 404 || NOT_FOUND.has(code)) {
    const what = code === "NoSuchBucket" ? `bucket '${bucket}' does not exist at ${endpoint}` : `${where} does not exist at ${endpoint}`;
    return new ModelNotFoundError(what, where);
  }
  const reason = status !== undefined ? `${status} ${code}` : `${code}: ${(err as Error)?.message ?? String(err)}`;
  return new StorageTransferError(`S3 request for ${where} at ${endpoint} failed (${reason})`, where, status);
}

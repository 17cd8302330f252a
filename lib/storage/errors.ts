/**
 * Storage errors. Messages name the bucket, the endpoint and where the credentials came from (the
 * data connection's source), never the keys themselves: they end up in logs and HTTP responses.
 */
import { WorkbenchError } from "../errors.js";

/** The store refused the credentials or the operation (S3 403/401, Hub 401/403). */
export class StorageAccessError extends WorkbenchError {
  override name = "StorageAccessError";
  constructor(
    message: string,
    /** The bucket (S3) or repository (Hub) that was refused. */
    readonly bucket: string,
    /** Where the credentials came from, e.g. "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)". */
    readonly credentialSource: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A transfer failed after its retries (network errors, 5xx, throttling). */
export class StorageTransferError extends WorkbenchError {
  override name = "StorageTransferError";
  constructor(
    message: string,
    readonly location: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A downloaded file does not match the size or checksum the store announced. */
export class IntegrityError extends WorkbenchError {
  override name = "IntegrityError";
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

/**
 * The server's own failures, and the one table that maps every error to an HTTP status and a KServe
 * error body (`{"error": message}`), as KServe's model server does in errors.py /
 * `_add_exception_handlers`. Library errors stay HTTP-free; the mapping lives here only.
 */
import {
  CancelledError,
  InferenceError,
  InvalidInputError,
  ModelLoadError,
  ModelNotFoundError,
  ModelNotReadyError,
  WorkbenchError,
} from "../../lib/index.js";

/** A model name in the URL that this server does not serve (KServe's ModelNotFound). */
export class UnknownModelError extends WorkbenchError {
  override name = "UnknownModelError";
  constructor(readonly modelName: string) {
    super(`Model with name ${modelName} does not exist.`);
  }
}

/** A route or verb that does not exist. */
export class NotFoundError extends WorkbenchError {
  override name = "NotFoundError";
}

/** The queue is at its depth: come back later (Retry-After). */
export class QueueFullError extends WorkbenchError {
  override name = "QueueFullError";
  constructor(
    readonly depth: number,
    readonly retryAfterS: number,
  ) {
    super(`the request queue is full (${depth} waiting); retry after ${retryAfterS} s`);
  }
}

/** REQUEST_TIMEOUT_S passed before the request finished; its generation was cancelled. */
export class DeadlineExceededError extends WorkbenchError {
  override name = "DeadlineExceededError";
  constructor(readonly timeoutMs: number) {
    super(`the request did not finish within its deadline of ${timeoutMs / 1000} s (REQUEST_TIMEOUT_S); its generation was cancelled`);
  }
}

/** The client closed the connection; its work was cancelled. Nobody reads the answer. */
export class ClientClosedError extends WorkbenchError {
  override name = "ClientClosedError";
  constructor() {
    super("the client closed the connection");
  }
}

/** SIGTERM received: no new work; in-flight work finishes within the grace period. */
export class ServerDrainingError extends WorkbenchError {
  override name = "ServerDrainingError";
  constructor(detail = "the server is shutting down") {
    super(`Server is not ready. ${detail}`);
  }
}

/** A worker thread died: the server can no longer serve and should be restarted. */
export class ServerNotLiveError extends WorkbenchError {
  override name = "ServerNotLiveError";
  constructor(detail: string) {
    super(`Server is not live. ${detail}`);
  }
}

/** The body's Content-Type is not one the route reads. */
export class UnsupportedMediaTypeError extends WorkbenchError {
  override name = "UnsupportedMediaTypeError";
  constructor(
    readonly contentType: string,
    readonly allowed: string,
  ) {
    super(`Unsupported Content-Type '${contentType}' (allowed: ${allowed})`);
  }
}

export interface HttpError {
  status: number;
  body: { error: string };
  headers: Record<string, string>;
}

/** Fastify's own error codes that are the caller's fault, by status. */
const FASTIFY_STATUSES: Record<string, number> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_JSON_BODY: 400,
};

/** The one mapping of errors to statuses (first match wins; order subclasses first). */
const STATUS_TABLE: ReadonlyArray<[new (...args: never[]) => Error, number]> = [
  [InvalidInputError, 400],
  [UnsupportedMediaTypeError, 415],
  [UnknownModelError, 404],
  [NotFoundError, 404],
  [ModelNotReadyError, 503],
  [QueueFullError, 503],
  [ServerDrainingError, 503],
  [ServerNotLiveError, 503],
  [DeadlineExceededError, 504],
  // nginx's "client closed request": only logs and metrics ever see it.
  [ClientClosedError, 499],
  [ModelNotFoundError, 500],
  [ModelLoadError, 500],
  [InferenceError, 500],
];

export function toHttpError(err: unknown, retryAfterS: number): HttpError {
  // A cancelled generation carries why it was cancelled.
  const e = err instanceof CancelledError && err.reason instanceof Error ? err.reason : err;
  const headers: Record<string, string> = {};
  let status = 500;
  const code = (e as { code?: unknown })?.code;
  const fastifyStatus = typeof code === "string" ? FASTIFY_STATUSES[code] : undefined;
  if (fastifyStatus !== undefined) {
    status = fastifyStatus;
  } else {
    for (const [cls, s] of STATUS_TABLE) {
      if (e instanceof cls) {
        status = s;
        break;
      }
    }
  }
  if (e instanceof QueueFullError) headers["retry-after"] = String(e.retryAfterS);
  else if (status === 503) headers["retry-after"] = String(retryAfterS);
  if (e instanceof ServerDrainingError) headers.connection = "close";
  const message = e instanceof Error ? e.message : String(e);
  // Unknown failures say what they were, as KServe's generic handler does ("Type : message").
  const known = e instanceof WorkbenchError || fastifyStatus !== undefined;
  return { status, body: { error: known ? message : `${(e as Error)?.name ?? "Error"} : ${message}` }, headers };
}

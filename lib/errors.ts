/**
 * The library's error classes. One base (`WorkbenchError`) so callers need one `instanceof`;
 * each subclass carries structured fields. Mapping to HTTP statuses belongs to `serving/`.
 */
export class WorkbenchError extends Error {
  override name = "WorkbenchError";
}

/** A caller-supplied value is wrong. `field` names it, `allowed` states what would be accepted. */
export class InvalidInputError extends WorkbenchError {
  override name = "InvalidInputError";
  constructor(
    readonly field: string,
    message: string,
    readonly allowed?: string,
  ) {
    super(allowed === undefined ? `${field}: ${message}` : `${field}: ${message} (allowed: ${allowed})`);
  }
}

/** A model folder, file or component is missing. */
export class ModelNotFoundError extends WorkbenchError {
  override name = "ModelNotFoundError";
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

/** A model folder exists but cannot be used as is (bad config, unknown class, incompatible graph). */
export class ModelLoadError extends WorkbenchError {
  override name = "ModelLoadError";
  constructor(
    message: string,
    readonly component?: string,
    options?: { cause?: unknown },
  ) {
    super(component === undefined ? message : `${component}: ${message}`, options);
  }
}

/** A model is not loaded yet. */
export class ModelNotReadyError extends WorkbenchError {
  override name = "ModelNotReadyError";
}

/** ONNX Runtime failed while running a component. */
export class InferenceError extends WorkbenchError {
  override name = "InferenceError";
  constructor(
    message: string,
    readonly component?: string,
    options?: { cause?: unknown },
  ) {
    super(component === undefined ? message : `${component}: ${message}`, options);
  }
}

/** The caller aborted the work (AbortSignal). */
export class CancelledError extends WorkbenchError {
  override name = "CancelledError";
  constructor(readonly reason?: unknown) {
    super(reason instanceof Error ? `cancelled: ${reason.message}` : "cancelled");
  }
}

/** Throw a CancelledError (carrying the signal's reason) when `signal` has aborted: the check between stages and steps. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError(signal.reason);
}

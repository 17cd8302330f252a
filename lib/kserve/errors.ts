/** What the KServe client throws when the runtime answers with an error status. */
import { WorkbenchError } from "../errors.js";

export class KServeError extends WorkbenchError {
  override name = "KServeError";
  constructor(
    /** HTTP status of the last attempt (0 when no answer came: connection refused, timeout). */
    readonly status: number,
    message: string,
    /** The server's `{"error": ...}` text, or the raw body when it was not that shape. */
    readonly body?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

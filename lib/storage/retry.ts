/**
 * Retries with exponential backoff and full jitter, for what the AWS SDK's own retry strategy does not
 * cover: a response body that breaks mid-stream, and the Hub's HTTP requests.
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). */
  attempts?: number;
  /** First backoff in ms (default 200); doubles each retry, capped at `maxDelayMs` (default 10 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export const DEFAULT_RETRY: Required<RetryPolicy> = { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 };

/** HTTP statuses worth retrying: throttling and server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export async function withRetry<T>(
  policy: RetryPolicy | undefined,
  fn: (attempt: number) => Promise<T>,
  shouldRetry: (err: unknown) => boolean,
  signal?: AbortSignal,
): Promise<T> {
  const p = { ...DEFAULT_RETRY, ...policy };
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= p.attempts || signal?.aborted || !shouldRetry(err)) throw err;
      const cap = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.random() * cap, undefined, { signal });
    }
  }
}

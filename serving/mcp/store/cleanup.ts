/**
 * Retention rules shared by both backends: when an image counts as expired, which images a size cap
 * evicts, and the periodic timer that runs a store's clean-up.
 */
import type { CleanupResult } from "./image-store.js";

/** Unfinished writes younger than this may still be in progress (a put from another replica); older ones are orphans. */
export const DEFAULT_ORPHAN_AGE_MS = 10 * 60_000;

/** An image is expired once it is `ttlMs` old; ttlMs 0 keeps it forever. Expired images are invisible before clean-up removes them. */
export function isExpired(created: Date, ttlMs: number, now: Date): boolean {
  return ttlMs > 0 && now.getTime() - created.getTime() >= ttlMs;
}

/** Ids to evict, oldest first, so what stays totals at most `maxBytes`; `oldestFirst` is sorted by age. maxBytes 0: no cap. */
export function planEviction(oldestFirst: readonly { id: string; bytes: number }[], maxBytes: number): string[] {
  if (maxBytes <= 0) return [];
  let total = oldestFirst.reduce((sum, i) => sum + i.bytes, 0);
  const evict: string[] = [];
  for (const item of oldestFirst) {
    if (total <= maxBytes) break;
    evict.push(item.id);
    total -= item.bytes;
  }
  return evict;
}

/**
 * Runs `cleanup` every `intervalMs` on an unref'd timer (it never keeps the process alive), one run at
 * a time: a run still going when the next tick comes makes that tick a no-op.
 */
export class CleanupTimer {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;

  constructor(
    intervalMs: number,
    cleanup: () => Promise<CleanupResult>,
    report: (outcome: { result?: CleanupResult; error?: unknown }) => void,
  ) {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = cleanup()
        .then(
          (result) => report({ result }),
          (error: unknown) => report({ error }),
        )
        .finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

/** Default report: failures on stderr (the MCP server passes its logger instead). */
export function reportToStderr(outcome: { result?: CleanupResult; error?: unknown }): void {
  if (outcome.error !== undefined) process.stderr.write(`image store clean-up failed: ${(outcome.error as Error)?.message ?? String(outcome.error)}\n`);
}

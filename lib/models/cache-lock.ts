/**
 * A lock file so that two processes filling the same cache entry take turns. Hand-written (no lock
 * package is a dependency): create with O_EXCL, hold a heartbeat (mtime) while working, and treat a
 * lock as stale when its process is gone (same host) or its heartbeat stopped. The one race left --
 * two waiters removing the same stale lock at the same moment -- only costs a repeated download,
 * since downloads still finish by an atomic rename.
 */
import { open, readFile, rm, stat, utimes } from "node:fs/promises";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

export interface LockOptions {
  /** A lock whose heartbeat is older than this is stale (default 60 s). */
  staleMs?: number;
  /** Poll interval while waiting (default 200 ms). */
  pollMs?: number;
  /** Called once when the lock is held by someone else. */
  onWait?: (holder: string) => void;
  signal?: AbortSignal;
}

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function isStale(lockFile: string, staleMs: number): Promise<{ stale: boolean; holder: string }> {
  try {
    const [text, st] = await Promise.all([readFile(lockFile, "utf8"), stat(lockFile)]);
    let info: LockInfo | undefined;
    try {
      info = JSON.parse(text) as LockInfo;
    } catch {
      // being written right now, or garbage: judge by age alone
    }
    const holder = info ? `process ${info.pid} on ${info.host}` : "another process";
    if (info && info.host === os.hostname() && !processAlive(info.pid)) return { stale: true, holder };
    return { stale: Date.now() - st.mtimeMs > staleMs, holder };
  } catch {
    return { stale: false, holder: "another process" }; // vanished: the next create will tell
  }
}

export async function withLock<T>(lockFile: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? 60_000;
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const fh = await open(lockFile, "wx");
      await fh.writeFile(JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() } satisfies LockInfo));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const { stale, holder } = await isStale(lockFile, staleMs);
    if (stale) {
      await rm(lockFile, { force: true });
      continue;
    }
    if (!told) options.onWait?.(holder);
    told = true;
    await sleep(options.pollMs ?? 200, undefined, { signal: options.signal });
  }
  const beat = setInterval(() => {
    const now = new Date();
    utimes(lockFile, now, now).catch(() => {});
  }, Math.max(1000, staleMs / 4));
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    await rm(lockFile, { force: true });
  }
}

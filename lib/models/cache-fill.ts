/**
 * Filling a cache entry from a remote listing, safely:
 *
 * - files go to `<entry>.partial/`, which is renamed to `<entry>` only when every file is there with
 *   the announced size and checksum, and the marker is written: a folder under the final name is
 *   always complete;
 * - `<entry>.partial/` keeps a journal of which version of each file it holds, so a download that was
 *   killed resumes (HTTP Range) from what reached the disk, or starts that file clean when the remote
 *   file changed;
 * - `<entry>.lock` makes a second process wait and then find the entry complete.
 */
import { randomBytes } from "node:crypto";
import { copyFile, link, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { silentLogger, type Logger } from "../logger.js";
import { mapLimit } from "../storage/concurrency.js";
import { safeJoin } from "../storage/download.js";
import { IntegrityError } from "../storage/errors.js";
import { ProgressTracker, type ProgressListener } from "../storage/progress.js";
import { CACHE_MARKER, readCacheMarker, type CacheMarker } from "./cache.js";
import { withLock, type LockOptions } from "./cache-lock.js";
import { hashFile, type HashKind } from "./file-hash.js";

export interface RemoteFile {
  path: string;
  size: number;
  /** What identifies this version of the file (ETag, sha); a resumed file must have the same. */
  etag?: string;
  /** Checksums to verify after the download. */
  checks: { kind: HashKind; expected: string }[];
}

export interface RemoteListing {
  /** "s3://bucket/prefix" or "hub:owner/name@revision", recorded in the marker. */
  source: string;
  /** The Hub commit. */
  revision?: string;
  files: RemoteFile[];
}

/** Downloads `file` into `dest`, keeping the first `offset` bytes already there. */
export type FetchFile = (file: RemoteFile, dest: string, offset: number, onBytes: (n: number) => void, signal?: AbortSignal) => Promise<void>;

export interface FillOptions {
  /** Files at once (default 4). */
  concurrency?: number;
  onProgress?: ProgressListener;
  logger?: Logger;
  lock?: LockOptions;
  signal?: AbortSignal;
}

export interface FillResult {
  dir: string;
  /** Bytes fetched over the network this time (0 when the entry was complete). */
  bytesFetched: number;
  /** False when the entry was already complete and up to date. */
  changed: boolean;
}

const JOURNAL = ".workbench-partial.json";

interface Journal {
  source: string;
  revision?: string;
  files: Record<string, { etag?: string; size: number; done: boolean }>;
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

async function readJournal(partial: string): Promise<Journal | undefined> {
  try {
    return JSON.parse(await readFile(path.join(partial, JOURNAL), "utf8")) as Journal;
  } catch {
    return undefined;
  }
}

function sameVersion(a: { etag?: string; size: number } | undefined, b: RemoteFile): boolean {
  return a !== undefined && a.size === b.size && a.etag === b.etag;
}

/** True when the complete entry `marker` already holds exactly the listed files. */
export function markerMatches(marker: CacheMarker, listing: RemoteListing): boolean {
  if (marker.source !== listing.source || marker.files.length !== listing.files.length) return false;
  if (listing.revision !== undefined && marker.revision !== listing.revision) return false;
  const have = new Map(marker.files.map((f) => [f.path, f]));
  return listing.files.every((f) => sameVersion(have.get(f.path), f));
}

async function verify(file: RemoteFile, dest: string): Promise<string | undefined> {
  const size = await sizeOf(dest);
  if (size !== file.size) return `size ${size ?? "(missing)"} instead of ${file.size}`;
  for (const check of file.checks) {
    const got = await hashFile(dest, check.kind);
    if (got !== check.expected.toLowerCase()) return `${check.kind} ${got} instead of ${check.expected}`;
  }
  return undefined;
}

export async function fillCacheEntry(dir: string, listing: RemoteListing, fetchFile: FetchFile, options: FillOptions = {}): Promise<FillResult> {
  const log = options.logger ?? silentLogger;
  await mkdir(path.dirname(dir), { recursive: true });
  return withLock(
    `${dir}.lock`,
    async () => {
      const existing = await readCacheMarker(dir);
      if (existing && markerMatches(existing, listing)) return { dir, bytesFetched: 0, changed: false };

      const partial = `${dir}.partial`;
      let journal = await readJournal(partial);
      if (!journal || journal.source !== listing.source) {
        await rm(partial, { recursive: true, force: true });
        journal = { source: listing.source, revision: listing.revision, files: {} };
      }
      journal.revision = listing.revision;
      await mkdir(partial, { recursive: true });
      const j = journal;
      let saving = Promise.resolve();
      const saveJournal = () => {
        const text = JSON.stringify(j);
        saving = saving.then(async () => {
          const tmp = path.join(partial, `${JOURNAL}.${randomBytes(4).toString("hex")}`);
          await writeFile(tmp, text);
          await rename(tmp, path.join(partial, JOURNAL));
        });
        return saving;
      };

      // What is already there: files of the same version in the journal, or in the old complete entry.
      const oldFiles = new Map((existing?.files ?? []).map((f) => [f.path, f]));
      const plan: { file: RemoteFile; dest: string; offset: number }[] = [];
      let already = 0;
      for (const file of listing.files) {
        const dest = safeJoin(partial, file.path);
        const entry = j.files[file.path];
        const onDisk = await sizeOf(dest);
        if (sameVersion(entry, file) && onDisk !== undefined) {
          if (entry.done && onDisk === file.size) {
            already += file.size;
            continue;
          }
          if (onDisk < file.size) {
            if (onDisk > 0) log.info(`resuming ${file.path} at ${onDisk} of ${file.size} bytes`);
            plan.push({ file, dest, offset: onDisk });
            already += onDisk;
            continue;
          }
        }
        if (sameVersion(oldFiles.get(file.path), file)) {
          await mkdir(path.dirname(dest), { recursive: true });
          await rm(dest, { force: true });
          await link(path.join(dir, file.path), dest).catch(() => copyFile(path.join(dir, file.path), dest));
          j.files[file.path] = { etag: file.etag, size: file.size, done: true };
          already += file.size;
          continue;
        }
        plan.push({ file, dest, offset: 0 });
      }
      // Files of other versions or no longer listed go; the journal then records what is being fetched.
      for (const p of Object.keys(j.files)) {
        if (!listing.files.some((f) => f.path === p)) {
          delete j.files[p];
          await rm(safeJoin(partial, p), { force: true });
        }
      }
      for (const { file } of plan) j.files[file.path] = { etag: file.etag, size: file.size, done: false };
      await saveJournal();

      const total = listing.files.reduce((s, f) => s + f.size, 0);
      const progress = new ProgressTracker(total, listing.files.length, options.onProgress);
      progress.bytesDone = already;
      progress.filesDone = listing.files.length - plan.length;
      progress.emit("listing");
      let fetched = 0;
      await mapLimit(plan, options.concurrency ?? 4, async ({ file, dest, offset }) => {
        const onBytes = (n: number) => {
          fetched += Math.max(0, n);
          progress.bytes(n, file.path);
        };
        await mkdir(path.dirname(dest), { recursive: true });
        await fetchFile(file, dest, offset, onBytes, options.signal);
        progress.emit("verify", file.path);
        let problem = await verify(file, dest);
        if (problem && offset > 0) {
          // The kept bytes may be from a version the store no longer announces: fetch the file whole.
          log.warn(`${file.path}: ${problem} after resuming; downloading it again from the start`);
          progress.bytes(-((await sizeOf(dest)) ?? 0), file.path);
          await fetchFile(file, dest, 0, onBytes, options.signal);
          problem = await verify(file, dest);
        }
        if (problem) {
          await rm(dest, { force: true });
          throw new IntegrityError(`${listing.source}: ${file.path} does not match what the store announced (${problem})`, file.path);
        }
        j.files[file.path].done = true;
        await saveJournal();
        progress.fileDone(file.path);
      });
      await saving;

      const marker: CacheMarker = {
        source: listing.source,
        revision: listing.revision,
        files: listing.files.map((f) => ({ path: f.path, size: f.size, etag: f.etag })),
        completedAt: new Date().toISOString(),
      };
      await writeFile(path.join(partial, CACHE_MARKER), JSON.stringify(marker, null, 2));
      await rm(path.join(partial, JOURNAL), { force: true });
      if (existing) {
        const old = `${dir}.old-${randomBytes(4).toString("hex")}`;
        await rename(dir, old);
        await rename(partial, dir);
        await rm(old, { recursive: true, force: true });
      } else {
        await rm(dir, { recursive: true, force: true }); // an incomplete leftover under the final name (not made by us)
        await rename(partial, dir);
      }
      progress.emit("done");
      return { dir, bytesFetched: fetched, changed: true };
    },
    { ...options.lock, signal: options.signal, onWait: options.lock?.onWait ?? ((holder) => log.info(`waiting for ${holder} to finish downloading into ${dir}`)) },
  );
}

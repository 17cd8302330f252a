/** Where the workbench keeps what it builds or downloads: MODEL_CACHE_DIR, else the user's cache folder. */
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MODEL_CACHE_DIR) return path.resolve(env.MODEL_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), ".cache");
  return path.join(base, "diffusion-workbench");
}

/**
 * Written last into a downloaded model folder, which is then renamed into place: a folder under its
 * final name always holds this file and every file it lists, verified.
 */
export const CACHE_MARKER = ".workbench-cache.json";

export interface CachedFile {
  path: string;
  size: number;
  /** The store's ETag (S3) or the Hub's sha256 (LFS) / git blob sha1, as verified. */
  etag?: string;
}

export interface CacheMarker {
  /** "s3://bucket/prefix" or "hub:owner/name@revision". */
  source: string;
  /** The Hub commit the files came from. */
  revision?: string;
  files: CachedFile[];
  completedAt: string;
}

/** A cache entry's folder for a source: one path segment per part, each made safe for a file system. */
export function cacheEntryDir(root: string, kind: "s3" | "hub", parts: string[]): string {
  const safe = parts.map((p) => {
    const s = encodeURIComponent(p).replace(/^\.+/, (dots) => "%2E".repeat(dots.length));
    return s === "" ? "_" : s;
  });
  return path.join(root, kind, ...safe);
}

/** The marker of a complete cache entry, or undefined when `dir` is not one. */
export async function readCacheMarker(dir: string): Promise<CacheMarker | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, CACHE_MARKER), "utf8")) as CacheMarker;
  } catch {
    return undefined;
  }
}

export interface CachedModel {
  dir: string;
  kind: "builtin" | "s3" | "hub";
  /** The source id (s3://..., hub:owner/name@revision) or the built-in folder's name. */
  source: string;
  bytes: number;
  completedAt?: string;
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith(".") && !/\.(partial|old-[0-9a-f]+)$/.test(e.name)).map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

/** The complete models in the cache (downloads still in progress, `*.partial`, are not listed). */
export async function listCachedModels(root: string = cacheRoot()): Promise<CachedModel[]> {
  const out: CachedModel[] = [];
  for (const dir of await subdirs(path.join(root, "builtin"))) {
    if (existsSync(path.join(dir, "model_index.json"))) out.push({ dir, kind: "builtin", source: path.basename(dir), bytes: await folderBytes(dir) });
  }
  for (const kind of ["s3", "hub"] as const) {
    for (const group of await subdirs(path.join(root, kind))) {
      for (const dir of await subdirs(group)) {
        const marker = await readCacheMarker(dir);
        if (marker) out.push({ dir, kind, source: marker.source, bytes: marker.files.reduce((s, f) => s + f.size, 0), completedAt: marker.completedAt });
      }
    }
  }
  return out;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) total += (await stat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

/**
 * A model in a Hugging Face Hub repository, over the Hub's HTTP API as huggingface_hub uses it:
 * `GET /api/models/{repo}/revision/{rev}?blobs=true` lists the commit sha and every file with its size,
 * git blob id and LFS sha256; `GET /{repo}/resolve/{commit}/{path}` serves a file (often a redirect to
 * a CDN for LFS files). Files come from the listed commit, so a branch that moves mid-download cannot
 * mix two versions.
 */
import { createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ModelNotFoundError } from "../../errors.js";
import { StorageTransferError } from "../../storage/errors.js";
import { withRetry, type RetryPolicy } from "../../storage/retry.js";
import type { FetchFile, RemoteFile, RemoteListing } from "../cache-fill.js";
import { hubHeader, hubRequest, isRetryableHubError, throwHubError, type HubConnection } from "./hub-http.js";
import { isPipelineFile } from "./pipeline-files.js";

interface Sibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256: string; size: number };
}

function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

export function hubSource(repo: string, revision: string): string {
  return `hub:${repo}@${revision}`;
}

/** Size and checksum of a file the listing gave no size for, from the resolve endpoint's headers. */
async function headFile(conn: HubConnection, repo: string, commit: string, file: string, signal?: AbortSignal): Promise<RemoteFile> {
  const res = await hubRequest(conn, `${conn.endpoint}/${repo}/resolve/${encodeURIComponent(commit)}/${encodePath(file)}`, {
    method: "HEAD",
    headers: { "accept-encoding": "identity" },
    signal,
  });
  if (res.statusCode >= 400) await throwHubError(res, conn, repo, file);
  await res.body.dump();
  const size = Number(hubHeader(res.hubHeaders, "x-linked-size") ?? hubHeader(res.headers, "content-length"));
  const etag = (hubHeader(res.hubHeaders, "x-linked-etag") ?? hubHeader(res.hubHeaders, "etag"))?.replace(/^W\//, "").replace(/"/g, "");
  const checks: RemoteFile["checks"] = [];
  if (etag && /^[0-9a-f]{64}$/.test(etag)) checks.push({ kind: "sha256", expected: etag });
  else if (etag && /^[0-9a-f]{40}$/.test(etag)) checks.push({ kind: "git-sha1", expected: etag });
  return { path: file, size, etag, checks };
}

export async function listHubModel(
  conn: HubConnection,
  repo: string,
  revision: string,
  options: { allFiles?: boolean; retry?: RetryPolicy; signal?: AbortSignal } = {},
): Promise<RemoteListing> {
  const url = `${conn.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const info = await withRetry(
    options.retry,
    async () => {
      const res = await hubRequest(conn, url, { signal: options.signal });
      if (res.statusCode >= 400) await throwHubError(res, conn, repo, `${repo}@${revision}`);
      return (await res.body.json()) as { sha?: string; siblings?: Sibling[] };
    },
    isRetryableHubError,
    options.signal,
  );
  const commit = info.sha ?? revision;
  const siblings = (info.siblings ?? []).filter((s) => options.allFiles || isPipelineFile(s.rfilename));
  const where = `${repo}@${revision} at ${conn.endpoint}`;
  if (!siblings.some((s) => s.rfilename === "model_index.json")) {
    throw new ModelNotFoundError(`${where} has no model_index.json at its top level: not a diffusers pipeline repository`, repo);
  }
  if (!siblings.some((s) => s.rfilename.endsWith(".onnx"))) {
    throw new ModelNotFoundError(
      `${where} holds no ONNX graphs (PyTorch weights only?): use an ONNX export of the model, e.g. a repository or revision made with optimum-cli export onnx`,
      repo,
    );
  }
  const files: RemoteFile[] = [];
  for (const s of siblings) {
    if (s.size === undefined) {
      files.push(await headFile(conn, repo, commit, s.rfilename, options.signal));
    } else if (s.lfs) {
      files.push({ path: s.rfilename, size: s.lfs.size, etag: s.lfs.sha256, checks: [{ kind: "sha256", expected: s.lfs.sha256 }] });
    } else {
      files.push({ path: s.rfilename, size: s.size, etag: s.blobId, checks: s.blobId ? [{ kind: "git-sha1", expected: s.blobId }] : [] });
    }
  }
  return { source: hubSource(repo, revision), revision: commit, files };
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** Fetches files of `commit`, resuming with a Range request and retrying throttling, 5xx and broken streams. */
export function hubFetchFile(conn: HubConnection, repo: string, commit: string, retry?: RetryPolicy): FetchFile {
  return async (file, dest, offset, onBytes, signal) => {
    const url = `${conn.endpoint}/${repo}/resolve/${encodeURIComponent(commit)}/${encodePath(file.path)}`;
    await withRetry(
      retry,
      async (attempt) => {
        const start = attempt === 1 ? offset : await fileSize(dest);
        const res = await hubRequest(conn, url, { headers: start > 0 ? { range: `bytes=${start}-` } : {}, signal });
        if (res.statusCode === 416 && start >= file.size) {
          await res.body.dump();
          return;
        }
        if (res.statusCode >= 400) await throwHubError(res, conn, repo, file.path);
        const append = start > 0 && res.statusCode === 206;
        if (start > 0 && !append) onBytes(-start);
        const count = new Transform({
          transform(chunk: Buffer, _e, cb) {
            onBytes(chunk.length);
            cb(null, chunk);
          },
        });
        try {
          await pipeline(res.body, count, createWriteStream(dest, { flags: append ? "a" : "w" }), { signal });
        } catch (err) {
          if (signal?.aborted) throw err;
          throw new StorageTransferError(`download of ${url} broke off: ${(err as Error).message}`, url, undefined, { cause: err });
        }
      },
      isRetryableHubError,
      signal,
    );
  };
}

/**
 * A local HTTP server that answers as the Hugging Face Hub does for a model repository (as read from
 * huggingface_hub 0.29's hf_api.model_info and file_download.get_hf_file_metadata / http_get):
 *
 * - GET /api/models/{repo}/revision/{rev}?blobs=true -> {id, sha, siblings: [{rfilename, size, blobId, lfs?}]}
 * - GET|HEAD /{repo}/resolve/{rev}/{path}: small files 200 with ETag = git blob sha1 and X-Repo-Commit;
 *   LFS files (.onnx, .onnx_data, ...) a 302 to a CDN on another origin, with X-Linked-Etag (sha256),
 *   X-Linked-Size and X-Repo-Commit; Range requests answered 206
 * - errors with X-Error-Code: 401 RepoNotFound without a token for a private repo, 404 RepoNotFound,
 *   RevisionNotFound, EntryNotFound
 *
 * A second server plays the CDN, so tests can check the token never goes there.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { listLocalFiles } from "../../../lib/storage/upload.js";

interface HubFile {
  path: string;
  data: Buffer;
  lfs: boolean;
  sha256: string;
  blobId: string;
}

export interface FakeHubOptions {
  repo: string;
  /** Folders to serve: each file under it becomes a repo file. */
  dir: string;
  /** Extra files (e.g. PyTorch weights the pull must skip). */
  extra?: Record<string, Buffer>;
  /** When set, the repo is private: requests need "Bearer <token>". */
  token?: string;
}

export interface HubRequest {
  server: "hub" | "cdn";
  method: string;
  url: string;
  authorization?: string;
  range?: string;
}

export interface FakeHub {
  endpoint: string;
  commit: string;
  files: HubFile[];
  requests: HubRequest[];
  /** Pause this long after each 64 KiB of file bodies. */
  slowMsPer64k: number;
  /** Answer 500 to this many next file requests. */
  fail500: number;
  /** Serve this path's bytes corrupted (one byte flipped). */
  corrupt?: string;
  close(): Promise<void>;
}

const LFS = /\.(onnx|onnx_data|pb|safetensors|bin)$/;

function gitBlobSha1(data: Buffer): string {
  return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  const files: HubFile[] = [];
  for (const f of await listLocalFiles(options.dir)) files.push(hubFile(f.path, await readFile(`${options.dir}/${f.path}`)));
  for (const [p, data] of Object.entries(options.extra ?? {})) files.push(hubFile(p, data));
  const commit = randomBytes(20).toString("hex");
  const requests: HubRequest[] = [];
  const state = { slowMsPer64k: 0, fail500: 0, corrupt: undefined as string | undefined };

  async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, f: HubFile, headers: Record<string, string>) {
    if (state.fail500 > 0) {
      state.fail500--;
      res.writeHead(500).end("injected");
      return;
    }
    let data = f.data;
    if (state.corrupt === f.path) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (m) start = Number(m[1]);
    if (start > data.length) {
      res.writeHead(416, { "content-range": `bytes */${data.length}` }).end();
      return;
    }
    const body = data.subarray(start);
    res.writeHead(m ? 206 : 200, {
      ...headers,
      "content-length": String(body.length),
      "accept-ranges": "bytes",
      ...(m ? { "content-range": `bytes ${start}-${data.length - 1}/${data.length}` } : {}),
    });
    if (req.method === "HEAD") return void res.end();
    for (let i = 0; i < body.length; i += 65536) {
      if (!res.write(body.subarray(i, i + 65536))) await new Promise((r) => res.once("drain", r));
      if (state.slowMsPer64k) await sleep(state.slowMsPer64k);
      if (res.destroyed) return;
    }
    res.end();
  }

  const cdn = http.createServer((req, res) => {
    requests.push({ server: "cdn", method: req.method!, url: req.url!, authorization: req.headers.authorization, range: req.headers.range });
    const f = files.find((x) => `/lfs/${x.sha256}` === req.url);
    if (!f) return void res.writeHead(404).end();
    void sendFile(req, res, f, { etag: `"${f.sha256}"` });
  });
  const cdnPort = await listen(cdn);

  const hub = http.createServer((req, res) => {
    requests.push({ server: "hub", method: req.method!, url: req.url!, authorization: req.headers.authorization, range: req.headers.range });
    const url = new URL(req.url!, "http://x");
    const error = (status: number, code: string) => res.writeHead(status, { "x-error-code": code, "content-type": "application/json" }).end(`{"error":"${code}"}`);
    const repoPath = `/${options.repo}/`;
    const apiPath = `/api/models/${options.repo}/revision/`;
    // The Hub answers 401 RepoNotFound to anonymous requests for missing and private repos alike.
    if (!url.pathname.startsWith(apiPath) && !url.pathname.startsWith(repoPath)) return error(req.headers.authorization ? 404 : 401, "RepoNotFound");
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) return error(401, "RepoNotFound");
    if (url.pathname.startsWith(apiPath)) {
      const rev = decodeURIComponent(url.pathname.slice(apiPath.length));
      if (rev !== "main" && rev !== commit) return error(404, "RevisionNotFound");
      const blobs = url.searchParams.get("blobs") === "true";
      const siblings = files.map((f) =>
        blobs
          ? { rfilename: f.path, size: f.data.length, blobId: f.lfs ? gitBlobSha1(Buffer.from(`lfs pointer ${f.sha256}`)) : f.blobId, ...(f.lfs ? { lfs: { size: f.data.length, sha256: f.sha256, pointerSize: 134 } } : {}) }
          : { rfilename: f.path },
      );
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: options.repo, modelId: options.repo, sha: commit, siblings }));
      return;
    }
    const m = /^\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname.slice(repoPath.length - 1));
    if (!m) return error(404, "EntryNotFound");
    const rev = decodeURIComponent(m[1]);
    if (rev !== "main" && rev !== commit) return error(404, "RevisionNotFound");
    const f = files.find((x) => x.path === m[2].split("/").map(decodeURIComponent).join("/"));
    if (!f) return error(404, "EntryNotFound");
    if (f.lfs) {
      res.writeHead(302, {
        location: `http://127.0.0.1:${cdnPort}/lfs/${f.sha256}`,
        "x-linked-etag": `"${f.sha256}"`,
        "x-linked-size": String(f.data.length),
        "x-repo-commit": commit,
        etag: `"${gitBlobSha1(Buffer.from(`lfs pointer ${f.sha256}`))}"`,
      });
      res.end();
      return;
    }
    void sendFile(req, res, f, { etag: `"${f.blobId}"`, "x-repo-commit": commit });
  });
  const hubPort = await listen(hub);

  const result: FakeHub = {
    endpoint: `http://127.0.0.1:${hubPort}`,
    commit,
    files,
    requests,
    get slowMsPer64k() {
      return state.slowMsPer64k;
    },
    set slowMsPer64k(v) {
      state.slowMsPer64k = v;
    },
    get fail500() {
      return state.fail500;
    },
    set fail500(v) {
      state.fail500 = v;
    },
    get corrupt() {
      return state.corrupt;
    },
    set corrupt(v) {
      state.corrupt = v;
    },
    async close() {
      for (const s of [hub, cdn]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
  return result;
}

function hubFile(p: string, data: Buffer): HubFile {
  return { path: p, data, lfs: LFS.test(p), sha256: createHash("sha256").update(data).digest("hex"), blobId: gitBlobSha1(data) };
}

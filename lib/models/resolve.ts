/**
 * Turning a model id (CLI `--model`, env MODEL_ID) into a local model folder: built-in models are
 * built once, local and PVC folders are used in place, S3 prefixes and Hub repositories are
 * downloaded into the cache (lib/models/cache-fill.ts) and, once complete there, used without network.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError, ModelNotFoundError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { dataConnectionFromEnv, type DataConnection } from "../storage/data-connection.js";
import type { ProgressListener } from "../storage/progress.js";
import type { RetryPolicy } from "../storage/retry.js";
import { createS3Client, s3ClientOptionsFromEnv, type S3ClientOptions } from "../storage/s3-client.js";
import { folderPrefix } from "../storage/s3-url.js";
import { BUILTIN_MODELS, ensureBuiltinModel, type BuiltinModelName } from "./builtin.js";
import { cacheEntryDir, cacheRoot, readCacheMarker } from "./cache.js";
import { fillCacheEntry, type FillOptions } from "./cache-fill.js";
import { hubConnectionFromEnv, type HubConnection } from "./sources/hub-http.js";
import { hubFetchFile, listHubModel } from "./sources/hub-model.js";
import { describeSource, MODEL_ID_FORMS, parseModelId, type ModelSource } from "./sources/model-id.js";
import { resolvePvc, type PvcMountOptions } from "./sources/pvc.js";
import { listS3Model, s3FetchFile } from "./sources/s3-model.js";

export const DEFAULT_BUILTIN_MODEL: BuiltinModelName = "shapes";

export interface ResolvedModel {
  dir: string;
  /** Set when the id named a built-in model (or none was given). */
  builtin?: BuiltinModelName;
  description: string;
  /** What the id named. */
  source: ModelSource;
  /** For S3 and Hub sources: bytes downloaded by this call (0: the cached copy was used). */
  bytesFetched?: number;
}

export interface ResolveModelOptions {
  /** Cache folder (default: cacheRoot(), i.e. MODEL_CACHE_DIR or the user's cache folder). */
  cacheDir?: string;
  onBuild?: (name: string, dir: string) => void;
  /** Where AWS_*, HF_*, PVC_MOUNT_ROOT and MODEL_CACHE_DIR are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The S3 data connection (default: from env). */
  connection?: DataConnection;
  s3?: S3ClientOptions;
  /** The Hub endpoint and token (default: HF_ENDPOINT, HF_TOKEN). */
  hub?: HubConnection;
  pvc?: PvcMountOptions;
  /**
   * Ask the store whether the cached copy is still current and update it (`models pull`). Default
   * false: a complete cached copy is used as is, without network.
   */
  refresh?: boolean;
  /** Download every file, not only what an ONNX pipeline needs. */
  allFiles?: boolean;
  /** Files downloaded at once (default 4). */
  concurrency?: number;
  retry?: RetryPolicy;
  onProgress?: ProgressListener;
  logger?: Logger;
  signal?: AbortSignal;
}

export async function resolveModel(id: string | undefined, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const env = options.env ?? process.env;
  const name = id === undefined || id.trim() === "" ? DEFAULT_BUILTIN_MODEL : id.trim();
  const source = parseModelId(name, { builtins: Object.keys(BUILTIN_MODELS), bucket: options.connection?.bucket ?? env.AWS_S3_BUCKET?.trim() });
  switch (source.kind) {
    case "builtin": {
      const builtin = source.name as BuiltinModelName;
      const dir = await ensureBuiltinModel(builtin, { cacheDir: options.cacheDir, onBuild: options.onBuild });
      return { dir, builtin, description: BUILTIN_MODELS[builtin].description, source };
    }
    case "local": {
      try {
        if ((await stat(source.dir)).isDirectory()) return { dir: source.dir, description: `model folder ${source.dir}`, source };
      } catch {
        // fall through to the error below
      }
      throw new ModelNotFoundError(`model '${name}' not found: no folder ${source.dir}; give ${MODEL_ID_FORMS}`, source.dir);
    }
    case "pvc": {
      const dir = await resolvePvc(source.claim, source.path, options.pvc, env);
      return { dir, description: `${describeSource(source)} mounted at ${dir}`, source };
    }
    case "s3":
    case "hub":
      return fetchRemote(source, options, env);
  }
}

/** The cache folder an S3 or Hub source downloads into. */
export function cachedModelDir(source: Extract<ModelSource, { kind: "s3" | "hub" }>, root: string): string {
  return source.kind === "s3"
    ? cacheEntryDir(root, "s3", [source.location.bucket, folderPrefix(source.location.prefix)])
    : cacheEntryDir(root, "hub", [source.repo.replace("/", "--"), source.revision]);
}

async function fetchRemote(
  source: Extract<ModelSource, { kind: "s3" | "hub" }>,
  options: ResolveModelOptions,
  env: NodeJS.ProcessEnv,
): Promise<ResolvedModel> {
  const log = options.logger ?? silentLogger;
  const dir = cachedModelDir(source, options.cacheDir ?? cacheRoot(env));
  const description = `${describeSource(source)} (cached in ${dir})`;
  if (!options.refresh && (await readCacheMarker(dir))) {
    log.debug(`using the cached copy of ${describeSource(source)} in ${dir}`);
    return { dir, description, source, bytesFetched: 0 };
  }
  const fill: FillOptions = { concurrency: options.concurrency, onProgress: options.onProgress, logger: log, signal: options.signal };
  if (source.kind === "hub") {
    const hub = options.hub ?? hubConnectionFromEnv(env);
    const listing = await listHubModel(hub, source.repo, source.revision, { allFiles: options.allFiles, retry: options.retry, signal: options.signal });
    log.info(`fetching ${describeSource(source)} (commit ${listing.revision}, ${listing.files.length} files) into ${dir}`);
    const r = await fillCacheEntry(dir, listing, hubFetchFile(hub, source.repo, listing.revision!, options.retry), fill);
    return { dir, description, source, bytesFetched: r.bytesFetched };
  }
  const connection = options.connection ?? dataConnectionFromEnv(env);
  if (!connection) {
    throw new InvalidInputError(
      "AWS_ACCESS_KEY_ID",
      `${describeSource(source)} needs an S3 data connection and none is set`,
      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_S3_ENDPOINT for MinIO/Ceph) in the environment, or a connection passed in",
    );
  }
  const ctx = createS3Client(connection, { ...(await s3ClientOptionsFromEnv(env)), ...options.s3 });
  try {
    const listing = await listS3Model(ctx, source.location, { allFiles: options.allFiles, logger: log, signal: options.signal });
    log.info(`fetching ${listing.source} (${listing.files.length} files) into ${dir}`);
    const r = await fillCacheEntry(dir, listing, s3FetchFile(ctx, source.location, options.retry), fill);
    return { dir, description, source, bytesFetched: r.bytesFetched };
  } finally {
    ctx.client.destroy();
  }
}

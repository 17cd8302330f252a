/**
 * A client for the Data Science Pipelines (Kubeflow Pipelines v2) REST API, v2beta1: upload a
 * compiled pipeline and new versions of it, start runs with parameters, follow them, stop them.
 *
 * Routes (kubeflow/pipelines backend/api/v2beta1/*.proto and apiserver/main.go):
 *   POST /apis/v2beta1/pipelines/upload?name=&display_name=&description=       multipart, field "uploadfile"
 *   POST /apis/v2beta1/pipelines/upload_version?pipelineid=&name=&display_name=&description=
 *   GET  /apis/v2beta1/pipelines?filter=&page_size=        GET /apis/v2beta1/pipelines/{id}/versions
 *   POST /apis/v2beta1/runs (body: the Run)   GET /apis/v2beta1/runs/{id}   GET /apis/v2beta1/runs
 *   POST /apis/v2beta1/runs/{id}:terminate
 * Auth is `Authorization: Bearer <token>`, checked by the proxy in front of the DSP API server.
 *
 * Only GETs are retried (on 5xx answers and on no answer, with doubling delays): a POST that timed
 * out may have created its pipeline or run, and a second one would create another.
 *
 * Example:
 *   const client = new PipelinesClient({ url: pipelinesApiFromDspa(dspa), token: () => defaultToken() });
 *   const { version } = await client.publishPipeline({ name: "finetune", versionName: "v2", yaml });
 *   const run = await client.createRun({ displayName: "try 1", pipelineId: version.pipeline_id,
 *     pipelineVersionId: version.pipeline_version_id, parameters: { epochs: 3 } });
 *   const done = await client.waitForRun(run.run_id, { onProgress: (r) => console.log(r.state) });
 */
import { Blob } from "node:buffer";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, FormData, request, Response, type Dispatcher } from "undici";
import type { z } from "zod";
import { CancelledError, InvalidInputError, throwIfCancelled } from "../errors.js";
import {
  connectionError,
  httpError,
  PipelinesApiError,
  PipelinesWaitTimeoutError,
  type PipelinesTarget,
} from "./pipelines-errors.js";
import {
  ListPipelinesResponseSchema,
  ListPipelineVersionsResponseSchema,
  ListRunsResponseSchema,
  PipelineSchema,
  PipelineVersionSchema,
  RunSchema,
  TERMINAL_RUN_STATES,
  type ListFilter,
  type Pipeline,
  type PipelineVersion,
  type Run,
  type RunParameter,
} from "./pipelines-types.js";
import { artifactLocations, taskPods, type ArtifactLocation, type ArtifactLocationsOptions, type TaskPod } from "./pipelines-run-details.js";

const API = "/apis/v2beta1";
/** Per request, including reading the answer. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** Extra tries of a GET after a 5xx or no answer. */
const DEFAULT_RETRIES = 3;
/** Delay before the first retry; doubles for each further one. */
const DEFAULT_RETRY_DELAY_MS = 500;
/** How often waitForRun asks for the run's state. */
const DEFAULT_POLL_INTERVAL_MS = 5_000;
/** The upload handler picks the parser from the file name's extension (ReadPipelineFile). */
const UPLOAD_FILE_NAME = "pipeline.yaml";
/** Answers worth asking again: the server or a proxy in front of it failed, not the request. */
const RETRIED_STATUSES = new Set([500, 502, 503, 504]);

/** A bearer token, or a function giving the current one (service account tokens rotate). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

export interface PipelinesClientOptions {
  /** The API server's base URL, e.g. `pipelinesApiFromDspa(dspa)`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`; none when absent (a server without auth). */
  token?: TokenSource;
  /** Per-request limit in ms (default 30 s). */
  timeoutMs?: number;
  /** Retries of a GET after a 5xx answer or no answer (default 3). POSTs are never retried. */
  retries?: number;
  /** Delay before the first retry in ms, doubling after each (default 500). */
  retryDelayMs?: number;
  /** PEM CA certificate(s) to trust for an https URL (e.g. the cluster's ingress or service CA). */
  ca?: string | Buffer;
  /** Skip TLS certificate checks. Only on explicit request: anyone on the path could read the token. */
  insecureSkipTlsVerify?: boolean;
  /** An undici dispatcher to send through (overrides `ca` and `insecureSkipTlsVerify`). */
  dispatcher?: Dispatcher;
}

export interface UploadPipelineOptions {
  /** The pipeline's unique name in the namespace. */
  name: string;
  displayName?: string;
  description?: string;
  /** The compiled PipelineSpec, as YAML (or JSON) text. */
  yaml: string;
}

export interface UploadPipelineVersionOptions {
  pipelineId: string;
  /** The version's name (unique under its pipeline). */
  name: string;
  displayName?: string;
  description?: string;
  yaml: string;
}

export interface PublishPipelineOptions {
  name: string;
  displayName?: string;
  description?: string;
  /** The name of the version when the pipeline exists already (a new pipeline's first version takes its name). */
  versionName: string;
  yaml: string;
}

export interface CreateRunOptions {
  displayName: string;
  description?: string;
  pipelineId: string;
  pipelineVersionId: string;
  /** The pipeline's input parameters (runtime_config.parameters). */
  parameters: Record<string, RunParameter>;
  /** The experiment to file the run under (default: the server's "Default" experiment). */
  experimentId?: string;
  /** Overrides the pipeline root (the object store prefix for outputs) for this run. */
  pipelineRoot?: string;
}

export interface ListRunsOptions {
  pageSize?: number;
  pageToken?: string;
  /** A filter.proto filter, as an object or its JSON text. */
  filter?: ListFilter | string;
  /** "field", "field asc" or "field desc", e.g. "created_at desc". */
  sortBy?: string;
  experimentId?: string;
  namespace?: string;
}

export interface ListPipelineVersionsOptions {
  pageSize?: number;
  pageToken?: string;
  filter?: ListFilter | string;
  sortBy?: string;
}

export interface WaitForRunOptions {
  /** Between polls, in ms (default 5 s). */
  intervalMs?: number;
  /** Give up after this many ms with a PipelinesWaitTimeoutError (default: wait as long as it takes). */
  timeoutMs?: number;
  /** Called with the run after every poll. */
  onProgress?: (run: Run) => void;
  /** Stops waiting (CancelledError); the run itself goes on: terminateRun stops it. */
  signal?: AbortSignal;
}

interface SendOptions {
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  /** A body sent as is (the multipart upload), with its content-type. */
  raw?: { body: Buffer; contentType: string };
  signal?: AbortSignal;
}

/** A client of one Data Science Pipelines API server. */
export class PipelinesClient {
  readonly url: URL;
  private readonly token: TokenSource | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly dispatcher: Dispatcher | undefined;
  /** The Agent made here for `ca`/`insecureSkipTlsVerify`, closed by close(). */
  private readonly ownAgent: Agent | undefined;

  constructor(opts: PipelinesClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new InvalidInputError("url", `not a URL: ${JSON.stringify(opts.url)}`, "http(s)://host[:port]");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidInputError("url", `unsupported scheme ${url.protocol}`, "http:, https:");
    this.url = url;
    this.token = opts.token;
    this.timeoutMs = positive("timeoutMs", opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.retries = nonNegativeInt("retries", opts.retries ?? DEFAULT_RETRIES);
    this.retryDelayMs = nonNegativeInt("retryDelayMs", opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
    if (opts.dispatcher === undefined && (opts.ca !== undefined || opts.insecureSkipTlsVerify)) {
      this.ownAgent = new Agent({ connect: { ca: opts.ca, rejectUnauthorized: !opts.insecureSkipTlsVerify } });
    }
    this.dispatcher = opts.dispatcher ?? this.ownAgent;
  }

  /** Close the connection pool made for `ca`/`insecureSkipTlsVerify` (a passed dispatcher is the caller's). */
  async close(): Promise<void> {
    await this.ownAgent?.close();
  }

  /** Upload a compiled pipeline as a new pipeline (the server makes its first version too). */
  async uploadPipeline(opts: UploadPipelineOptions): Promise<Pipeline> {
    required("name", opts.name);
    required("yaml", opts.yaml);
    return this.send("POST", `${API}/pipelines/upload`, PipelineSchema, { kind: "pipeline", id: opts.name, action: `upload pipeline "${opts.name}"` }, {
      query: { name: opts.name, display_name: opts.displayName, description: opts.description },
      raw: await uploadBody(opts.yaml),
    });
  }

  /** Upload a compiled pipeline as a new version of an existing pipeline. */
  async uploadPipelineVersion(opts: UploadPipelineVersionOptions): Promise<PipelineVersion> {
    required("pipelineId", opts.pipelineId);
    required("name", opts.name);
    required("yaml", opts.yaml);
    return this.send("POST", `${API}/pipelines/upload_version`, PipelineVersionSchema, {
      kind: "pipeline", id: opts.pipelineId, action: `upload version "${opts.name}" of pipeline "${opts.pipelineId}"`,
    }, {
      query: { name: opts.name, display_name: opts.displayName, description: opts.description, pipelineid: opts.pipelineId },
      raw: await uploadBody(opts.yaml),
    });
  }

  /** The pipeline with this name (exact match), or undefined. */
  async findPipeline(name: string): Promise<Pipeline | undefined> {
    required("name", name);
    const filter: ListFilter = { predicates: [{ key: "name", operation: "EQUALS", string_value: name }] };
    const res = await this.send("GET", `${API}/pipelines`, ListPipelinesResponseSchema, { kind: "pipelines" }, {
      query: { filter: JSON.stringify(filter), page_size: 1 },
    });
    return res.pipelines?.[0];
  }

  /** One page of a pipeline's versions. */
  async listPipelineVersions(pipelineId: string, opts: ListPipelineVersionsOptions = {}): Promise<{ versions: PipelineVersion[]; nextPageToken?: string }> {
    required("pipelineId", pipelineId);
    const res = await this.send("GET", `${API}/pipelines/${encodeURIComponent(pipelineId)}/versions`, ListPipelineVersionsResponseSchema, { kind: "pipeline", id: pipelineId }, {
      query: { page_size: opts.pageSize, page_token: opts.pageToken, sort_by: opts.sortBy, filter: filterText(opts.filter) },
    });
    return { versions: res.pipeline_versions ?? [], ...(res.next_page_token ? { nextPageToken: res.next_page_token } : {}) };
  }

  /** One pipeline version, with its `pipeline_spec`. */
  async getPipelineVersion(pipelineId: string, pipelineVersionId: string): Promise<PipelineVersion> {
    required("pipelineId", pipelineId);
    required("pipelineVersionId", pipelineVersionId);
    const path = `${API}/pipelines/${encodeURIComponent(pipelineId)}/versions/${encodeURIComponent(pipelineVersionId)}`;
    return this.send("GET", path, PipelineVersionSchema, { kind: "pipeline version", id: pipelineVersionId }, {});
  }

  /** A pipeline's newest version, or undefined when it has none. */
  async latestPipelineVersion(pipelineId: string): Promise<PipelineVersion | undefined> {
    return (await this.listPipelineVersions(pipelineId, { pageSize: 1, sortBy: "created_at desc" })).versions[0];
  }

  /**
   * Upload a pipeline under `name`: a new version named `versionName` when a pipeline of that name
   * exists, else a new pipeline (whose first version the server names after the pipeline).
   */
  async publishPipeline(opts: PublishPipelineOptions): Promise<{ pipeline: Pipeline; version: PipelineVersion; created: boolean }> {
    required("versionName", opts.versionName);
    const existing = await this.findPipeline(opts.name);
    if (existing !== undefined) {
      const version = await this.uploadPipelineVersion({
        pipelineId: existing.pipeline_id, name: opts.versionName, displayName: opts.versionName, description: opts.description, yaml: opts.yaml,
      });
      return { pipeline: existing, version, created: false };
    }
    const pipeline = await this.uploadPipeline(opts);
    const version = await this.latestPipelineVersion(pipeline.pipeline_id);
    if (version === undefined) {
      throw new PipelinesApiError(
        `pipeline "${opts.name}" (${pipeline.pipeline_id}) was uploaded but lists no version`,
        200, "GET", `${API}/pipelines/${pipeline.pipeline_id}/versions`, undefined, undefined,
      );
    }
    return { pipeline, version, created: true };
  }

  /** Start a run of a pipeline version. */
  async createRun(opts: CreateRunOptions): Promise<Run> {
    required("displayName", opts.displayName);
    required("pipelineId", opts.pipelineId);
    required("pipelineVersionId", opts.pipelineVersionId);
    for (const [key, value] of Object.entries(opts.parameters)) {
      const ok = typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
      if (!ok) throw new InvalidInputError(`parameters.${key}`, `unsupported value ${String(value)}`, "a string, a finite number or a boolean");
    }
    const body = {
      display_name: opts.displayName,
      ...(opts.description !== undefined ? { description: opts.description } : {}),
      ...(opts.experimentId !== undefined ? { experiment_id: opts.experimentId } : {}),
      pipeline_version_reference: { pipeline_id: opts.pipelineId, pipeline_version_id: opts.pipelineVersionId },
      runtime_config: { parameters: opts.parameters, ...(opts.pipelineRoot !== undefined ? { pipeline_root: opts.pipelineRoot } : {}) },
    };
    const target: PipelinesTarget = { kind: "pipeline version", id: opts.pipelineVersionId, action: `create run "${opts.displayName}" of pipeline version "${opts.pipelineVersionId}"` };
    return this.send("POST", `${API}/runs`, RunSchema, target, { json: body });
  }

  async getRun(runId: string, opts: { signal?: AbortSignal } = {}): Promise<Run> {
    required("runId", runId);
    return this.send("GET", `${API}/runs/${encodeURIComponent(runId)}`, RunSchema, { kind: "run", id: runId }, { signal: opts.signal });
  }

  /** One page of runs. */
  async listRuns(opts: ListRunsOptions = {}): Promise<{ runs: Run[]; nextPageToken?: string; totalSize?: number }> {
    const res = await this.send("GET", `${API}/runs`, ListRunsResponseSchema, { kind: "runs" }, {
      query: {
        namespace: opts.namespace,
        experiment_id: opts.experimentId,
        page_token: opts.pageToken,
        page_size: opts.pageSize,
        sort_by: opts.sortBy,
        filter: filterText(opts.filter),
      },
    });
    return {
      runs: res.runs ?? [],
      ...(res.next_page_token ? { nextPageToken: res.next_page_token } : {}),
      ...(res.total_size !== undefined ? { totalSize: res.total_size } : {}),
    };
  }

  /**
   * Poll a run until it reaches a terminal state (SUCCEEDED, SKIPPED, FAILED, CANCELED) and return it;
   * a failed run is returned, not thrown: look at `run.state` and `run.error`.
   */
  async waitForRun(runId: string, opts: WaitForRunOptions = {}): Promise<Run> {
    const interval = positive("intervalMs", opts.intervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    const timeoutMs = opts.timeoutMs === undefined ? undefined : positive("timeoutMs", opts.timeoutMs);
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      throwIfCancelled(opts.signal);
      const run = await this.getRun(runId, { signal: opts.signal });
      opts.onProgress?.(run);
      const state = run.state ?? "RUNTIME_STATE_UNSPECIFIED";
      if ((TERMINAL_RUN_STATES as readonly string[]).includes(state)) return run;
      const left = deadline - Date.now();
      if (left <= 0) throw new PipelinesWaitTimeoutError(runId, state, timeoutMs!);
      try {
        await sleep(Math.min(interval, left), undefined, { signal: opts.signal });
      } catch (err) {
        if (opts.signal?.aborted) throw new CancelledError(opts.signal.reason);
        throw err;
      }
    }
  }

  /** Ask the server to stop a run; it goes CANCELING, then CANCELED. */
  async terminateRun(runId: string): Promise<void> {
    required("runId", runId);
    await this.send("POST", `${API}/runs/${encodeURIComponent(runId)}:terminate`, undefined, { kind: "run", id: runId, action: `terminate run "${runId}"` }, {});
  }

  /** The pods of a run's steps, for their logs (see pipelines-run-details.ts). */
  taskPods(run: Run): TaskPod[] {
    return taskPods(run);
  }

  /** The object-store folders of a run's output artifacts (see pipelines-run-details.ts). */
  artifactLocations(run: Run, opts: ArtifactLocationsOptions = {}): ArtifactLocation[] {
    return artifactLocations(run, opts);
  }

  /**
   * artifactLocations, with the spec fetched from the run's pipeline version when neither `opts.spec`
   * nor the run (created from a version, the usual case) carries one. The pipeline root still comes
   * from `opts.pipelineRoot`, the run's runtime config or the spec (a DSPA's: pipelineRootFromDspa).
   */
  async fetchArtifactLocations(run: Run, opts: ArtifactLocationsOptions = {}): Promise<ArtifactLocation[]> {
    if (opts.spec === undefined && run.pipeline_spec === undefined) {
      const ref = run.pipeline_version_reference;
      if (ref?.pipeline_id && ref.pipeline_version_id) {
        const version = await this.getPipelineVersion(ref.pipeline_id, ref.pipeline_version_id);
        if (version.pipeline_spec !== undefined) return artifactLocations(run, { ...opts, spec: version.pipeline_spec });
      }
    }
    return artifactLocations(run, opts);
  }

  /** One request, with the GET retries; parses and checks the answer against `schema`. */
  private async send<S extends z.ZodType>(
    method: "GET" | "POST",
    path: string,
    schema: S | undefined,
    target: PipelinesTarget,
    opts: SendOptions,
  ): Promise<z.infer<S>> {
    const url = new URL(this.url.pathname.replace(/\/+$/, "") + path, this.url);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const where = url.pathname + url.search;
    const tries = method === "GET" ? this.retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { accept: "application/json" };
      const token = typeof this.token === "function" ? await this.token() : this.token;
      if (token) headers.authorization = `Bearer ${token}`;
      if (opts.json !== undefined) headers["content-type"] = "application/json";
      if (opts.raw !== undefined) headers["content-type"] = opts.raw.contentType;
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      let status: number;
      let text: string;
      try {
        const res = await request(url, {
          method,
          headers,
          body: opts.raw?.body ?? (opts.json !== undefined ? JSON.stringify(opts.json) : undefined),
          signal,
          ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        });
        status = res.statusCode;
        text = await res.body.text();
      } catch (err) {
        if (opts.signal?.aborted) throw new CancelledError(opts.signal.reason);
        if (attempt < tries) {
          await this.backoff(attempt, opts.signal);
          continue;
        }
        throw connectionError(method, url, timeout.aborted ? new Error(`timed out after ${this.timeoutMs} ms`) : err, target);
      }
      if (status >= 200 && status < 300) return parseAnswer(schema, text, method, where, target);
      if (RETRIED_STATUSES.has(status) && attempt < tries) {
        await this.backoff(attempt, opts.signal);
        continue;
      }
      throw httpError(status, method, where, text, target);
    }
  }

  private async backoff(attempt: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await sleep(this.retryDelayMs * 2 ** (attempt - 1), undefined, { signal });
    } catch {
      throw new CancelledError(signal?.reason);
    }
  }
}

function parseAnswer<S extends z.ZodType>(schema: S | undefined, text: string, method: string, where: string, target: PipelinesTarget): z.infer<S> {
  if (schema === undefined) return undefined as z.infer<S>;
  let json: unknown;
  try {
    json = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const hint = "the server does not answer like the KFP v2beta1 API: is the URL the DSP API server (status.components.apiServer of the DSPA)?";
    throw new PipelinesApiError(
      `${method} ${target.kind}${target.id ? ` "${target.id}"` : ""}: unexpected answer (${parsed.error.issues[0]?.path.join(".") || "body"}: ${parsed.error.issues[0]?.message}); ${hint}`,
      200, method, where, text.slice(0, 500), hint,
    );
  }
  return parsed.data;
}

/**
 * The multipart body of the upload routes: one file field "uploadfile". undici's FormData encoder
 * writes it (through its Response) and it goes as a buffer with a content-length: handing the
 * FormData itself to undici 7.30's `request` stalled (the server never saw the body end).
 */
async function uploadBody(yaml: string): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  form.append("uploadfile", new Blob([yaml], { type: "application/x-yaml" }), UPLOAD_FILE_NAME);
  const encoded = new Response(form);
  return { body: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get("content-type") ?? "multipart/form-data" };
}

function filterText(filter: ListFilter | string | undefined): string | undefined {
  return filter === undefined || typeof filter === "string" ? filter : JSON.stringify(filter);
}

function required(field: string, value: string | undefined): void {
  if (typeof value !== "string" || value.trim() === "") throw new InvalidInputError(field, "must be a non-empty string");
}

function positive(field: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new InvalidInputError(field, `must be a positive number of ms, got ${value}`);
  return value;
}

function nonNegativeInt(field: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 0)) throw new InvalidInputError(field, `must be an integer >= 0, got ${value}`);
  return value;
}

/**
 * A loopback server that answers like the Kubeflow Pipelines v2beta1 REST API behind the DSP proxy,
 * and records every request for exact assertions.
 *
 * Wire format as the real server has it: proto field names (snake_case), enums as names, absent
 * fields left out; gateway errors as `{error, code, message, details}` (google.rpc.Status, plus the
 * `error` copy older gateways write); upload errors as `{error_message, error_details}`; the proxy's
 * 401/403 as plain text. Runs move through a scripted list of states, one step per GET.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseAllDocuments } from "yaml";

export interface RecordedUpload {
  field: string;
  filename: string | undefined;
  content: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The decoded query. */
  query: Record<string, string>;
  /** The raw query string, with its "?" (or ""). */
  search: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
  /** The multipart file parts of an upload (parsed with the platform's own multipart parser). */
  uploads?: RecordedUpload[];
  /** The boundary named in the content-type, for uploads. */
  boundary?: string;
}

interface FakePipeline {
  pipeline_id: string;
  name: string;
  display_name: string;
  description?: string;
  created_at: string;
}

interface FakeVersion {
  pipeline_id: string;
  pipeline_version_id: string;
  name: string;
  display_name: string;
  description?: string;
  created_at: string;
  spec: string;
}

interface FakeRun {
  body: Record<string, unknown>;
  run_id: string;
  created_at: string;
  /** States still to come; the first is the current one. */
  states: string[];
}

export interface FakeKfpOptions {
  /** The token the proxy accepts; requests without it get 401, with another 403. Default "good-token". */
  token?: string;
  /** The states a new run goes through, one per GET of it (the last one stays). */
  runStates?: string[];
}

const GRPC = { NotFound: 5, Internal: 13, InvalidArgument: 3 } as const;

export interface FakeKfp {
  url: string;
  requests: RecordedRequest[];
  pipelines: FakePipeline[];
  versions: FakeVersion[];
  runs: FakeRun[];
  /** Answer the next `times` requests whose method and path match with `status` and a gateway error body. */
  failNext(method: string, path: string, status: number, times?: number): void;
  close(): Promise<void>;
}

export async function startFakeKfp(opts: FakeKfpOptions = {}): Promise<FakeKfp> {
  const token = opts.token ?? "good-token";
  const runStates = opts.runStates ?? ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"];
  const requests: RecordedRequest[] = [];
  const pipelines: FakePipeline[] = [];
  const versions: FakeVersion[] = [];
  const runs: FakeRun[] = [];
  const failures: { method: string; path: string; status: number; times: number }[] = [];
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const now = (): string => new Date((clock += 1000)).toISOString().replace(".000Z", "Z");

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, Buffer.concat(chunks)).then(
        ([status, body, type]) => {
          res.writeHead(status, { "content-type": type ?? "application/json" });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(599, { "content-type": "text/plain" });
          res.end(`fake-kfp bug: ${String(err)}`);
        },
      );
    });
  });

  type Answer = [number, string, string?];
  const json = (status: number, value: unknown): Answer => [status, JSON.stringify(value)];
  /** A grpc-gateway error answer. */
  const gatewayError = (status: number, code: number, message: string): Answer =>
    json(status, { error: message, code, message, details: [{ "@type": "type.googleapis.com/google.rpc.Status", code, message }] });
  /** The upload handler's error answer (writeErrorToResponse). */
  const uploadError = (status: number, message: string, details: string): Answer =>
    json(status, { error_message: message, error_details: details });

  async function handle(req: http.IncomingMessage, raw: Buffer): Promise<Answer> {
    const url = new URL(req.url ?? "/", "http://fake");
    const rec: RecordedRequest = {
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      search: url.search,
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      body: raw.toString("utf8"),
    };
    requests.push(rec);

    // The kube-rbac-proxy in front of the API server: plain-text answers.
    if (rec.authorization === undefined) return [401, "Unauthorized\n", "text/plain"];
    if (rec.authorization !== `Bearer ${token}`) {
      return [403, "Forbidden (user=system:serviceaccount:proj:other, verb=get, resource=datasciencepipelinesapplications, subresource=api)\n", "text/plain"];
    }
    const failure = failures.find((f) => f.method === rec.method && f.path === rec.path && f.times > 0);
    if (failure) {
      failure.times--;
      return gatewayError(failure.status, GRPC.Internal, "Internal Server Error: database is locked");
    }

    const p = rec.path;
    if (rec.method === "POST" && (p === "/apis/v2beta1/pipelines/upload" || p === "/apis/v2beta1/pipelines/upload_version")) {
      const boundary = /boundary=(.+)$/.exec(rec.contentType ?? "")?.[1];
      rec.boundary = boundary;
      const form = await new Response(raw, { headers: { "content-type": rec.contentType ?? "" } }).formData();
      rec.uploads = [];
      for (const [field, value] of form.entries()) {
        if (typeof value !== "string") rec.uploads.push({ field, filename: value.name, content: await value.text() });
      }
      const file = form.get("uploadfile");
      if (file === null || typeof file === "string") return uploadError(400, "Failed to read pipeline from file", "no file field uploadfile");
      const spec = await file.text();
      const q = rec.query;
      if (p.endsWith("/upload")) {
        const name = q.name || q.display_name || file.name;
        if (pipelines.some((x) => x.name === name)) {
          return uploadError(409, "Failed to create a pipeline and a pipeline version", "Already exist error: pipeline with name " + name);
        }
        const pl: FakePipeline = { pipeline_id: randomUUID(), name, display_name: q.display_name || name, created_at: now(), ...(q.description ? { description: q.description } : {}) };
        pipelines.push(pl);
        versions.push({ pipeline_id: pl.pipeline_id, pipeline_version_id: randomUUID(), name, display_name: pl.display_name, created_at: pl.created_at, spec, ...(pl.description ? { description: pl.description } : {}) });
        return json(200, pl);
      }
      if (!q.pipelineid) return uploadError(400, "Failed to create a pipeline version", "pipeline id missing");
      if (!pipelines.some((x) => x.pipeline_id === q.pipelineid)) return uploadError(400, "Failed to create a pipeline version", "Failed to fetch namespace");
      const v: FakeVersion = { pipeline_id: q.pipelineid, pipeline_version_id: randomUUID(), name: q.name, display_name: q.display_name || q.name, created_at: now(), spec, ...(q.description ? { description: q.description } : {}) };
      versions.push(v);
      return json(200, versionJson(v));
    }
    if (rec.method === "GET" && p === "/apis/v2beta1/pipelines") {
      const filter = rec.query.filter ? (JSON.parse(rec.query.filter) as { predicates: { key: string; operation: string; string_value: string }[] }) : undefined;
      const hits = pipelines.filter((x) =>
        (filter?.predicates ?? []).every((pr) => pr.operation === "EQUALS" && (x as unknown as Record<string, string>)[pr.key] === pr.string_value),
      );
      const size = Number(rec.query.page_size || 20);
      return json(200, hits.length === 0 ? {} : { pipelines: hits.slice(0, size), total_size: hits.length });
    }
    const versionPath = /^\/apis\/v2beta1\/pipelines\/([^/]+)\/versions\/([^/]+)$/.exec(p);
    if (rec.method === "GET" && versionPath) {
      const v = versions.find((x) => x.pipeline_id === versionPath[1] && x.pipeline_version_id === versionPath[2]);
      if (v === undefined) {
        return gatewayError(404, GRPC.NotFound, `Failed to get pipeline version: ResourceNotFoundError: PipelineVersion ${versionPath[2]} not found`);
      }
      return json(200, { ...versionJson(v), pipeline_spec: specStruct(v.spec) });
    }
    const versionsPath = /^\/apis\/v2beta1\/pipelines\/([^/]+)\/versions$/.exec(p);
    if (rec.method === "GET" && versionsPath) {
      if (!pipelines.some((x) => x.pipeline_id === versionsPath[1])) {
        return gatewayError(404, GRPC.NotFound, `Failed to list pipeline versions: ResourceNotFoundError: Pipeline ${versionsPath[1]} not found`);
      }
      let list = versions.filter((v) => v.pipeline_id === versionsPath[1]);
      if (rec.query.sort_by === "created_at desc") list = [...list].reverse();
      const size = Number(rec.query.page_size || 20);
      return json(200, { pipeline_versions: list.slice(0, size).map(versionJson), total_size: list.length });
    }
    if (rec.method === "POST" && p === "/apis/v2beta1/runs") {
      const body = JSON.parse(rec.body) as Record<string, unknown>;
      const ref = body.pipeline_version_reference as { pipeline_id?: string; pipeline_version_id?: string } | undefined;
      if (!versions.some((v) => v.pipeline_version_id === ref?.pipeline_version_id && v.pipeline_id === ref?.pipeline_id)) {
        return gatewayError(404, GRPC.NotFound, `Failed to create a run: ResourceNotFoundError: PipelineVersion ${ref?.pipeline_version_id} not found`);
      }
      const run: FakeRun = { body, run_id: randomUUID(), created_at: now(), states: [...runStates] };
      runs.push(run);
      return json(200, runJson(run));
    }
    if (rec.method === "GET" && p === "/apis/v2beta1/runs") {
      const size = Number(rec.query.page_size || 20);
      const start = Number(rec.query.page_token || 0);
      const page = runs.slice(start, start + size);
      const next = start + size < runs.length ? String(start + size) : undefined;
      return json(200, { runs: page.map(runJson), total_size: runs.length, ...(next ? { next_page_token: next } : {}) });
    }
    const runPath = /^\/apis\/v2beta1\/runs\/([^/:]+)(:terminate)?$/.exec(p);
    if (runPath) {
      const run = runs.find((r) => r.run_id === runPath[1]);
      if (run === undefined) {
        return gatewayError(404, GRPC.NotFound, `Failed to get a run: Failed to fetch run ${runPath[1]}: ResourceNotFoundError: Run ${runPath[1]} not found`);
      }
      if (rec.method === "POST" && runPath[2]) {
        run.states = ["CANCELING", "CANCELED"];
        return json(200, {});
      }
      if (rec.method === "GET" && !runPath[2]) {
        const answer = json(200, runJson(run));
        if (run.states.length > 1) run.states.shift();
        return answer;
      }
    }
    return [404, "Not Found\n", "text/plain"];
  }

  /** The spec as GetPipelineVersion returns it: the one document, or `{pipeline_spec, platform_spec}`. */
  function specStruct(text: string): unknown {
    const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
    if (docs.length === 1) return docs[0];
    return { pipeline_spec: docs.find((d) => "pipelineInfo" in d), platform_spec: docs.find((d) => "platforms" in d) };
  }

  function versionJson(v: FakeVersion): Record<string, unknown> {
    const { spec: _spec, ...rest } = v;
    return rest;
  }

  function runJson(run: FakeRun): Record<string, unknown> {
    const state = run.states[0];
    const tasks =
      state === "PENDING"
        ? undefined
        : [
            { run_id: run.run_id, task_id: "t-root", display_name: "finetune", state, child_tasks: [{ task_id: "t-train" }] },
            {
              run_id: run.run_id,
              task_id: "t-train",
              display_name: "train",
              state,
              execution_id: "42",
              child_tasks: [{ pod_name: `finetune-${run.run_id.slice(0, 5)}-system-container-driver-1` }, { pod_name: `finetune-${run.run_id.slice(0, 5)}-system-container-impl-2` }],
            },
          ];
    return {
      ...run.body,
      run_id: run.run_id,
      experiment_id: (run.body.experiment_id as string | undefined) ?? "default-experiment",
      storage_state: "AVAILABLE",
      service_account: "pipeline-runner-dspa",
      created_at: run.created_at,
      scheduled_at: run.created_at,
      finished_at: ["SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"].includes(state) ? now() : "1970-01-01T00:00:00Z",
      state,
      ...(tasks ? { run_details: { pipeline_context_id: "1", pipeline_run_context_id: "2", task_details: tasks } } : {}),
    };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    pipelines,
    versions,
    runs,
    failNext(method, path, status, times = 1) {
      failures.push({ method, path, status, times });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CancelledError, InvalidInputError } from "../../lib/errors.js";
import { PipelinesClient } from "../../lib/cluster/pipelines.js";
import { PipelinesApiError, PipelinesWaitTimeoutError } from "../../lib/cluster/pipelines-errors.js";
import { startFakeKfp, type FakeKfp } from "./fake-kfp.js";

const TOKEN = "good-token";
const SPEC = "pipelineInfo:\n  name: finetune\nroot:\n  dag:\n    tasks: {}\nschemaVersion: 2.1.0\nsdkVersion: diffusion-workbench\n";

let kfp: FakeKfp;
let client: PipelinesClient;

beforeEach(async () => {
  kfp = await startFakeKfp({ token: TOKEN });
  client = new PipelinesClient({ url: kfp.url, token: TOKEN, retryDelayMs: 1 });
});

afterEach(async () => {
  await client.close();
  await kfp.close();
});

async function uploaded(): Promise<{ pipelineId: string; pipelineVersionId: string }> {
  const { version } = await client.publishPipeline({ name: "finetune", versionName: "v1", yaml: SPEC });
  kfp.requests.length = 0;
  return { pipelineId: version.pipeline_id, pipelineVersionId: version.pipeline_version_id };
}

describe("PipelinesClient uploads", () => {
  it("uploads a pipeline as a multipart POST with the spec in the uploadfile field", async () => {
    const pipeline = await client.uploadPipeline({ name: "finetune", displayName: "Fine-tune SD", description: "LoRA fine-tuning", yaml: SPEC });

    expect(kfp.requests).toHaveLength(1);
    const req = kfp.requests[0];
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/apis/v2beta1/pipelines/upload");
    expect(req.query).toEqual({ name: "finetune", display_name: "Fine-tune SD", description: "LoRA fine-tuning" });
    expect(req.authorization).toBe("Bearer good-token");
    expect(req.contentType).toMatch(/^multipart\/form-data; boundary=\S+$/);
    expect(req.uploads).toEqual([{ field: "uploadfile", filename: "pipeline.yaml", content: SPEC }]);
    // The raw body is one part delimited by the announced boundary.
    expect(req.body.startsWith(`--${req.boundary}\r\n`)).toBe(true);
    expect(req.body.trimEnd().endsWith(`--${req.boundary}--`)).toBe(true);
    expect(req.body).toContain('Content-Disposition: form-data; name="uploadfile"; filename="pipeline.yaml"\r\n');

    expect(pipeline).toEqual({
      pipeline_id: kfp.pipelines[0].pipeline_id,
      name: "finetune",
      display_name: "Fine-tune SD",
      description: "LoRA fine-tuning",
      created_at: kfp.pipelines[0].created_at,
    });
  });

  it("leaves optional query parameters out when they are not given", async () => {
    await client.uploadPipeline({ name: "finetune", yaml: SPEC });
    expect(kfp.requests[0].search).toBe("?name=finetune");
  });

  it("uploads a new version with the pipeline id in the pipelineid query parameter", async () => {
    const pipeline = await client.uploadPipeline({ name: "finetune", yaml: SPEC });
    const version = await client.uploadPipelineVersion({ pipelineId: pipeline.pipeline_id, name: "v2", description: "more steps", yaml: `${SPEC}# v2\n` });

    const req = kfp.requests[1];
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/apis/v2beta1/pipelines/upload_version");
    expect(req.query).toEqual({ name: "v2", description: "more steps", pipelineid: pipeline.pipeline_id });
    expect(req.authorization).toBe("Bearer good-token");
    expect(req.uploads).toEqual([{ field: "uploadfile", filename: "pipeline.yaml", content: `${SPEC}# v2\n` }]);
    expect(version.pipeline_id).toBe(pipeline.pipeline_id);
    expect(version.name).toBe("v2");
    expect(version.pipeline_version_id).toBe(kfp.versions[1].pipeline_version_id);
  });

  it("finds a pipeline by exact name with a filter.proto filter", async () => {
    const pipeline = await client.uploadPipeline({ name: "finetune", yaml: SPEC });
    expect(await client.findPipeline("finetune")).toEqual(pipeline);
    expect(await client.findPipeline("other")).toBeUndefined();

    const req = kfp.requests[1];
    expect(req.method).toBe("GET");
    expect(req.path).toBe("/apis/v2beta1/pipelines");
    expect(req.query).toEqual({ filter: '{"predicates":[{"key":"name","operation":"EQUALS","string_value":"finetune"}]}', page_size: "1" });
    expect(req.body).toBe("");
  });

  it("publishes a new pipeline, then a new version of it under the same name", async () => {
    const first = await client.publishPipeline({ name: "finetune", versionName: "v1", yaml: SPEC });
    expect(first.created).toBe(true);
    expect(first.version).toMatchObject({ pipeline_id: first.pipeline.pipeline_id, name: "finetune" });
    expect(kfp.requests.map((r) => `${r.method} ${r.path}${r.search}`)).toEqual([
      `GET /apis/v2beta1/pipelines?filter=${encodeURIComponent('{"predicates":[{"key":"name","operation":"EQUALS","string_value":"finetune"}]}')}&page_size=1`.replace(/%20/g, "+"),
      "POST /apis/v2beta1/pipelines/upload?name=finetune",
      `GET /apis/v2beta1/pipelines/${first.pipeline.pipeline_id}/versions?page_size=1&sort_by=created_at+desc`,
    ]);

    kfp.requests.length = 0;
    const second = await client.publishPipeline({ name: "finetune", versionName: "v2", yaml: SPEC });
    expect(second.created).toBe(false);
    expect(second.pipeline.pipeline_id).toBe(first.pipeline.pipeline_id);
    expect(second.version.name).toBe("v2");
    expect(kfp.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /apis/v2beta1/pipelines", "POST /apis/v2beta1/pipelines/upload_version"]);
    expect(kfp.requests[1].query).toEqual({ name: "v2", display_name: "v2", pipelineid: first.pipeline.pipeline_id });
  });

  it("explains a duplicate pipeline name from the upload handler's error body", async () => {
    await client.uploadPipeline({ name: "finetune", yaml: SPEC });
    const err = await client.uploadPipeline({ name: "finetune", yaml: SPEC }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelinesApiError);
    const e = err as PipelinesApiError;
    expect(e.status).toBe(409);
    expect(e.apiMessage).toBe("Failed to create a pipeline and a pipeline version");
    expect(e.message).toContain('upload pipeline "finetune": HTTP 409: Failed to create a pipeline and a pipeline version');
    expect(e.message).toContain("upload a new version of it");
    expect(kfp.requests).toHaveLength(2);
  });
});

describe("PipelinesClient runs", () => {
  it("creates a run from a pipeline version with typed parameters", async () => {
    const ids = await uploaded();
    const run = await client.createRun({
      displayName: "try 1",
      description: "first try",
      ...ids,
      parameters: { epochs: 3, learning_rate: 0.0001, model: "tiny-sd", fp16: true },
      experimentId: "exp-1",
    });

    expect(kfp.requests).toHaveLength(1);
    const req = kfp.requests[0];
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/apis/v2beta1/runs");
    expect(req.search).toBe("");
    expect(req.authorization).toBe("Bearer good-token");
    expect(req.contentType).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual({
      display_name: "try 1",
      description: "first try",
      experiment_id: "exp-1",
      pipeline_version_reference: { pipeline_id: ids.pipelineId, pipeline_version_id: ids.pipelineVersionId },
      runtime_config: { parameters: { epochs: 3, learning_rate: 0.0001, model: "tiny-sd", fp16: true } },
    });
    expect(run.run_id).toBe(kfp.runs[0].run_id);
    expect(run.state).toBe("PENDING");
    expect(run.runtime_config?.parameters).toEqual({ epochs: 3, learning_rate: 0.0001, model: "tiny-sd", fp16: true });
  });

  it("rejects a parameter that is not a string, a finite number or a boolean before sending", async () => {
    const ids = await uploaded();
    await expect(client.createRun({ displayName: "x", ...ids, parameters: { epochs: Number.NaN } })).rejects.toThrow(InvalidInputError);
    await expect(client.createRun({ displayName: "x", ...ids, parameters: { epochs: Number.NaN } })).rejects.toThrow(
      "parameters.epochs: unsupported value NaN (allowed: a string, a finite number or a boolean)",
    );
    expect(kfp.requests).toHaveLength(0);
  });

  it("waits for a run through its states and returns it when it succeeds", async () => {
    const run = await client.createRun({ displayName: "try 1", ...(await uploaded()), parameters: {} });
    kfp.requests.length = 0;
    const seen: string[] = [];
    const done = await client.waitForRun(run.run_id, { intervalMs: 5, onProgress: (r) => seen.push(r.state ?? "") });

    expect(seen).toEqual(["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]);
    expect(done.state).toBe("SUCCEEDED");
    expect(kfp.requests.map((r) => `${r.method} ${r.path}${r.search}`)).toEqual(Array(4).fill(`GET /apis/v2beta1/runs/${run.run_id}`));
    expect(kfp.requests.every((r) => r.authorization === "Bearer good-token" && r.body === "")).toBe(true);
  });

  it("returns a failed run instead of throwing", async () => {
    await kfp.close();
    kfp = await startFakeKfp({ token: TOKEN, runStates: ["RUNNING", "FAILED"] });
    client = new PipelinesClient({ url: kfp.url, token: TOKEN });
    const run = await client.createRun({ displayName: "x", ...(await uploaded()), parameters: {} });
    expect((await client.waitForRun(run.run_id, { intervalMs: 5 })).state).toBe("FAILED");
  });

  it("gives up waiting after timeoutMs with an error naming the run and its last state", async () => {
    await kfp.close();
    kfp = await startFakeKfp({ token: TOKEN, runStates: ["PENDING", "RUNNING"] });
    client = new PipelinesClient({ url: kfp.url, token: TOKEN });
    const run = await client.createRun({ displayName: "x", ...(await uploaded()), parameters: {} });
    const err = await client.waitForRun(run.run_id, { intervalMs: 10, timeoutMs: 80 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelinesWaitTimeoutError);
    expect((err as PipelinesWaitTimeoutError).message).toBe(`run "${run.run_id}" did not finish within 80 ms; its last state was RUNNING`);
    expect((err as PipelinesWaitTimeoutError).lastState).toBe("RUNNING");
  });

  it("stops waiting with a CancelledError when the signal aborts", async () => {
    await kfp.close();
    kfp = await startFakeKfp({ token: TOKEN, runStates: ["RUNNING"] });
    client = new PipelinesClient({ url: kfp.url, token: TOKEN });
    const run = await client.createRun({ displayName: "x", ...(await uploaded()), parameters: {} });
    const ac = new AbortController();
    const waiting = client.waitForRun(run.run_id, { intervalMs: 10_000, signal: ac.signal, onProgress: () => ac.abort(new Error("user pressed stop")) });
    await expect(waiting).rejects.toThrow(CancelledError);
    await expect(waiting).rejects.toThrow("cancelled: user pressed stop");
  });

  it("terminates a run with POST :terminate and sees it go CANCELING then CANCELED", async () => {
    const run = await client.createRun({ displayName: "x", ...(await uploaded()), parameters: {} });
    kfp.requests.length = 0;
    await client.terminateRun(run.run_id);
    expect(kfp.requests).toHaveLength(1);
    expect(kfp.requests[0]).toMatchObject({ method: "POST", path: `/apis/v2beta1/runs/${run.run_id}:terminate`, search: "", body: "", authorization: "Bearer good-token" });
    const seen: string[] = [];
    const done = await client.waitForRun(run.run_id, { intervalMs: 5, onProgress: (r) => seen.push(r.state ?? "") });
    expect(seen).toEqual(["CANCELING", "CANCELED"]);
    expect(done.state).toBe("CANCELED");
  });

  it("lists runs page by page with the query parameters of ListRunsRequest", async () => {
    const ids = await uploaded();
    for (const name of ["a", "b", "c"]) await client.createRun({ displayName: name, ...ids, parameters: {} });
    kfp.requests.length = 0;

    const page1 = await client.listRuns({ pageSize: 2, sortBy: "created_at desc", experimentId: "exp-1", filter: { predicates: [{ key: "display_name", operation: "IS_SUBSTRING", string_value: "" }] } });
    expect(page1.runs.map((r) => r.display_name)).toEqual(["a", "b"]);
    expect(page1.nextPageToken).toBe("2");
    expect(page1.totalSize).toBe(3);
    const page2 = await client.listRuns({ pageSize: 2, pageToken: page1.nextPageToken });
    expect(page2.runs.map((r) => r.display_name)).toEqual(["c"]);
    expect(page2.nextPageToken).toBeUndefined();

    expect(kfp.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ["GET", "/apis/v2beta1/runs", { experiment_id: "exp-1", page_size: "2", sort_by: "created_at desc", filter: '{"predicates":[{"key":"display_name","operation":"IS_SUBSTRING","string_value":""}]}' }],
      ["GET", "/apis/v2beta1/runs", { page_token: "2", page_size: "2" }],
    ]);
  });

  it("locates a run's output artifacts with the spec of its pipeline version", async () => {
    const spec =
      "pipelineInfo:\n  name: finetune\nroot:\n  dag:\n    tasks:\n      train:\n        componentRef:\n          name: comp-train\n" +
      "components:\n  comp-train:\n    executorLabel: exec-train\n    outputDefinitions:\n      artifacts:\n        model:\n          artifactType:\n            schemaTitle: system.Model\n" +
      "---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors: {}\n";
    const { version } = await client.publishPipeline({ name: "finetune", versionName: "v1", yaml: spec });
    const run = await client.createRun({ displayName: "x", pipelineId: version.pipeline_id, pipelineVersionId: version.pipeline_version_id, parameters: {} });
    kfp.requests.length = 0;

    expect(await client.fetchArtifactLocations(run, { pipelineRoot: "s3://mlpipeline" })).toEqual([
      { task: "train", name: "model", uriPrefix: `s3://mlpipeline/finetune/${run.run_id}/train/`, artifactIds: [] },
    ]);
    expect(kfp.requests.map((r) => `${r.method} ${r.path}${r.search}`)).toEqual([
      `GET /apis/v2beta1/pipelines/${version.pipeline_id}/versions/${version.pipeline_version_id}`,
    ]);
    // The YAML text works directly too, platform document and all.
    expect(client.artifactLocations(run, { spec, pipelineRoot: "s3://mlpipeline" })).toHaveLength(1);
  });

  it("reads the step pods of a running run from its task details", async () => {
    const run = await client.createRun({ displayName: "x", ...(await uploaded()), parameters: {} });
    await client.getRun(run.run_id); // PENDING: no run_details yet
    const running = await client.getRun(run.run_id);
    const prefix = `finetune-${run.run_id.slice(0, 5)}`;
    expect(client.taskPods(running)).toEqual([
      { task: "train", podName: `${prefix}-system-container-driver-1`, state: "RUNNING" },
      { task: "train", podName: `${prefix}-system-container-impl-2`, state: "RUNNING" },
    ]);
  });
});

describe("PipelinesClient errors and retries", () => {
  it("explains a 401 from the proxy when no token is sent", async () => {
    const anonymous = new PipelinesClient({ url: kfp.url });
    const err = await anonymous.getRun("r1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelinesApiError);
    expect(err).toMatchObject({ status: 401, method: "GET", path: "/apis/v2beta1/runs/r1", apiMessage: "Unauthorized" });
    expect((err as Error).message).toMatch(/^GET run "r1": HTTP 401: Unauthorized; the bearer token is missing or expired/);
    expect(kfp.requests[0].authorization).toBeUndefined();
    expect(kfp.requests).toHaveLength(1); // 4xx is not retried
  });

  it("names the DSPA permission a 403 is about", async () => {
    const other = new PipelinesClient({ url: kfp.url, token: "someone-elses-token" });
    const err = (await other.listRuns().catch((e: unknown) => e)) as PipelinesApiError;
    expect(err.status).toBe(403);
    expect(err.apiMessage).toContain("resource=datasciencepipelinesapplications, subresource=api");
    expect(err.hint).toContain("resources: [datasciencepipelinesapplications/api], verbs: [get]");
    expect(kfp.requests[0].authorization).toBe("Bearer someone-elses-token");
  });

  it("names the missing run of a 404 with the API's message", async () => {
    const err = (await client.getRun("no-such-run").catch((e: unknown) => e)) as PipelinesApiError;
    expect(err.status).toBe(404);
    expect(err.apiMessage).toBe("Failed to get a run: Failed to fetch run no-such-run: ResourceNotFoundError: Run no-such-run not found");
    expect(err.message).toContain('GET run "no-such-run": HTTP 404: Failed to get a run');
    expect(err.hint).toContain('no run "no-such-run" on this server');
  });

  it("names the missing pipeline version when a run is created from one that does not exist", async () => {
    const { pipelineId } = await uploaded();
    const err = (await client.createRun({ displayName: "x", pipelineId, pipelineVersionId: "v-gone", parameters: {} }).catch((e: unknown) => e)) as PipelinesApiError;
    expect(err.status).toBe(404);
    expect(err.message).toBe(
      'create run "x" of pipeline version "v-gone": HTTP 404: Failed to create a run: ResourceNotFoundError: PipelineVersion v-gone not found; ' +
        'no pipeline version "v-gone" on this server: check the id, and that the client talks to the DSPA of the right project',
    );
  });

  it("retries a GET after a 500 and returns the answer that follows", async () => {
    const run = await client.createRun({ displayName: "x", ...(await uploaded()), parameters: {} });
    kfp.requests.length = 0;
    kfp.failNext("GET", `/apis/v2beta1/runs/${run.run_id}`, 500, 2);
    const got = await client.getRun(run.run_id);
    expect(got.run_id).toBe(run.run_id);
    expect(kfp.requests.map((r) => `${r.method} ${r.path}`)).toEqual(Array(3).fill(`GET /apis/v2beta1/runs/${run.run_id}`));
  });

  it("stops retrying a GET after `retries` and reports the last 500", async () => {
    const few = new PipelinesClient({ url: kfp.url, token: TOKEN, retries: 1, retryDelayMs: 1 });
    kfp.failNext("GET", "/apis/v2beta1/runs", 503, 5);
    const err = (await few.listRuns().catch((e: unknown) => e)) as PipelinesApiError;
    expect(err.status).toBe(503);
    expect(err.apiMessage).toBe("Internal Server Error: database is locked");
    expect(kfp.requests).toHaveLength(2);
  });

  it("does not retry a POST that got a 500", async () => {
    const ids = await uploaded();
    kfp.failNext("POST", "/apis/v2beta1/runs", 500, 1);
    const err = (await client.createRun({ displayName: "x", ...ids, parameters: {} }).catch((e: unknown) => e)) as PipelinesApiError;
    expect(err).toBeInstanceOf(PipelinesApiError);
    expect(err.status).toBe(500);
    expect(err.hint).toContain("the pipelines API server failed");
    expect(err.message).toMatch(/^create run "x" of pipeline version "[^"]+": HTTP 500: Internal Server Error: database is locked; /);
    expect(kfp.requests).toHaveLength(1);
    expect(kfp.runs).toHaveLength(0);
  });

  it("reports status 0 with a hint when nothing answers, after retrying the GET", async () => {
    // A port that was just free: bind, note it, close.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const nowhere = new PipelinesClient({ url: `http://127.0.0.1:${port}`, token: TOKEN, retries: 2, retryDelayMs: 1 });
    const err = (await nowhere.getRun("r1").catch((e: unknown) => e)) as PipelinesApiError;
    expect(err).toBeInstanceOf(PipelinesApiError);
    expect(err.status).toBe(0);
    expect(err.message).toContain(`GET run "r1": no answer from http://127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it("gives up on a request after timeoutMs", async () => {
    const silent = http.createServer(() => undefined); // never answers
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const slow = new PipelinesClient({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, token: TOKEN, timeoutMs: 50, retries: 0 });
      const err = (await slow.getRun("r1").catch((e: unknown) => e)) as PipelinesApiError;
      expect(err.status).toBe(0);
      expect(err.message).toContain("(timed out after 50 ms)");
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it("asks a token function for the token on every request", async () => {
    let n = 0;
    const rotating = new PipelinesClient({ url: kfp.url, token: () => (++n === 1 ? TOKEN : "rotated") });
    await rotating.listRuns();
    await rotating.listRuns().catch(() => undefined);
    expect(kfp.requests.map((r) => r.authorization)).toEqual(["Bearer good-token", "Bearer rotated"]);
  });

  it("reports an answer that is not the KFP API's shape", async () => {
    const err = (await client.getRun("x").catch((e: unknown) => e)) as PipelinesApiError;
    expect(err.status).toBe(404); // sanity: the fake knows no run "x"
    const plain = http.createServer((_req, res) => res.end("<html>login</html>"));
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    try {
      const wrong = new PipelinesClient({ url: `http://127.0.0.1:${(plain.address() as AddressInfo).port}`, token: TOKEN });
      await expect(wrong.getRun("r1")).rejects.toThrow(/unexpected answer .*is the URL the DSP API server/);
    } finally {
      plain.closeAllConnections();
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });

  it("rejects a bad URL and bad options with the field name", () => {
    expect(() => new PipelinesClient({ url: "ds-pipeline-dspa:8443" })).toThrow(/^url: unsupported scheme ds-pipeline-dspa:/);
    expect(() => new PipelinesClient({ url: "not a url" })).toThrow("url: not a URL");
    expect(() => new PipelinesClient({ url: kfp.url, retries: -1 })).toThrow("retries: must be an integer >= 0, got -1");
    expect(() => new PipelinesClient({ url: kfp.url, timeoutMs: 0 })).toThrow("timeoutMs: must be a positive number of ms, got 0");
  });

  it("keeps a path prefix of the base URL", async () => {
    const prefixed = new PipelinesClient({ url: `${kfp.url}/proxy/`, token: TOKEN });
    await prefixed.getRun("r1").catch(() => undefined);
    expect(kfp.requests[0].path).toBe("/proxy/apis/v2beta1/runs/r1");
  });
});

describe("PipelinesClient over https", () => {
  const dir = path.resolve(import.meta.dirname, "../fixtures/pipelines-tls");
  const cert = readFileSync(path.join(dir, "tls-127.0.0.1.crt"), "utf8");
  const key = readFileSync(path.join(dir, "tls-127.0.0.1.key"), "utf8");

  async function withHttps(fn: (url: string) => Promise<void>): Promise<void> {
    const server = https.createServer({ cert, key }, (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ run_id: "r1", state: "RUNNING" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      await fn(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  it("trusts a server certificate signed by the given CA", async () => {
    await withHttps(async (url) => {
      const c = new PipelinesClient({ url, token: TOKEN, ca: cert, retries: 0 });
      expect((await c.getRun("r1")).state).toBe("RUNNING");
      await c.close();
    });
  });

  it("refuses an unknown certificate unless told to skip the check", async () => {
    await withHttps(async (url) => {
      const strict = new PipelinesClient({ url, token: TOKEN, retries: 0 });
      const err = (await strict.getRun("r1").catch((e: unknown) => e)) as PipelinesApiError;
      expect(err.status).toBe(0);
      expect(err.message).toContain("(DEPTH_ZERO_SELF_SIGNED_CERT)");
      expect(err.hint).toContain("the CA (option `ca`)");
      const lax = new PipelinesClient({ url, token: TOKEN, insecureSkipTlsVerify: true, retries: 0 });
      expect((await lax.getRun("r1")).run_id).toBe("r1");
      await lax.close();
    });
  });
});

/** submit and watch against a loopback server answering as the DSP (KFP v2beta1) API server does. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { RunFailedError, submitPipeline, watchRun } from "../../finetuning/dreambooth/submit.js";
import { PipelinesClient } from "../../lib/cluster/pipelines.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startFakeKfp, type FakeKfp } from "../cluster/fake-kfp.js";
import { runCli } from "../helpers/cli.js";
import { repoRoot } from "../helpers/paths.js";
import { serverPerTest } from "../helpers/server-per-test.js";

interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  contentType?: string;
  body: string;
}

/** Scripted answers: GET /runs/{id} walks through `runStates`, one per poll. */
class FakeDsp {
  readonly requests: Recorded[] = [];
  existingPipeline: Record<string, unknown> | undefined;
  runStates: Record<string, unknown>[] = [];
  private server?: Server;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const u = new URL(req.url ?? "/", "http://x");
        this.requests.push({
          method: req.method ?? "",
          path: u.pathname,
          query: Object.fromEntries(u.searchParams),
          authorization: req.headers.authorization,
          contentType: req.headers["content-type"]?.split(";")[0],
          body: Buffer.concat(chunks).toString("utf8"),
        });
        const [status, body] = this.answer(req.method ?? "", u.pathname);
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  private answer(method: string, p: string): [number, unknown] {
    if (method === "GET" && p === "/apis/v2beta1/pipelines") return [200, this.existingPipeline ? { pipelines: [this.existingPipeline], total_size: 1 } : {}];
    if (method === "POST" && p === "/apis/v2beta1/pipelines/upload") return [200, { pipeline_id: "p-1", name: "dreambooth-sd3-lora", display_name: "dreambooth-sd3-lora", created_at: "2026-11-27T10:00:00Z" }];
    if (method === "POST" && p === "/apis/v2beta1/pipelines/upload_version") return [200, { pipeline_id: "p-1", pipeline_version_id: "pv-2", name: "x" }];
    if (method === "GET" && p === "/apis/v2beta1/pipelines/p-1/versions") return [200, { pipeline_versions: [{ pipeline_id: "p-1", pipeline_version_id: "pv-1", name: "dreambooth-sd3-lora" }], total_size: 1 }];
    if (method === "POST" && p === "/apis/v2beta1/runs") return [200, { run_id: "r-1", display_name: "dreambooth-sd3-lora v1", state: "PENDING" }];
    if (method === "GET" && p === "/apis/v2beta1/runs/r-1") return [200, this.runStates.length > 1 ? this.runStates.shift() : this.runStates[0]];
    return [404, { code: 5, message: `no route ${method} ${p}` }];
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}

const task = (name: string, state: string, extra: Record<string, unknown> = {}) => ({ display_name: name, task_id: `t-${name}`, state, ...extra });
const YAML = "# PIPELINE DEFINITION\n# Name: dreambooth-sd3-lora\npipelineInfo:\n  name: dreambooth-sd3-lora\nroot:\n  dag:\n    tasks: {}\nschemaVersion: 2.1.0\n";

let dsp: FakeDsp;
serverPerTest(() => new FakeDsp().start(), (s) => (dsp = s));

describe("submitPipeline", () => {
  it("uploads a new pipeline, takes its first version and starts a run with the parameters", async () => {
    const client = new PipelinesClient({ url: dsp.url, token: "tok", retries: 0 });
    const r = await submitPipeline(client, { yaml: YAML, pipelineName: "dreambooth-sd3-lora", versionName: "dreambooth-sd3-lora-v1-x", runName: "dreambooth-sd3-lora v1", parameters: { VERSION: "v1", MAX_TRAIN_STEPS: 400 } });
    expect(r).toMatchObject({ pipelineId: "p-1", versionId: "pv-1", created: true, run: { run_id: "r-1" } });
    expect(dsp.requests.map((q) => [q.method, q.path, q.query])).toEqual([
      ["GET", "/apis/v2beta1/pipelines", { filter: JSON.stringify({ predicates: [{ key: "name", operation: "EQUALS", string_value: "dreambooth-sd3-lora" }] }), page_size: "1" }],
      ["POST", "/apis/v2beta1/pipelines/upload", { name: "dreambooth-sd3-lora" }],
      ["GET", "/apis/v2beta1/pipelines/p-1/versions", { page_size: "1", sort_by: "created_at desc" }],
      ["POST", "/apis/v2beta1/runs", {}],
    ]);
    expect(dsp.requests.every((q) => q.authorization === "Bearer tok")).toBe(true);
    expect(dsp.requests[1].contentType).toBe("multipart/form-data");
    expect(dsp.requests[1].body).toContain('name="uploadfile"; filename="pipeline.yaml"');
    expect(dsp.requests[1].body).toContain(YAML);
    expect(JSON.parse(dsp.requests[3].body)).toEqual({
      display_name: "dreambooth-sd3-lora v1",
      pipeline_version_reference: { pipeline_id: "p-1", pipeline_version_id: "pv-1" },
      runtime_config: { parameters: { VERSION: "v1", MAX_TRAIN_STEPS: 400 } },
    });
  });

  it("adds a version when a pipeline of that name exists", async () => {
    dsp.existingPipeline = { pipeline_id: "p-1", name: "dreambooth-sd3-lora" };
    const client = new PipelinesClient({ url: dsp.url, retries: 0 });
    const r = await submitPipeline(client, { yaml: YAML, pipelineName: "dreambooth-sd3-lora", versionName: "v-2", runName: "again", parameters: {}, experimentId: "e-9" });
    expect(r).toMatchObject({ versionId: "pv-2", created: false });
    expect(dsp.requests[1].path).toBe("/apis/v2beta1/pipelines/upload_version");
    expect(dsp.requests[1].query).toEqual({ name: "v-2", display_name: "v-2", pipelineid: "p-1" });
    expect(JSON.parse(dsp.requests[2].body).experiment_id).toBe("e-9");
  });
});

describe("watchRun", () => {
  it("reports the run's and the steps' state changes once each, skipping the engine's own tasks, until the run succeeds", async () => {
    dsp.runStates = [
      { run_id: "r-1" },
      { run_id: "r-1", state: "RUNNING", run_details: { task_details: [task("root", "RUNNING"), task("prepare-data-driver", "SUCCEEDED"), task("prepare-data", "RUNNING")] } },
      { run_id: "r-1", state: "RUNNING", run_details: { task_details: [task("prepare-data", "SUCCEEDED"), task("train", "RUNNING")] } },
      { run_id: "r-1", state: "RUNNING", run_details: { task_details: [task("prepare-data", "SUCCEEDED"), task("train", "RUNNING")] } },
      { run_id: "r-1", state: "SUCCEEDED", run_details: { task_details: [task("prepare-data", "SUCCEEDED"), task("train", "SUCCEEDED"), task("export-onnx", "SUCCEEDED"), task("upload", "SUCCEEDED")] } },
    ];
    const lines: string[] = [];
    const run = await watchRun(new PipelinesClient({ url: dsp.url, retries: 0 }), "r-1", { intervalMs: 1, onLine: (l) => lines.push(l) });
    expect(run.state).toBe("SUCCEEDED");
    expect(lines).toEqual([
      "run r-1: PENDING",
      "run r-1: RUNNING",
      "  prepare-data: RUNNING",
      "  prepare-data: SUCCEEDED",
      "  train: RUNNING",
      "run r-1: SUCCEEDED",
      "  train: SUCCEEDED",
      "  export-onnx: SUCCEEDED",
      "  upload: SUCCEEDED",
    ]);
    expect(dsp.requests.map((q) => `${q.method} ${q.path}`)).toEqual(Array(5).fill("GET /apis/v2beta1/runs/r-1"));
  });

  it("throws RunFailedError with the server's message when the run fails", async () => {
    dsp.runStates = [{ run_id: "r-1", state: "FAILED", error: { code: 2, message: "train: OOMKilled" }, run_details: { task_details: [task("train", "FAILED", { error: { message: "exit 137" } })] } }];
    const lines: string[] = [];
    const err = await watchRun(new PipelinesClient({ url: dsp.url, retries: 0 }), "r-1", { intervalMs: 1, onLine: (l) => lines.push(l) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as Error).message).toBe("run r-1 ended FAILED: train: OOMKilled");
    expect(lines).toEqual(["run r-1: FAILED", "  train: FAILED (exit 137)"]);
  });
});

describe("diffusion-workbench finetune submit", () => {
  it("compiles, uploads and starts a run with --set parameters, the URL and token from DSP_URL and DSP_TOKEN, and follows it with --watch", async () => {
    dsp.runStates = [{ run_id: "r-1", state: "SUCCEEDED" }];
    const env: NodeJS.ProcessEnv = { ...process.env, DSP_URL: dsp.url, DSP_TOKEN: "sa-token" };
    for (const k of Object.keys(env)) if (/^(AWS_|VERSION$|MODEL_NAME$|INSTANCE_|CLASS_PROMPT$|RESOLUTION$|MAX_TRAIN_STEPS$)/.test(k)) delete env[k];
    const r = await runCli(["finetune", "submit", "--set", "VERSION=v9", "--set", "MAX_TRAIN_STEPS=50", "--watch"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("r-1\n");
    expect(r.stderr).toMatch(/^uploaded pipeline dreambooth-sd3-lora \(p-1, version pv-1\); started run r-1\nrun r-1: SUCCEEDED\n$/);
    expect(dsp.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      "GET /apis/v2beta1/pipelines",
      "POST /apis/v2beta1/pipelines/upload",
      "GET /apis/v2beta1/pipelines/p-1/versions",
      "POST /apis/v2beta1/runs",
      "GET /apis/v2beta1/runs/r-1",
    ]);
    expect(dsp.requests.every((q) => q.authorization === "Bearer sa-token")).toBe(true);
    expect(dsp.requests[1].body).toContain("schemaVersion: 2.1.0");
    expect(dsp.requests[1].body).toContain("defaultValue: v9");
    expect(JSON.parse(dsp.requests[3].body)).toEqual({
      display_name: "dreambooth-sd3-lora v9",
      pipeline_version_reference: { pipeline_id: "p-1", pipeline_version_id: "pv-1" },
      runtime_config: { parameters: { VERSION: "v9", MAX_TRAIN_STEPS: 50 } },
    });
  });
});

describe("diffusion-workbench finetune watch", () => {
  /** The compiled Dreambooth pipeline: its components declare the samples and loss_log artifacts. */
  const SPEC = readFileSync(path.join(repoRoot, "test", "fixtures", "kfp", "dreambooth-sd3-lora.yaml"), "utf8");

  /** A fake KFP server whose run (created from an uploaded pipeline version) goes through `states`. */
  async function runOn(states: string[]): Promise<{ kfp: FakeKfp; runId: string }> {
    const kfp = await startFakeKfp({ token: "t0k", runStates: states });
    const client = new PipelinesClient({ url: kfp.url, token: "t0k" });
    try {
      const r = await submitPipeline(client, { yaml: SPEC, pipelineName: "dreambooth-sd3-lora", versionName: "v1-x", runName: "dreambooth v1", parameters: { VERSION: "v1" } });
      return { kfp, runId: r.run.run_id };
    } finally {
      await client.close();
    }
  }
  const env = (kfp: FakeKfp) => ({ ...process.env, DSP_URL: kfp.url, DSP_TOKEN: "t0k", DSP_PIPELINE_ROOT: "" });

  it("follows a run until it succeeds and prints each artifact folder under --pipeline-root", async () => {
    const { kfp, runId } = await runOn(["RUNNING", "SUCCEEDED"]);
    try {
      const r = await runCli(["finetune", "watch", runId, "--interval", "1", "--pipeline-root", "s3://pipeline-artifacts/dsp"], { env: env(kfp) });
      expect(r.stderr).toContain("SUCCEEDED");
      expect(r.stdout).toBe(
        `export-onnx.samples\ts3://pipeline-artifacts/dsp/dreambooth-sd3-lora/${runId}/export-onnx/\n` +
          `upload.loss_log\ts3://pipeline-artifacts/dsp/dreambooth-sd3-lora/${runId}/upload/\n`,
      );
      expect(r.code).toBe(0);
      const version = kfp.versions[0];
      // after the upload and the run: polls of the run until it ends, then the version's spec
      expect(kfp.requests.slice(4).map((q) => `${q.method} ${q.path}`)).toEqual([
        `GET /apis/v2beta1/runs/${runId}`,
        `GET /apis/v2beta1/runs/${runId}`,
        `GET /apis/v2beta1/pipelines/${version.pipeline_id}/versions/${version.pipeline_version_id}`,
      ]);
      expect(kfp.requests.every((q) => q.authorization === "Bearer t0k")).toBe(true);
    } finally {
      await kfp.close();
    }
  });

  it("says on stderr that the artifact locations are unknown without a pipeline root, and still exits 0 for a run that succeeded", async () => {
    const { kfp, runId } = await runOn(["SUCCEEDED"]);
    try {
      const r = await runCli(["finetune", "watch", runId, "--interval", "1"], { env: env(kfp) });
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("artifact locations unknown");
      expect(r.code).toBe(0);
    } finally {
      await kfp.close();
    }
  });

  it("exits 1 when the run fails", async () => {
    const { kfp, runId } = await runOn(["RUNNING", "FAILED"]);
    try {
      const r = await runCli(["finetune", "watch", runId, "--interval", "1", "--pipeline-root", "s3://pipeline-artifacts"], { env: env(kfp) });
      expect(r.stderr).toContain("FAILED");
      expect(r.stdout).toBe("");
      expect(r.code).toBe(1);
    } finally {
      await kfp.close();
    }
  });
});

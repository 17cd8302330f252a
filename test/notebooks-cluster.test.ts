/**
 * The notebooks' cluster branches, run against a "cluster" made of the project's fakes: the fake
 * Kubernetes API server (and, for notebook 2, a fake KFP server and a real s3rver), so that what CI
 * never reaches with DEPLOY=0 / SUBMIT=0 runs here too.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createS3Client, dataConnection, ensureBuiltinModel, modelPrefix, pushModel } from "../lib/index.js";
import { FakeApiServer } from "./cluster/fake-apiserver.js";
import { startFakeKfp } from "./cluster/fake-kfp.js";
import { execute } from "./helpers/notebooks.js";
import { repoRoot } from "./helpers/paths.js";
import { startServer, type TestServer } from "./serving/runtime-helpers.js";
import { ACCESS_KEY_ID, SECRET_KEY, startS3 } from "./storage/helpers/s3-server.js";

const tmp = mkdtempSync(path.join(tmpdir(), "notebooks-cluster-"));
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A kubeconfig file pointing at `api`, in namespace "proj". */
function kubeconfigFile(api: FakeApiServer, name: string): string {
  const file = path.join(tmp, `${name}.kubeconfig`);
  writeFileSync(file, api.kubeconfig("proj"));
  return file;
}

describe("executing 3_remote_inference against a cluster", () => {
  it("deploys the runtime by server-side apply, waits until the InferenceService is Ready, and calls it through a local MCP server", async () => {
    // The "deployed" runtime: a real one in this process, serving under the InferenceService's name.
    const runtime: TestServer = await startServer({}, { config: { modelName: "stable-diffusion" } });
    closers.push(() => runtime.close());
    const api = await new FakeApiServer().start();
    closers.push(() => api.close());
    // KServe's controller: once applied, the InferenceService is Ready at the runtime's URL.
    api.onRead("serving.kserve.io/v1beta1", "InferenceService", "proj", "stable-diffusion", (obj) => {
      obj.status = {
        url: runtime.url,
        address: { url: runtime.url },
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }],
      };
    });
    const { outputs, html, text } = await execute("3_remote_inference", {
      KUBECONFIG: kubeconfigFile(api, "nb3"),
      DEPLOY: "",
      DEPLOY_MODEL: "tiny",
      RUNTIME_IMAGE: "quay.io/org/diffusion-workbench-runtime:0.1.0",
      MODEL_ID: "",
      DIFFUSERS_RUNTIME_URL: "",
      DIFFUSERS_MODEL_ID: "",
      MCP_URL: "",
      MCP_IMAGE: "",
      LATENCY_REQUESTS: "3",
    });
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    expect(outputs.filter((o) => o.name === "stderr")).toEqual([]);
    // server-side apply of the ServingRuntime, then of the InferenceService, then GETs until Ready
    const calls = api.calls();
    const applies = calls.filter((c) => c.method === "PATCH");
    expect(applies.map(({ method, path, query, contentType }) => ({ method, path, query, contentType }))).toEqual([
      {
        method: "PATCH",
        path: "/apis/serving.kserve.io/v1alpha1/namespaces/proj/servingruntimes/diffusion-workbench",
        query: { fieldManager: "diffusion-workbench" },
        contentType: "application/apply-patch+yaml",
      },
      {
        method: "PATCH",
        path: "/apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/stable-diffusion",
        query: { fieldManager: "diffusion-workbench" },
        contentType: "application/apply-patch+yaml",
      },
    ]);
    expect(applies[0].body).toMatchObject({
      kind: "ServingRuntime",
      metadata: { name: "diffusion-workbench", namespace: "proj" },
      spec: { containers: [{ name: "kserve-container", image: "quay.io/org/diffusion-workbench-runtime:0.1.0" }] },
    });
    // DEPLOY_MODEL=tiny: the built-in model, named by env (no storageUri to download)
    expect(applies[1].body).toMatchObject({
      kind: "InferenceService",
      metadata: { name: "stable-diffusion", namespace: "proj" },
      spec: { predictor: { model: { runtime: "diffusion-workbench", modelFormat: { name: "diffusers-onnx", version: "1" }, env: [{ name: "MODEL_ID", value: "shapes" }, { name: "EXECUTION_PROVIDER", value: "cpu" }] } } },
    });
    expect((applies[1].body as any).spec.predictor.model.storageUri).toBeUndefined();
    expect(calls.slice(2).every((c) => c.method === "GET" && c.path === "/apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/stable-diffusion")).toBe(true);
    expect(text).toContain("deploying the runtime for tiny in namespace proj ...");
    expect(text).toContain("ServingRuntime/diffusion-workbench applied in proj");
    expect(text).toContain("InferenceService/stable-diffusion applied in proj");
    expect(text).toContain("InferenceService/stable-diffusion: Ready=True");
    expect(text).toContain(`runtime ready at ${runtime.url}`);
    // V1: 1 picture, V2: 3, the MCP tool: 1, all from the "deployed" runtime
    expect(html.match(/<img src="data:image\/(png|jpeg|webp);base64,/g)?.length).toBe(1 + 3 + 1);
    expect(html.match(/window\.Plotly\.newPlot/g)?.length).toBe(1);
    expect(text).toContain('"model": "stable-diffusion"');
    expect(text).toContain("stopped 1 local server(s)");
  }, 120_000);
});

describe("executing 2_fine_tuning against a cluster", () => {
  it("submits the pipeline to the DSPA's pipeline server, follows the run, plots its loss, shows its samples and generates with the published model", async () => {
    const s3 = await startS3(["models", "pipeline-artifacts"]);
    closers.push(() => s3.close());
    const connection = dataConnection({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_KEY, endpoint: s3.endpoint, bucket: "models" }, "notebook 2 test");
    const kfp = await startFakeKfp({ token: "dsp-token", runStates: ["RUNNING", "SUCCEEDED"] });
    closers.push(() => kfp.close());
    const api = await new FakeApiServer().start();
    closers.push(() => api.close());
    api.put({
      apiVersion: "datasciencepipelinesapplications.opendatahub.io/v1",
      kind: "DataSciencePipelinesApplication",
      metadata: { name: "dspa", namespace: "proj" },
      spec: { objectStorage: { externalStorage: { bucket: "pipeline-artifacts", host: s3.endpoint } } },
      status: {
        conditions: [{ type: "Ready", status: "True", reason: "MinimumReplicasAvailable", message: "" }],
        components: { apiServer: { url: kfp.url, externalUrl: kfp.url } },
      },
    });
    // What the pipeline would have published: the ONNX model (the built-in tiny one, as the trained one's stand-in) ...
    await pushModel({ dir: await ensureBuiltinModel("tiny"), connection: connection, target: { bucket: "models", prefix: `${modelPrefix("rhteddy", "v1")}onnx/` } });
    // ... and, once the run exists, its artifacts under <root>/<pipeline name>/<run id>/<task>/<uuid>/<name>.
    const { client } = createS3Client(connection);
    let written = false;
    const poll = setInterval(() => {
      const run = kfp.runs[0];
      if (!run || written) return;
      written = true;
      const base = `dreambooth-sd3-lora/${run.run_id}`;
      void Promise.all([
        client.send(new PutObjectCommand({ Bucket: "pipeline-artifacts", Key: `${base}/upload/1b4e28ba-2fa1-11d2-883f-0016d3cca427/loss_log`, Body: "step,loss\n1,0.5\n2,0.4\n3,0.35\n" })),
        ...[0, 1].map((i) => client.send(new PutObjectCommand({ Bucket: "pipeline-artifacts", Key: `${base}/export-onnx/6fa459ea-ee8a-3ca4-894e-db77e160355e/samples/sample-${i}.png`, Body: TINY_PNG }))),
      ]);
    }, 20);
    closers.push(async () => clearInterval(poll));
    const { outputs, html, text } = await execute("2_fine_tuning", {
      ...s3.env,
      AWS_S3_BUCKET: "models",
      KUBECONFIG: kubeconfigFile(api, "nb2"),
      SUBMIT: "",
      DSP_URL: "",
      DSP_TOKEN: "dsp-token",
      DSP_PIPELINE_ROOT: "s3://pipeline-artifacts",
      DSP_POLL_S: "1",
      INSTANCE_DATA: "",
      OUTPUT_DIR: path.join(repoRoot, "out", "notebook-2-cluster-test"),
      // a fresh download cache: the generation must use what this test's S3 holds, not an earlier pull
      MODEL_CACHE_DIR: path.join(tmp, "model-cache"),
    });
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    expect(outputs.filter((o) => o.name === "stderr")).toEqual([]);
    // KFP: find the pipeline by name, upload it, read its version, create the run, follow it, read the version's spec
    const [run] = kfp.runs;
    const [pipeline] = kfp.pipelines;
    const [version] = kfp.versions;
    expect(kfp.requests.map((r) => `${r.method} ${r.path}${r.search}`)).toEqual([
      `GET /apis/v2beta1/pipelines?filter=${encodeURIComponent(JSON.stringify({ predicates: [{ key: "name", operation: "EQUALS", string_value: "dreambooth-sd3-lora" }] }))}&page_size=1`,
      "POST /apis/v2beta1/pipelines/upload?name=dreambooth-sd3-lora",
      `GET /apis/v2beta1/pipelines/${pipeline.pipeline_id}/versions?page_size=1&sort_by=created_at+desc`,
      "POST /apis/v2beta1/runs",
      `GET /apis/v2beta1/runs/${run.run_id}`,
      `GET /apis/v2beta1/runs/${run.run_id}`,
      `GET /apis/v2beta1/pipelines/${pipeline.pipeline_id}/versions/${version.pipeline_version_id}`,
    ]);
    expect(kfp.requests.every((r) => r.authorization === "Bearer dsp-token")).toBe(true);
    const upload = kfp.requests[1];
    expect(upload.contentType).toBe(`multipart/form-data; boundary=${upload.boundary}`);
    expect(upload.uploads?.map((u) => ({ field: u.field, filename: u.filename }))).toEqual([{ field: "uploadfile", filename: "pipeline.yaml" }]);
    expect(upload.uploads?.[0].content).toContain("pipelineInfo:\n  name: dreambooth-sd3-lora\n");
    expect(JSON.parse(kfp.requests[3].body)).toEqual(RUN_BODY(pipeline.pipeline_id, version.pipeline_version_id));
    expect(text).toContain(`run ${run.run_id} started`);
    // the loss chart and the 2 samples, then the 4 prepared photos and 1 picture from the pulled model
    expect(html.match(/window\.Plotly\.newPlot/g)?.length).toBe(1);
    expect(html).toContain("training loss");
    expect(html).toContain("sample-0.png");
    expect(html).toContain("sample-1.png");
    expect(html.match(/<img src="data:image\/png;base64,/g)?.length).toBe(4 + 2 + 1);
    expect(html).toContain("a photo of rhteddy dog (fine-tuned)");
    expect(text).toContain(`s3://models/models/v1/rhteddy/onnx (cached in ${path.join(tmp, "model-cache")}`);
    // the model is the run's, not the stand-in published without a run (the photos are drawn stand-ins: INSTANCE_DATA is empty)
    expect(text).not.toContain("stand-in");
    expect(html).not.toContain("(stand-in)");
  }, 120_000);
});

/** The create-run request the notebook makes for its default parameters. */
const RUN_BODY = (pipelineId: string, versionId: string) => ({
  display_name: "dreambooth v1",
  pipeline_version_reference: { pipeline_id: pipelineId, pipeline_version_id: versionId },
  runtime_config: {
    parameters: {
      CLASS_PROMPT: "a photo of dog",
      INSTANCE_DATA: "",
      INSTANCE_PROMPT: "a photo of rhteddy dog",
      LEARNING_RATE: 0.0001,
      LORA_RANK: 4,
      MAX_TRAIN_STEPS: 800,
      MIXED_PRECISION: "bf16",
      MODEL_NAME: "stabilityai/stable-diffusion-3.5-medium",
      NUM_CLASS_IMAGES: 200,
      OUTPUT_NAME: "rhteddy",
      RESOLUTION: 1024,
      SEED: 0,
      VERSION: "v1",
    },
  },
});

/** A 1x1 PNG, for the sample pictures. */
const TINY_PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

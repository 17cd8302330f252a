/** The cluster commands of the built CLI, run in a child process against the fake API server (KUBECONFIG). */
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { requireBuiltCli, runCli, type CliResult } from "../helpers/cli.js";
import { serverPerTest } from "../helpers/server-per-test.js";
import { FakeApiServer, forbiddenBody } from "./fake-apiserver.js";

const ISVC = "serving.kserve.io/v1beta1";
const labels = { "app.kubernetes.io/managed-by": "diffusion-workbench", "app.kubernetes.io/part-of": "diffusion-workbench" };
let api: FakeApiServer;
let kubeconfig: string;
let tmp: string;

function run(args: string[]): Promise<CliResult> {
  return runCli(args, { env: { ...process.env, KUBECONFIG: kubeconfig, RUNTIME_IMAGE: "", MCP_IMAGE: "" }, cwd: tmp });
}

const readyIsvc = {
  apiVersion: ISVC,
  kind: "InferenceService",
  metadata: { name: "stable-diffusion", namespace: "proj", labels },
  spec: { predictor: { model: { runtime: "diffusion-workbench" } } },
  status: {
    url: "https://stable-diffusion-proj.apps.example.com",
    address: { url: "http://stable-diffusion-predictor.proj.svc.cluster.local" },
    conditions: [{ type: "Ready", status: "True" }],
  },
};

beforeAll(async () => {
  requireBuiltCli();
  tmp = await mkdtemp(path.join(os.tmpdir(), "cluster-cli-"));
});
serverPerTest(() => new FakeApiServer().start(), (s) => (api = s));
beforeEach(async () => {
  kubeconfig = path.join(tmp, "kubeconfig");
  await writeFile(kubeconfig, api.kubeconfig("proj"));
});

describe("diffusion-workbench deploy runtime", () => {
  it("applies the ServingRuntime and the InferenceService, waits until Ready and prints the URL", async () => {
    api.onRead(ISVC, "InferenceService", "proj", "stable-diffusion", (obj) => {
      obj.status = readyIsvc.status;
    });
    const r = await run(["deploy", "runtime", "--image", "quay.io/org/diffusion-workbench-runtime:0.1.0", "--wait", "--timeout", "5"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("https://stable-diffusion-proj.apps.example.com\n");
    expect(r.stderr).toContain("ServingRuntime/diffusion-workbench applied in proj\nInferenceService/stable-diffusion applied in proj\n");
    expect(r.stderr).toMatch(/\d+s InferenceService\/stable-diffusion: Ready=True\n/);
    expect(api.calls().map((c) => `${c.method} ${c.path} ${JSON.stringify(c.query)} ${c.contentType ?? ""}`)).toEqual([
      'PATCH /apis/serving.kserve.io/v1alpha1/namespaces/proj/servingruntimes/diffusion-workbench {"fieldManager":"diffusion-workbench"} application/apply-patch+yaml',
      'PATCH /apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/stable-diffusion {"fieldManager":"diffusion-workbench"} application/apply-patch+yaml',
      "GET /apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/stable-diffusion {} ",
      "GET /apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/stable-diffusion {} ",
    ]);
    const isvc = api.calls()[1].body as typeof readyIsvc & { spec: { predictor: { model: { runtime: string; env: { name: string; value: string }[] } } } };
    expect(isvc.metadata.labels).toMatchObject(labels);
    expect(isvc.spec.predictor.model.runtime).toBe("diffusion-workbench");
    expect(isvc.spec.predictor.model.env).toContainEqual({ name: "MODEL_ID", value: "shapes" });
  });

  it("deploys a model from a PVC into an existing ServingRuntime when no image is given, and refuses when there is none", async () => {
    let r = await run(["deploy", "runtime", "--model", "pvc://models/sd-turbo", "-n", "team"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: --image: ServingRuntime "diffusion-workbench" does not exist in namespace "team": give the runtime image to create it (allowed: registry/repository:tag (or env RUNTIME_IMAGE))\n',
    );
    api.put({ apiVersion: "serving.kserve.io/v1alpha1", kind: "ServingRuntime", metadata: { name: "diffusion-workbench", namespace: "team" } });
    r = await run(["deploy", "runtime", "--model", "pvc://models/sd-turbo", "-n", "team", "--name", "turbo", "--force"]);
    expect(r.code, r.stderr).toBe(0);
    const patches = api.calls().filter((c) => c.method === "PATCH");
    expect(patches.map((c) => [c.path, c.query])).toEqual([
      ["/apis/serving.kserve.io/v1beta1/namespaces/team/inferenceservices/turbo", { fieldManager: "diffusion-workbench", force: "true" }],
    ]);
    expect((patches[0].body as { spec: { predictor: { model: { storageUri: string } } } }).spec.predictor.model.storageUri).toBe("pvc://models/sd-turbo");
  });

  it("rejects a model location it cannot read, listing the forms, before talking to the cluster", async () => {
    const r = await run(["deploy", "runtime", "--model", "ftp://x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: --model: 'ftp://x' is not a model location (allowed: tiny, s3://<bucket>/<path>, pvc://<claim>/<path>, <owner>/<name> (a Hugging Face Hub id))\n");
    expect(api.requests).toEqual([]);
  });

  it("names the missing permission when the service account may not create InferenceServices", async () => {
    api.put({ apiVersion: "serving.kserve.io/v1alpha1", kind: "ServingRuntime", metadata: { name: "diffusion-workbench", namespace: "proj" } });
    api.failNext("PATCH", "/apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/stable-diffusion", 403, forbiddenBody({
      user: "system:serviceaccount:proj:my-workbench", verb: "patch", plural: "inferenceservices", group: "serving.kserve.io", namespace: "proj", name: "stable-diffusion",
    }));
    const r = await run(["deploy", "runtime"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: InferenceService "stable-diffusion" in namespace "proj": forbidden: the service account "system:serviceaccount:proj:my-workbench" cannot patch resource "inferenceservices" in API group "serving.kserve.io" in namespace "proj"',
    );
    expect(r.stderr).toContain('verbs: ["patch"]');
  });
});

describe("diffusion-workbench deploy mcp, status, url, undeploy", () => {
  it("deploys the MCP server against the runtime's in-cluster address, with a Route host in the runtime's apps domain", async () => {
    api.put(readyIsvc);
    const r = await run(["deploy", "mcp", "--image", "quay.io/org/diffusion-workbench-mcp:0.1.0"]);
    expect(r.code, r.stderr).toBe(0);
    expect(api.calls().map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/stable-diffusion",
      "PATCH /api/v1/namespaces/proj/services/diffusion-mcp",
      "PATCH /apis/apps/v1/namespaces/proj/deployments/diffusion-mcp",
      "PATCH /apis/route.openshift.io/v1/namespaces/proj/routes/diffusion-mcp",
    ]);
    const route = api.get("route.openshift.io/v1", "Route", "proj", "diffusion-mcp");
    expect(route?.spec.host).toBe("diffusion-mcp-proj.apps.example.com");
    expect(JSON.stringify(api.get("apps/v1", "Deployment", "proj", "diffusion-mcp"))).toContain("http://stable-diffusion-predictor.proj.svc.cluster.local");
  });

  it("shows what is deployed with readiness and URLs, as a table and as JSON, and prints URLs", async () => {
    api.put(readyIsvc);
    api.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "diffusion-mcp", namespace: "proj", labels, generation: 1 }, spec: { replicas: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0, conditions: [{ type: "Available", status: "False", reason: "MinimumReplicasUnavailable" }] } });
    api.put({ apiVersion: "route.openshift.io/v1", kind: "Route", metadata: { name: "diffusion-mcp", namespace: "proj", labels }, spec: { host: "diffusion-mcp-proj.apps.example.com", tls: { termination: "edge" } } });
    let r = await run(["status"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        "namespace proj",
        "KIND              NAME              READY  URL                                             STATE",
        "InferenceService  stable-diffusion  yes    https://stable-diffusion-proj.apps.example.com  Ready=True",
        "Deployment        diffusion-mcp     no     -                                               0/1 replicas available, 1 updated; Available=False (MinimumReplicasUnavailable)",
        "Route             diffusion-mcp     -      https://diffusion-mcp-proj.apps.example.com     -",
        "",
      ].join("\n"),
    );
    r = await run(["status", "--json"]);
    expect(JSON.parse(r.stdout).objects[0]).toEqual({
      kind: "InferenceService",
      name: "stable-diffusion",
      namespace: "proj",
      ready: true,
      state: "Ready=True",
      url: "https://stable-diffusion-proj.apps.example.com",
      internalUrl: "http://stable-diffusion-predictor.proj.svc.cluster.local",
    });
    expect((await run(["url", "runtime"])).stdout).toBe("https://stable-diffusion-proj.apps.example.com\n");
    expect((await run(["url", "mcp"])).stdout).toBe("https://diffusion-mcp-proj.apps.example.com/mcp\n");
  });

  it("undeploys the runtime with its ServingRuntime, and reports MCP objects already gone", async () => {
    api.put(readyIsvc);
    api.put({ apiVersion: "serving.kserve.io/v1alpha1", kind: "ServingRuntime", metadata: { name: "diffusion-workbench", namespace: "proj", labels } });
    let r = await run(["undeploy", "runtime"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("InferenceService/stable-diffusion deleted\nServingRuntime/diffusion-workbench deleted\n");
    expect(api.calls().map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices",
      "DELETE /apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/stable-diffusion",
      "DELETE /apis/serving.kserve.io/v1alpha1/namespaces/proj/servingruntimes/diffusion-workbench",
    ]);
    r = await run(["undeploy", "mcp"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("Route/diffusion-mcp was already gone\nDeployment/diffusion-mcp was already gone\nService/diffusion-mcp was already gone\n");
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deployedObjects, describeDeployed } from "../../lib/cluster/status.js";
import { FakeApiServer, forbiddenBody } from "./fake-apiserver.js";

let api: FakeApiServer;
beforeEach(async () => {
  api = await new FakeApiServer().start();
});
afterEach(async () => {
  await api.close();
});

const labels = { "app.kubernetes.io/managed-by": "diffusion-workbench" };

describe("deployedObjects", () => {
  it("lists every managed kind the cluster serves and describes readiness, failures and URLs", async () => {
    api.put({
      apiVersion: "serving.kserve.io/v1beta1",
      kind: "InferenceService",
      metadata: { name: "sd", namespace: "proj", labels },
      status: { modelStatus: { states: { activeModelState: "FailedToLoad" }, lastFailureInfo: { reason: "ModelLoadFailed", message: "no model_index.json" } } },
    });
    api.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "aws-connection-models", namespace: "proj", labels } });
    api.put({
      apiVersion: "datasciencepipelinesapplications.opendatahub.io/v1",
      kind: "DataSciencePipelinesApplication",
      metadata: { name: "dspa", namespace: "proj", labels },
      status: { conditions: [{ type: "Ready", status: "True" }], components: { apiServer: { url: "https://ds-pipeline-dspa.proj.svc:8443", externalUrl: "https://ds-pipeline-dspa-proj.apps.example.com" } } },
    });
    expect(await deployedObjects(api.config("proj"))).toEqual([
      { kind: "InferenceService", name: "sd", namespace: "proj", ready: false, state: 'failed: InferenceService "sd" in namespace "proj": the model failed to load: ModelLoadFailed: no model_index.json' },
      { kind: "Secret", name: "aws-connection-models", namespace: "proj", state: "-" },
      { kind: "DataSciencePipelinesApplication", name: "dspa", namespace: "proj", ready: true, state: "Ready=True", url: "https://ds-pipeline-dspa-proj.apps.example.com", internalUrl: "https://ds-pipeline-dspa.proj.svc:8443" },
    ]);
    expect(api.calls().map((r) => r.path)).toEqual([
      "/apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices",
      "/apis/serving.kserve.io/v1alpha1/namespaces/proj/servingruntimes",
      "/apis/apps/v1/namespaces/proj/deployments",
      "/api/v1/namespaces/proj/services",
      "/apis/route.openshift.io/v1/namespaces/proj/routes",
      "/api/v1/namespaces/proj/secrets",
      "/api/v1/namespaces/proj/persistentvolumeclaims",
      "/apis/batch/v1/namespaces/proj/jobs",
      "/apis/datasciencepipelinesapplications.opendatahub.io/v1/namespaces/proj/datasciencepipelinesapplications",
      "/apis/kubeflow.org/v1/namespaces/proj/notebooks",
    ]);
  });

  it("skips a kind it may not list when asked to, reporting the missing permission", async () => {
    api.failNext("GET", "/api/v1/namespaces/proj/secrets", 403, forbiddenBody({ user: "system:serviceaccount:proj:wb", verb: "list", plural: "secrets", group: "", namespace: "proj" }));
    const forbidden: string[] = [];
    await expect(deployedObjects(api.config("proj"), { onForbidden: (e) => forbidden.push(`${e.missingPermission?.verb} ${e.missingPermission?.resource}`) })).resolves.toEqual([]);
    expect(forbidden).toEqual(["list secrets"]);
    api.failNext("GET", "/api/v1/namespaces/proj/secrets", 403, forbiddenBody({ user: "system:serviceaccount:proj:wb", verb: "list", plural: "secrets", group: "", namespace: "proj" }));
    await expect(deployedObjects(api.config("proj"))).rejects.toThrow('cannot list resource "secrets" in API group "" in namespace "proj"');
  });

  it("reports a Job still running as not ready", () => {
    expect(describeDeployed({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "train", namespace: "proj" }, status: { active: 1 } } as never)).toEqual({
      kind: "Job",
      name: "train",
      namespace: "proj",
      ready: false,
      state: "1 active, 0 succeeded, 0 failed",
    });
  });
});

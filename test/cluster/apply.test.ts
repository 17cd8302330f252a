import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { applyObjects, parseObjects, sortForApply } from "../../lib/cluster/apply.js";
import { ClusterError } from "../../lib/cluster/errors.js";
import { InvalidInputError } from "../../lib/errors.js";
import { serverPerTest } from "../helpers/server-per-test.js";
import { FakeApiServer, forbiddenBody, statusBody } from "./fake-apiserver.js";

let api: FakeApiServer;
serverPerTest(() => new FakeApiServer().start(), (s) => (api = s));

const labels = { "app.kubernetes.io/managed-by": "diffusion-workbench", "app.kubernetes.io/part-of": "diffusion-workbench" };
const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "aws-connection-models", labels }, type: "Opaque", stringData: { AWS_S3_BUCKET: "models" } };
const isvc = {
  apiVersion: "serving.kserve.io/v1beta1",
  kind: "InferenceService",
  metadata: { name: "sd", labels },
  spec: { predictor: { model: { runtime: "diffusion-workbench", modelFormat: { name: "diffusers-onnx" } } } },
};

describe("applyObjects", () => {
  it("sends one server-side apply PATCH per object to the plural's path, with the apply content type, field manager and token, in dependency order", async () => {
    const cluster = api.config("proj");
    const applied = await applyObjects(cluster, [isvc, secret]);
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /api/v1",
      "PATCH /api/v1/namespaces/proj/secrets/aws-connection-models",
      "GET /apis/serving.kserve.io/v1beta1",
      "PATCH /apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/sd",
    ]);
    const [patchSecret, patchIsvc] = api.calls();
    expect(patchSecret).toEqual({
      method: "PATCH",
      path: "/api/v1/namespaces/proj/secrets/aws-connection-models",
      query: { fieldManager: "diffusion-workbench" },
      contentType: "application/apply-patch+yaml",
      authorization: "Bearer test-token",
      body: { ...secret, metadata: { ...secret.metadata, namespace: "proj" } },
    });
    expect(patchIsvc.body).toEqual({ ...isvc, metadata: { ...isvc.metadata, namespace: "proj" } });
    expect(patchIsvc.query).toEqual({ fieldManager: "diffusion-workbench" });
    expect(applied.map((o) => `${o.kind}/${o.metadata?.name}/${o.metadata?.namespace}`)).toEqual(["Secret/aws-connection-models/proj", "InferenceService/sd/proj"]);
    expect(api.get("serving.kserve.io/v1beta1", "InferenceService", "proj", "sd")?.spec).toEqual(isvc.spec);
  });

  it("passes force, dry run, another field manager and the namespace option, and keeps a namespace the object names", async () => {
    await applyObjects(api.config("proj"), [isvc, { ...secret, metadata: { ...secret.metadata, namespace: "other" } }], {
      namespace: "team",
      force: true,
      dryRun: true,
      fieldManager: "me",
    });
    expect(api.calls().map((r) => [r.path, r.query])).toEqual([
      ["/api/v1/namespaces/other/secrets/aws-connection-models", { dryRun: "All", fieldManager: "me", force: "true" }],
      ["/apis/serving.kserve.io/v1beta1/namespaces/team/inferenceservices/sd", { dryRun: "All", fieldManager: "me", force: "true" }],
    ]);
    expect(api.get("v1", "Secret", "other", "aws-connection-models")).toBeUndefined();
  });

  it("applies every document of a multi-document YAML text, a List's items included, and leaves cluster-scoped kinds without a namespace", async () => {
    const yaml = [
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: mcp\nspec:\n  replicas: 1",
      "",
      "# only a comment",
      "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Service\n    metadata:\n      name: mcp\n    spec:\n      ports:\n        - port: 8080",
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: proj",
    ].join("\n---\n");
    expect(parseObjects(yaml).map((o) => o.kind)).toEqual(["Deployment", "Service", "Namespace"]);
    await applyObjects(api.config("proj"), yaml);
    expect(api.calls().map((r) => `${r.method} ${r.path}`)).toEqual([
      "PATCH /api/v1/namespaces/proj",
      "PATCH /api/v1/namespaces/proj/services/mcp",
      "PATCH /apis/apps/v1/namespaces/proj/deployments/mcp",
    ]);
    expect(api.calls()[0].body).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: "proj" } });
  });

  it("orders dependencies first and keeps the given order within a kind", () => {
    const kinds = ["Route", "InferenceService", "Deployment", "Widget", "Secret", "ServingRuntime", "PersistentVolumeClaim", "Namespace", "Service"];
    expect(sortForApply(kinds.map((kind, i) => ({ kind, metadata: { name: `n${i}` } }))).map((o) => o.kind)).toEqual([
      "Namespace", "Secret", "PersistentVolumeClaim", "ServingRuntime", "Service", "Deployment", "InferenceService", "Route", "Widget",
    ]);
  });

  it("rejects an object without a name, naming the field, before sending anything", async () => {
    await expect(applyObjects(api.config(), [{ apiVersion: "v1", kind: "Secret", metadata: {} }])).rejects.toThrow(InvalidInputError);
    await expect(applyObjects(api.config(), [{ apiVersion: "v1", kind: "Secret", metadata: {} }])).rejects.toThrow("objects[0].metadata.name: is missing (Secret)");
    expect(api.requests).toEqual([]);
  });

  it("says which verb on which resource the service account lacks when the API answers 403, with the Role rule to add", async () => {
    const path = "/apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/sd";
    api.failNext("PATCH", path, 403, forbiddenBody({ user: "system:serviceaccount:proj:wb", verb: "patch", plural: "inferenceservices", group: "serving.kserve.io", namespace: "proj", name: "sd" }));
    const err = await applyObjects(api.config("proj"), [isvc]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).message).toBe(
      'InferenceService "sd" in namespace "proj": forbidden: the service account "system:serviceaccount:proj:wb" cannot patch resource "inferenceservices" in API group "serving.kserve.io" in namespace "proj"; ' +
        'the Role bound to it needs the rule:\n- apiGroups: ["serving.kserve.io"]\n  resources: ["inferenceservices"]\n  verbs: ["patch"]',
    );
    expect((err as ClusterError).missingPermission).toEqual({ verb: "patch", resource: "inferenceservices", group: "serving.kserve.io", namespace: "proj", user: "system:serviceaccount:proj:wb" });
    expect((err as ClusterError).status).toBe(403);
  });

  it("falls back to the Status details and its own request for a 403 whose message has no authorizer text", async () => {
    api.failNext("PATCH", "/api/v1/namespaces/proj/secrets/aws-connection-models", 403, statusBody(403, "Forbidden", "access denied", { name: "aws-connection-models", group: "", kind: "secrets" }));
    await expect(applyObjects(api.config("proj"), [secret])).rejects.toThrow(
      'Secret "aws-connection-models" in namespace "proj": forbidden: you cannot patch resource "secrets" in API group "" in namespace "proj"',
    );
  });

  it("tells to use --force when another field manager owns a field (409 conflict)", async () => {
    const path = "/apis/apps/v1/namespaces/proj/deployments/mcp";
    api.failNext("PATCH", path, 409, statusBody(409, "Conflict", 'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas', {
      causes: [{ reason: "FieldManagerConflict", message: 'conflict with "kubectl-edit" using apps/v1', field: ".spec.replicas" }],
    }));
    const err = await applyObjects(api.config("proj"), [{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "mcp" }, spec: { replicas: 2 } } as KubernetesObject]).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'Deployment "mcp" in namespace "proj": apply conflict: Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas (fields: .spec.replicas); ' +
        "another tool manages these fields: run again with --force (force: true) to take them over",
    );
    expect((err as ClusterError).reason).toBe("Conflict");
  });

  it("says the cluster does not serve a group/version whose operator is missing", async () => {
    await expect(applyObjects(api.config("proj"), [{ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } }])).rejects.toThrow(
      'Widget "w" in namespace "proj": the cluster does not serve example.com/v1 (is the operator that provides Widget installed?)',
    );
    await expect(applyObjects(api.config("proj"), [{ apiVersion: "apps/v1", kind: "Gadget", metadata: { name: "g" } }])).rejects.toThrow(
      'Gadget "g" in namespace "proj": the cluster serves apps/v1 but has no kind Gadget in it',
    );
  });

  it("names the object and the API's message for other failures (422 Invalid)", async () => {
    api.failNext("PATCH", "/api/v1/namespaces/proj/secrets/aws-connection-models", 422, statusBody(422, "Invalid", 'Secret "aws-connection-models" is invalid: data[AWS S3]: Invalid value'));
    await expect(applyObjects(api.config("proj"), [secret])).rejects.toThrow(
      'Secret "aws-connection-models" in namespace "proj": patch failed with HTTP 422 Invalid: Secret "aws-connection-models" is invalid: data[AWS S3]: Invalid value',
    );
  });

  it("says it cannot reach the API server when nothing listens there", async () => {
    const cluster = api.config("proj");
    await api.close();
    const err = await applyObjects(cluster, [secret]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).status).toBe(0);
    expect((err as Error).message).toMatch(/^Secret "aws-connection-models" in namespace "proj": cannot reach the Kubernetes API server: .*ECONNREFUSED/);
  });
});

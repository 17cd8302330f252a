import { describe, expect, it } from "vitest";
import { deleteObjects, listManaged } from "../../lib/cluster/delete.js";
import { ClusterError } from "../../lib/cluster/errors.js";
import { serverPerTest } from "../helpers/server-per-test.js";
import { FakeApiServer, forbiddenBody } from "./fake-apiserver.js";

let api: FakeApiServer;
serverPerTest(() => new FakeApiServer().start(), (s) => (api = s));

const labels = { "app.kubernetes.io/managed-by": "diffusion-workbench", "app.kubernetes.io/part-of": "diffusion-workbench" };

describe("deleteObjects", () => {
  it("deletes users before what they use, in the background, and counts an object already gone as done", async () => {
    api.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "mcp", namespace: "proj", uid: "u1" } });
    const results = await deleteObjects(api.config("proj"), [
      { apiVersion: "v1", kind: "Service", metadata: { name: "mcp" } },
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "mcp" } },
    ]);
    expect(results).toEqual([
      { object: { apiVersion: "apps/v1", kind: "Deployment", name: "mcp", namespace: "proj" }, deleted: true },
      { object: { apiVersion: "v1", kind: "Service", name: "mcp", namespace: "proj" }, deleted: false },
    ]);
    expect(api.calls().map((r) => [r.method, r.path, r.query])).toEqual([
      ["DELETE", "/apis/apps/v1/namespaces/proj/deployments/mcp", { propagationPolicy: "Background" }],
      ["DELETE", "/api/v1/namespaces/proj/services/mcp", { propagationPolicy: "Background" }],
    ]);
    expect(api.get("apps/v1", "Deployment", "proj", "mcp")).toBeUndefined();
  });

  it("skips kinds the cluster no longer serves and fails on a 403 with the missing delete permission", async () => {
    await expect(deleteObjects(api.config("proj"), [{ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } }])).resolves.toEqual([
      { object: { apiVersion: "example.com/v1", kind: "Widget", name: "w" }, deleted: false },
    ]);
    api.put({ apiVersion: "route.openshift.io/v1", kind: "Route", metadata: { name: "mcp", namespace: "proj" } });
    api.failNext("DELETE", "/apis/route.openshift.io/v1/namespaces/proj/routes/mcp", 403, forbiddenBody({ user: "system:serviceaccount:proj:wb", verb: "delete", plural: "routes", group: "route.openshift.io", namespace: "proj", name: "mcp" }));
    const err = await deleteObjects(api.config("proj"), [{ apiVersion: "route.openshift.io/v1", kind: "Route", metadata: { name: "mcp" } }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).missingPermission).toMatchObject({ verb: "delete", resource: "routes", group: "route.openshift.io" });
  });
});

describe("listManaged", () => {
  it("lists the objects carrying the managed-by label, with their kind, by label selector", async () => {
    api.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "mcp", namespace: "proj", labels } });
    api.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "theirs", namespace: "proj", labels: { app: "x" } } });
    api.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "elsewhere", namespace: "other", labels } });
    const found = await listManaged(api.config("proj"), { kinds: [{ apiVersion: "apps/v1", kind: "Deployment" }, { apiVersion: "example.com/v1", kind: "Widget" }] });
    expect(found.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata?.name}`)).toEqual(["apps/v1 Deployment mcp"]);
    expect(api.calls().map((r) => [r.method, r.path, r.query])).toEqual([
      ["GET", "/apis/apps/v1/namespaces/proj/deployments", { labelSelector: "app.kubernetes.io/managed-by=diffusion-workbench" }],
    ]);
  });
});

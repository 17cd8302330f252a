import { describe, expect, it } from "vitest";
import { jobLogs, podLogs } from "../../lib/cluster/logs.js";
import { serverPerTest } from "../helpers/server-per-test.js";
import { FakeApiServer, forbiddenBody } from "./fake-apiserver.js";

let api: FakeApiServer;
serverPerTest(() => new FakeApiServer().start(), (s) => (api = s));

describe("pod logs", () => {
  it("reads a pod container's last lines", async () => {
    api.put({ apiVersion: "v1", kind: "Pod", metadata: { name: "sd-predictor-abc", namespace: "proj" } });
    api.setLog("proj", "sd-predictor-abc", "loading\nloaded shapes\nlistening on 8080\n", "kserve-container");
    await expect(podLogs(api.config("proj"), "sd-predictor-abc", { container: "kserve-container", tailLines: 2 })).resolves.toBe("loaded shapes\nlistening on 8080\n");
    expect(api.calls()).toEqual([
      {
        method: "GET",
        path: "/api/v1/namespaces/proj/pods/sd-predictor-abc/log",
        query: { container: "kserve-container", tailLines: "2" },
        authorization: "Bearer test-token",
      },
    ]);
  });

  it("reads the newest pod of a Job, found by its job-name label", async () => {
    api.put({ apiVersion: "v1", kind: "Pod", metadata: { name: "train-old", namespace: "proj", labels: { "job-name": "train" }, creationTimestamp: "2026-01-01T00:00:00Z" } });
    api.put({ apiVersion: "v1", kind: "Pod", metadata: { name: "train-new", namespace: "proj", labels: { "job-name": "train" }, creationTimestamp: "2026-01-01T00:05:00Z" } });
    api.put({ apiVersion: "v1", kind: "Pod", metadata: { name: "other", namespace: "proj", labels: { "job-name": "other" }, creationTimestamp: "2026-01-01T00:09:00Z" } });
    api.setLog("proj", "train-new", "step 10/10\n");
    await expect(jobLogs(api.config("proj"), "train")).resolves.toBe("step 10/10\n");
    expect(api.calls().map((r) => [r.path, r.query])).toEqual([
      ["/api/v1/namespaces/proj/pods", { labelSelector: "job-name=train" }],
      ["/api/v1/namespaces/proj/pods/train-new/log", {}],
    ]);
  });

  it("says when a Job has no pods, and names the missing permission for pods/log", async () => {
    await expect(jobLogs(api.config("proj"), "train")).rejects.toThrow('Job "train" in namespace "proj" has no pods (not started yet, or cleaned up)');
    api.failNext("GET", "/api/v1/namespaces/proj/pods/p/log", 403, forbiddenBody({ user: "system:serviceaccount:proj:wb", verb: "get", plural: "pods/log", group: "", namespace: "proj", name: "p" }));
    await expect(podLogs(api.config("proj"), "p")).rejects.toThrow('cannot get resource "pods/log" in API group "" in namespace "proj"');
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClusterConditionFailedError, ClusterError, ClusterTimeoutError } from "../../lib/cluster/errors.js";
import { deploymentAvailable, dspaReady, inferenceServiceReady, jobComplete, waitFor, type WaitProgress } from "../../lib/cluster/wait.js";
import { CancelledError } from "../../lib/errors.js";
import { FakeApiServer, forbiddenBody } from "./fake-apiserver.js";

let api: FakeApiServer;
beforeEach(async () => {
  api = await new FakeApiServer().start();
});
afterEach(async () => {
  await api.close();
});

const ISVC = "serving.kserve.io/v1beta1";
const notReady = { conditions: [{ type: "PredictorReady", status: "False", reason: "MinimumReplicasUnavailable", message: "0/1 replicas available" }, { type: "Ready", status: "False", reason: "MinimumReplicasUnavailable" }] };
const ready = { url: "https://sd-proj.apps.example.com", address: { url: "http://sd-predictor.proj.svc.cluster.local" }, conditions: [{ type: "PredictorReady", status: "True" }, { type: "Ready", status: "True" }] };

describe("waitFor", () => {
  it("polls the object with GETs until the InferenceService is Ready, reporting each state seen", async () => {
    api.put({ apiVersion: ISVC, kind: "InferenceService", metadata: { name: "sd", namespace: "proj" }, spec: {} });
    api.onRead(ISVC, "InferenceService", "proj", "sd", (obj, n) => {
      obj.status = n < 3 ? notReady : ready;
    });
    const seen: WaitProgress[] = [];
    const obj = await waitFor(api.config("proj"), { apiVersion: ISVC, kind: "InferenceService", name: "sd" }, inferenceServiceReady, {
      intervalMs: 10,
      timeoutMs: 5000,
      onProgress: (p) => seen.push(p),
    });
    expect((obj as { status?: unknown }).status).toEqual(ready);
    expect(seen.map((p) => p.status)).toEqual([
      "Ready=False (MinimumReplicasUnavailable); PredictorReady=False (MinimumReplicasUnavailable: 0/1 replicas available)",
      "Ready=False (MinimumReplicasUnavailable); PredictorReady=False (MinimumReplicasUnavailable: 0/1 replicas available)",
      "Ready=True",
    ]);
    expect(api.calls()).toEqual(
      Array.from({ length: 3 }, () => ({
        method: "GET",
        path: "/apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/sd",
        query: {},
        authorization: "Bearer test-token",
      })),
    );
  });

  it("times out with a message naming the object, the namespace, the condition and the last state seen", async () => {
    api.put({ apiVersion: ISVC, kind: "InferenceService", metadata: { name: "sd", namespace: "proj" }, status: notReady });
    const err = await waitFor(api.config("proj"), { apiVersion: ISVC, kind: "InferenceService", name: "sd" }, inferenceServiceReady, { intervalMs: 20, timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterTimeoutError);
    expect((err as Error).message).toBe(
      'timed out after 100 ms waiting for InferenceService "sd" in namespace "proj" (Ready condition True); last seen: ' +
        "Ready=False (MinimumReplicasUnavailable); PredictorReady=False (MinimumReplicasUnavailable: 0/1 replicas available)",
    );
    expect((err as ClusterTimeoutError).object).toEqual({ apiVersion: ISVC, kind: "InferenceService", name: "sd", namespace: "proj" });
    expect(api.calls().length).toBeGreaterThanOrEqual(2);
  });

  it("treats a 404 as not created yet and keeps waiting, and says so on timeout", async () => {
    await expect(waitFor(api.config("proj"), { apiVersion: "apps/v1", kind: "Deployment", name: "mcp" }, deploymentAvailable, { intervalMs: 10, timeoutMs: 50 })).rejects.toThrow(
      'timed out after 50 ms waiting for Deployment "mcp" in namespace "proj" (Available with all replicas updated); last seen: not found (not created yet)',
    );
  });

  it("waits for a Deployment to see its latest spec and have every replica updated and available", async () => {
    api.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "mcp", namespace: "proj", generation: 2 }, spec: { replicas: 2 } });
    const states = [
      { observedGeneration: 1, availableReplicas: 2, updatedReplicas: 0, conditions: [{ type: "Available", status: "True" }] },
      { observedGeneration: 2, availableReplicas: 1, updatedReplicas: 1, conditions: [{ type: "Available", status: "False", reason: "MinimumReplicasUnavailable" }] },
      { observedGeneration: 2, availableReplicas: 2, updatedReplicas: 2, conditions: [{ type: "Available", status: "True" }] },
    ];
    api.onRead("apps/v1", "Deployment", "proj", "mcp", (obj, n) => {
      obj.status = states[n - 1];
    });
    const seen: string[] = [];
    await waitFor(api.config("proj"), { apiVersion: "apps/v1", kind: "Deployment", name: "mcp" }, deploymentAvailable, { intervalMs: 5, onProgress: (p) => seen.push(p.status) });
    expect(seen).toEqual([
      "the controller has not seen the latest spec yet",
      "1/2 replicas available, 1 updated; Available=False (MinimumReplicasUnavailable)",
      "2/2 replicas available, 2 updated",
    ]);
  });

  it("fails at once, with the Job's reason, when the Job failed", async () => {
    api.put({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "train", namespace: "proj" },
      status: { failed: 3, conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }] },
    });
    const err = await waitFor(api.config("proj"), { apiVersion: "batch/v1", kind: "Job", name: "train" }, jobComplete, { intervalMs: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterConditionFailedError);
    expect((err as Error).message).toBe('Job "train" in namespace "proj" failed: BackoffLimitExceeded: Job has reached the specified backoff limit');
    expect((err as ClusterConditionFailedError).reason).toBe("BackoffLimitExceeded");
    expect(api.calls()).toHaveLength(1);
  });

  it("returns a complete Job and a ready DSPA", async () => {
    api.put({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "train", namespace: "proj" }, status: { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] } });
    await expect(waitFor(api.config("proj"), { apiVersion: "batch/v1", kind: "Job", name: "train" }, jobComplete)).resolves.toMatchObject({ status: { succeeded: 1 } });
    const DSPA = "datasciencepipelinesapplications.opendatahub.io/v1";
    api.put({ apiVersion: DSPA, kind: "DataSciencePipelinesApplication", metadata: { name: "dspa", namespace: "proj" }, status: { conditions: [{ type: "APIServerReady", status: "False", reason: "Deploying" }, { type: "Ready", status: "False" }] } });
    api.onRead(DSPA, "DataSciencePipelinesApplication", "proj", "dspa", (obj, n) => {
      if (n === 2) obj.status = { conditions: [{ type: "APIServerReady", status: "True" }, { type: "Ready", status: "True" }] };
    });
    const seen: string[] = [];
    await waitFor(api.config("proj"), { apiVersion: DSPA, kind: "DataSciencePipelinesApplication", name: "dspa" }, dspaReady, { intervalMs: 5, onProgress: (p) => seen.push(p.status) });
    expect(seen).toEqual(["Ready=False; APIServerReady=False (Deploying)", "Ready=True"]);
  });

  it("fails a wait for an InferenceService whose model failed to load", async () => {
    api.put({
      apiVersion: ISVC,
      kind: "InferenceService",
      metadata: { name: "sd", namespace: "proj" },
      status: { modelStatus: { transitionStatus: "BlockedByFailedLoad", states: { activeModelState: "FailedToLoad" }, lastFailureInfo: { reason: "ModelLoadFailed", message: "model_index.json not found" } } },
    });
    await expect(waitFor(api.config("proj"), { apiVersion: ISVC, kind: "InferenceService", name: "sd" }, inferenceServiceReady)).rejects.toThrow(
      'InferenceService "sd" in namespace "proj": the model failed to load: ModelLoadFailed: model_index.json not found',
    );
  });

  it("ends the wait on other API errors, such as a missing get permission", async () => {
    api.failNext("GET", "/apis/apps/v1/namespaces/proj/deployments/mcp", 403, forbiddenBody({ user: "system:serviceaccount:proj:wb", verb: "get", plural: "deployments", group: "apps", namespace: "proj", name: "mcp" }));
    const err = await waitFor(api.config("proj"), { apiVersion: "apps/v1", kind: "Deployment", name: "mcp" }, deploymentAvailable).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as Error).message).toContain('cannot get resource "deployments" in API group "apps" in namespace "proj"');
  });

  it("stops when the signal aborts", async () => {
    api.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "mcp", namespace: "proj" } });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error("user pressed ctrl-c")), 30);
    await expect(waitFor(api.config("proj"), { apiVersion: "apps/v1", kind: "Deployment", name: "mcp" }, deploymentAvailable, { intervalMs: 10, signal: ctl.signal })).rejects.toThrow(CancelledError);
  });
});

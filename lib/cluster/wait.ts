/**
 * Waiting until an object reaches a condition (an InferenceService Ready, a Deployment available,
 * a Job complete, a pipeline server ready), with a timeout, progress reports and cancellation.
 *
 * Polling GETs rather than a watch: a watch is a long-lived request that proxies and the OpenShift
 * router cut, that must be re-established with a resourceVersion (and handle 410 Gone), and needs
 * the `watch` verb in the Role; a GET every couple of seconds for one object costs the API server
 * nothing, needs only `get`, and makes the timeout and the progress reports trivially right.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { KubernetesObject } from "@kubernetes/client-node";
import { CancelledError, throwIfCancelled } from "../errors.js";
import { refOf, withNamespace } from "./apply.js";
import { clientsFor } from "./clients.js";
import type { ClusterConfig } from "./config.js";
import { callApi, ClusterConditionFailedError, ClusterError, ClusterTimeoutError, describeRef, type ObjectRef } from "./errors.js";

/** What a condition says about one state of the object. */
export interface ConditionResult {
  done: boolean;
  /** The state in words, for progress reports and the timeout message. */
  status: string;
}

/** A condition to wait for; `check` throws ClusterConditionFailedError when the object can no longer get there. */
export interface WaitCondition {
  /** What is awaited, e.g. "Ready condition True". */
  description: string;
  check(obj: KubernetesObject): ConditionResult;
}

export interface WaitProgress {
  elapsedMs: number;
  status: string;
  object?: KubernetesObject;
}

export interface WaitOptions {
  /** Default 10 minutes: a first pull of a runtime image and a model load take that long. */
  timeoutMs?: number;
  /** Time between GETs (default 2 s). */
  intervalMs?: number;
  /** Called after each GET with the state seen. */
  onProgress?: (p: WaitProgress) => void;
  signal?: AbortSignal;
  /** Namespace when the object names none (default: the config's). */
  namespace?: string;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 600_000;
export const DEFAULT_WAIT_INTERVAL_MS = 2_000;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

type WithStatus = KubernetesObject & { status?: Record<string, any>; spec?: Record<string, any> };

/** The status condition of a type, if the object has it. */
export function findCondition(obj: KubernetesObject, type: string): Condition | undefined {
  const conditions = (obj as WithStatus).status?.conditions;
  return Array.isArray(conditions) ? (conditions as Condition[]).find((c) => c.type === type) : undefined;
}

function describeCondition(c: Condition | undefined, type: string): string {
  if (c === undefined) return `no ${type} condition yet`;
  const why = [c.reason, c.message].filter(Boolean).join(": ");
  return `${type}=${c.status}${why ? ` (${why})` : ""}`;
}

/** The other conditions that are not True, in words: they say what an operator is still waiting on. */
function pendingConditions(obj: KubernetesObject, except: string): string {
  const conditions = ((obj as WithStatus).status?.conditions ?? []) as Condition[];
  const pending = conditions.filter((c) => c.status !== "True" && c.type !== except);
  return pending.length === 0 ? "" : `; ${pending.map((c) => describeCondition(c, c.type)).join("; ")}`;
}

function readyCondition(description: string): WaitCondition {
  return {
    description,
    check(obj) {
      const ready = findCondition(obj, "Ready");
      if (ready?.status === "True") return { done: true, status: "Ready=True" };
      return { done: false, status: describeCondition(ready, "Ready") + pendingConditions(obj, "Ready") };
    },
  };
}

/** KServe InferenceService: the Ready condition; a model that failed to load fails the wait. */
export const inferenceServiceReady: WaitCondition = {
  description: "Ready condition True",
  check(obj) {
    const model = (obj as WithStatus).status?.modelStatus;
    if (model?.transitionStatus === "BlockedByFailedLoad" || model?.states?.activeModelState === "FailedToLoad") {
      const info = model.lastFailureInfo ?? {};
      const reason = String(info.reason ?? "ModelLoadFailed");
      throw new ClusterConditionFailedError(`${describeRef(refOf(obj))}: the model failed to load: ${reason}${info.message ? `: ${info.message}` : ""}`, refOf(obj), reason);
    }
    return readyCondition("Ready condition True").check(obj);
  },
};

/** Deployment: the controller saw the latest spec, all replicas are updated and it is Available. */
export const deploymentAvailable: WaitCondition = {
  description: "Available with all replicas updated",
  check(obj) {
    const d = obj as WithStatus;
    const progressing = findCondition(obj, "Progressing");
    if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
      throw new ClusterConditionFailedError(`${describeRef(refOf(obj))}: rollout failed: ProgressDeadlineExceeded${progressing.message ? `: ${progressing.message}` : ""}`, refOf(obj), "ProgressDeadlineExceeded");
    }
    const wanted = d.spec?.replicas ?? 1;
    const generation = obj.metadata?.generation;
    if (generation !== undefined && (d.status?.observedGeneration ?? 0) < generation) return { done: false, status: "the controller has not seen the latest spec yet" };
    const available = findCondition(obj, "Available");
    const updated = d.status?.updatedReplicas ?? 0;
    const ready = d.status?.availableReplicas ?? 0;
    const counts = `${ready}/${wanted} replicas available, ${updated} updated`;
    if (available?.status === "True" && updated >= wanted && ready >= wanted) return { done: true, status: counts };
    return { done: false, status: `${counts}; ${describeCondition(available, "Available")}` };
  },
};

/** Job: Complete; Failed (backoff limit, deadline) fails the wait with the Job's reason. */
export const jobComplete: WaitCondition = {
  description: "Complete condition True",
  check(obj) {
    const failed = findCondition(obj, "Failed");
    if (failed?.status === "True") {
      const reason = failed.reason ?? "Failed";
      throw new ClusterConditionFailedError(`${describeRef(refOf(obj))} failed: ${reason}${failed.message ? `: ${failed.message}` : ""}`, refOf(obj), reason);
    }
    if (findCondition(obj, "Complete")?.status === "True") return { done: true, status: "Complete=True" };
    const s = (obj as WithStatus).status ?? {};
    return { done: false, status: `${s.active ?? 0} active, ${s.succeeded ?? 0} succeeded, ${s.failed ?? 0} failed` };
  },
};

/** DataSciencePipelinesApplication: the operator's Ready condition (API server, persistence agent, ...). */
export const dspaReady: WaitCondition = readyCondition("Ready condition True");

/**
 * GET the object every `intervalMs` until `condition` holds; returns the object as last read.
 * A 404 counts as "not created yet" (an operator may create it); other API errors end the wait.
 */
export async function waitFor(cluster: ClusterConfig, target: ObjectRef | KubernetesObject, condition: WaitCondition, opts: WaitOptions = {}): Promise<KubernetesObject> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS;
  const start = Date.now();
  const header = await withNamespace(cluster, headerOf(target), opts.namespace ?? cluster.namespace, "get");
  const ref = refOf(header);
  const api = clientsFor(cluster).objects;
  let last = "not read yet";
  for (;;) {
    throwIfCancelled(opts.signal);
    let obj: KubernetesObject | undefined;
    try {
      obj = await callApi(ref, "get", () => api.read(header as KubernetesObject & { metadata: { name: string } }));
    } catch (err) {
      if (!(err instanceof ClusterError && err.status === 404)) throw err;
      last = "not found (not created yet)";
    }
    if (obj !== undefined) {
      const result = condition.check(obj);
      last = result.status;
      opts.onProgress?.({ elapsedMs: Date.now() - start, status: last, object: obj });
      if (result.done) return obj;
    } else {
      opts.onProgress?.({ elapsedMs: Date.now() - start, status: last });
    }
    const left = start + timeoutMs - Date.now();
    if (left <= 0) {
      throw new ClusterTimeoutError(
        `timed out after ${formatMs(timeoutMs)} waiting for ${describeRef(ref)} (${condition.description}); last seen: ${last}`,
        ref, timeoutMs, last,
      );
    }
    try {
      await sleep(Math.min(intervalMs, left), undefined, { signal: opts.signal });
    } catch {
      throw new CancelledError(opts.signal?.reason);
    }
  }
}

function headerOf(target: ObjectRef | KubernetesObject): KubernetesObject {
  if ("metadata" in target && target.metadata !== undefined) {
    return { apiVersion: target.apiVersion, kind: target.kind, metadata: { name: target.metadata.name, namespace: target.metadata.namespace } };
  }
  const r = target as ObjectRef;
  return { apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) } };
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

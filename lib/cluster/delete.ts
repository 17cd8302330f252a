/**
 * Removing what was applied (in reverse apply order, so users of a thing go before the thing) and
 * finding it again by the project's labels.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { refOf, sortForApply, withNamespace } from "./apply.js";
import { clientsFor } from "./clients.js";
import type { ClusterConfig } from "./config.js";
import { callApi, ClusterError, type ObjectRef } from "./errors.js";

/** The label every object this project creates carries (see lib/cluster/objects/meta.ts). */
export const MANAGED_SELECTOR = "app.kubernetes.io/managed-by=diffusion-workbench";

export interface DeleteResult {
  object: ObjectRef;
  /** false when it was already gone (404). */
  deleted: boolean;
}

export interface DeleteOptions {
  namespace?: string;
  /** Background (default): dependents (ReplicaSets, pods) are removed by the garbage collector after. */
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  dryRun?: boolean;
  onDeleted?: (r: DeleteResult) => void;
}

/** Delete objects; one already gone counts as done (deleted: false), any other failure throws. */
export async function deleteObjects(cluster: ClusterConfig, objects: readonly KubernetesObject[], opts: DeleteOptions = {}): Promise<DeleteResult[]> {
  const api = clientsFor(cluster).objects;
  const results: DeleteResult[] = [];
  for (const original of sortForApply(objects).reverse()) {
    let obj: KubernetesObject;
    try {
      obj = await withNamespace(cluster, original, opts.namespace ?? cluster.namespace, "delete");
    } catch (err) {
      // A kind the cluster does not serve (its operator was removed) has nothing left to delete.
      if (err instanceof ClusterError && err.status === 404) {
        const r = { object: refOf(original), deleted: false };
        results.push(r);
        opts.onDeleted?.(r);
        continue;
      }
      throw err;
    }
    const ref = refOf(obj);
    let deleted = true;
    try {
      await callApi(ref, "delete", () => api.delete(obj, undefined, opts.dryRun ? "All" : undefined, undefined, undefined, opts.propagationPolicy ?? "Background"));
    } catch (err) {
      if (!(err instanceof ClusterError && err.status === 404)) throw err;
      deleted = false;
    }
    const r = { object: ref, deleted };
    results.push(r);
    opts.onDeleted?.(r);
  }
  return results;
}

/** The kinds `listManaged` looks at, as apiVersion + kind. */
export const MANAGED_KINDS: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService" },
  { apiVersion: "serving.kserve.io/v1alpha1", kind: "ServingRuntime" },
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "route.openshift.io/v1", kind: "Route" },
  { apiVersion: "v1", kind: "Secret" },
  { apiVersion: "v1", kind: "PersistentVolumeClaim" },
  { apiVersion: "batch/v1", kind: "Job" },
  { apiVersion: "datasciencepipelinesapplications.opendatahub.io/v1", kind: "DataSciencePipelinesApplication" },
  { apiVersion: "kubeflow.org/v1", kind: "Notebook" },
];

/**
 * The objects of `kinds` in a namespace that carry `labelSelector` (default: the managed-by label).
 * Kinds the cluster does not serve (no KServe, not OpenShift) are skipped, not errors.
 */
export async function listManaged(
  cluster: ClusterConfig,
  opts: {
    namespace?: string;
    labelSelector?: string;
    kinds?: readonly { apiVersion: string; kind: string }[];
    /** When given, a kind the caller may not list (403) is skipped and reported here instead of failing. */
    onForbidden?: (err: ClusterError) => void;
  } = {},
): Promise<KubernetesObject[]> {
  const namespace = opts.namespace ?? cluster.namespace;
  const api = clientsFor(cluster).objects;
  const out: KubernetesObject[] = [];
  for (const { apiVersion, kind } of opts.kinds ?? MANAGED_KINDS) {
    const ref = { apiVersion, kind, namespace };
    let list;
    try {
      list = await callApi(ref, "list", () => api.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, opts.labelSelector ?? MANAGED_SELECTOR));
    } catch (err) {
      if (err instanceof ClusterError && err.status === 404) continue;
      if (err instanceof ClusterError && err.status === 403 && opts.onForbidden) {
        opts.onForbidden(err);
        continue;
      }
      throw err;
    }
    // A list's items carry no apiVersion/kind of their own: put them back so the items can be applied or deleted.
    out.push(...list.items.map((item) => ({ ...item, apiVersion, kind })));
  }
  return out;
}

/**
 * What this project has deployed in a namespace and whether it works: each managed object with its
 * readiness (from the same conditions `waitFor` uses) and its URL. Used by `diffusion-workbench
 * status` and notebooks.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { ClusterConfig } from "./config.js";
import { listManaged, MANAGED_KINDS } from "./delete.js";
import { dspaApiUrls, inferenceServiceUrls, routeUrl } from "./discover.js";
import { ClusterConditionFailedError, type ClusterError } from "./errors.js";
import { deploymentAvailable, dspaReady, inferenceServiceReady, jobComplete, type WaitCondition } from "./wait.js";

export interface DeployedObject {
  kind: string;
  name: string;
  namespace: string;
  /** undefined for kinds without a readiness (Service, Secret, ServingRuntime). */
  ready?: boolean;
  /** The state in words ("Ready=True", "1/1 replicas available, 1 updated", "failed: ..."). */
  state: string;
  url?: string;
  /** The in-cluster URL where there is one (InferenceService address, DSPA API). */
  internalUrl?: string;
}

const READINESS: Record<string, WaitCondition> = {
  InferenceService: inferenceServiceReady,
  Deployment: deploymentAvailable,
  Job: jobComplete,
  DataSciencePipelinesApplication: dspaReady,
};

/** One object's row: readiness and URLs read from the object already listed. */
export function describeDeployed(obj: KubernetesObject): DeployedObject {
  const kind = obj.kind ?? "?";
  const row: DeployedObject = { kind, name: obj.metadata?.name ?? "?", namespace: obj.metadata?.namespace ?? "", state: "-" };
  const condition = READINESS[kind];
  if (condition !== undefined) {
    try {
      const r = condition.check(obj);
      row.ready = r.done;
      row.state = r.status;
    } catch (err) {
      if (!(err instanceof ClusterConditionFailedError)) throw err;
      row.ready = false;
      row.state = `failed: ${err.message}`;
    }
  }
  if (kind === "InferenceService") {
    const { url, address } = inferenceServiceUrls(obj);
    if (url !== undefined) row.url = url;
    if (address !== undefined) row.internalUrl = address;
  } else if (kind === "Route") {
    const url = routeUrl(obj);
    if (url !== undefined) row.url = url;
  } else if (kind === "DataSciencePipelinesApplication") {
    const { externalUrl, url } = dspaApiUrls(obj);
    if (externalUrl !== undefined) row.url = externalUrl;
    if (url !== undefined) row.internalUrl = url;
  }
  return row;
}

/**
 * Everything carrying the managed-by label in the namespace, described. Kinds the caller may not
 * list go to `onForbidden` when given (a workbench's Role often leaves out Secrets), else fail.
 */
export async function deployedObjects(
  cluster: ClusterConfig,
  opts: { namespace?: string; kinds?: typeof MANAGED_KINDS; onForbidden?: (err: ClusterError) => void } = {},
): Promise<DeployedObject[]> {
  const objects = await listManaged(cluster, opts);
  return objects.map(describeDeployed);
}

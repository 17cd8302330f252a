/** Logs of a pod, or of the latest pod of a Job (found by the `job-name` label the Job controller sets). */
import type { V1Pod } from "@kubernetes/client-node";
import { clientsFor } from "./clients.js";
import type { ClusterConfig } from "./config.js";
import { callApi, ClusterError } from "./errors.js";

export interface LogOptions {
  namespace?: string;
  /** Needed when the pod has more than one container (KServe adds an agent or a proxy). */
  container?: string;
  /** Only the last lines. */
  tailLines?: number;
  /** The previous (crashed) container's logs. */
  previous?: boolean;
}

/** The log text of one pod's container. */
export async function podLogs(cluster: ClusterConfig, name: string, opts: LogOptions = {}): Promise<string> {
  const namespace = opts.namespace ?? cluster.namespace;
  return callApi({ apiVersion: "v1", kind: "Pod", name, namespace }, "get", async () =>
    clientsFor(cluster).core.readNamespacedPodLog({
      name,
      namespace,
      ...(opts.container !== undefined ? { container: opts.container } : {}),
      ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
      ...(opts.previous ? { previous: true } : {}),
    }),
  "pods/log");
}

/** The pods a label selector picks, newest first. */
export async function listPods(cluster: ClusterConfig, labelSelector: string, namespace?: string): Promise<V1Pod[]> {
  const ns = namespace ?? cluster.namespace;
  const list = await callApi({ apiVersion: "v1", kind: "Pod", namespace: ns }, "list", async () => clientsFor(cluster).core.listNamespacedPod({ namespace: ns, labelSelector }), "pods");
  const time = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
  return [...list.items].sort((a, b) => time(b) - time(a));
}

/** Logs of the newest pod of a Job (the one that ran last, after retries). */
export async function jobLogs(cluster: ClusterConfig, jobName: string, opts: LogOptions = {}): Promise<string> {
  const namespace = opts.namespace ?? cluster.namespace;
  const [pod] = await listPods(cluster, `job-name=${jobName}`, namespace);
  if (pod?.metadata?.name === undefined) {
    const ref = { apiVersion: "batch/v1", kind: "Job", name: jobName, namespace };
    throw new ClusterError(`Job "${jobName}" in namespace "${namespace}" has no pods (not started yet, or cleaned up)`, ref, "list", 404, "NotFound");
  }
  return podLogs(cluster, pod.metadata.name, { ...opts, namespace });
}

/**
 * Where things answer: an InferenceService's URLs, a Route's host, the pipelines API of a pipeline
 * server. Each has a pure reader of an object already fetched (status shows them without a second
 * GET) and a fetching form.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { pipelinesApiFromDspa } from "./pipelines-dspa.js";
import { refOf, withNamespace } from "./apply.js";
import { clientsFor } from "./clients.js";
import type { ClusterConfig } from "./config.js";
import { callApi, ClusterError, describeRef } from "./errors.js";

type Obj = KubernetesObject & { status?: Record<string, any>; spec?: Record<string, any> };

export interface InferenceServiceUrls {
  /** The URL clients outside use (`status.url`): the Route when exposed, else the cluster-local name. */
  url?: string;
  /** The in-cluster address (`status.address.url`), e.g. http://sd-predictor.project.svc.cluster.local. */
  address?: string;
}

/** URLs from an InferenceService's status (empty until KServe has reconciled it). */
export function inferenceServiceUrls(isvc: KubernetesObject): InferenceServiceUrls {
  const s = (isvc as Obj).status ?? {};
  return { ...(s.url ? { url: String(s.url) } : {}), ...(s.address?.url ? { address: String(s.address.url) } : {}) };
}

/** `https://<host><path>` of a Route (http:// when it has no TLS); undefined before the router admits it. */
export function routeUrl(route: KubernetesObject): string | undefined {
  const r = route as Obj;
  const host = r.spec?.host ?? r.status?.ingress?.[0]?.host;
  if (!host) return undefined;
  return `${r.spec?.tls ? "https" : "http"}://${host}${r.spec?.path && r.spec.path !== "/" ? r.spec.path : ""}`;
}

/** The pipelines (KFP) API of a DataSciencePipelinesApplication: the external Route URL, else the in-cluster one. */
export function dspaApiUrls(dspa: KubernetesObject): { externalUrl?: string; url?: string } {
  const api = (dspa as Obj).status?.components?.apiServer ?? {};
  return { ...(api.externalUrl ? { externalUrl: String(api.externalUrl) } : {}), ...(api.url ? { url: String(api.url) } : {}) };
}

/** GET one object (namespace: the config's when not given; ignored for cluster-scoped kinds). */
export async function getObject(cluster: ClusterConfig, apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubernetesObject> {
  const header = await withNamespace(cluster, { apiVersion, kind, metadata: { name } }, namespace ?? cluster.namespace, "get");
  return callApi(refOf(header), "get", async () => clientsFor(cluster).objects.read(header as KubernetesObject & { metadata: { name: string } }));
}

function missing(obj: KubernetesObject, what: string): never {
  const ref = refOf(obj);
  throw new ClusterError(`${describeRef(ref)} has no ${what} yet (not reconciled or not ready: see 'diffusion-workbench status')`, ref, "get", 200, "NotReady");
}

/** GET an InferenceService and read its URLs; fails when KServe has not set any yet. */
export async function inferenceServiceUrl(cluster: ClusterConfig, name: string, namespace?: string): Promise<InferenceServiceUrls> {
  const isvc = await getObject(cluster, "serving.kserve.io/v1beta1", "InferenceService", name, namespace);
  const urls = inferenceServiceUrls(isvc);
  if (urls.url === undefined && urls.address === undefined) missing(isvc, "URL");
  return urls;
}

/** GET a Route and give its URL. */
export async function routeHost(cluster: ClusterConfig, name: string, namespace?: string): Promise<string> {
  const route = await getObject(cluster, "route.openshift.io/v1", "Route", name, namespace);
  return routeUrl(route) ?? missing(route, "host");
}

/** GET a DataSciencePipelinesApplication and give its pipelines API URL (external when there is one; see pipelinesApiFromDspa). */
export async function pipelinesApiUrl(cluster: ClusterConfig, name = "dspa", namespace?: string, prefer: "external" | "internal" = "external"): Promise<string> {
  const dspa = await getObject(cluster, "datasciencepipelinesapplications.opendatahub.io/v1", "DataSciencePipelinesApplication", name, namespace);
  return pipelinesApiFromDspa(dspa, { inCluster: prefer === "internal" });
}

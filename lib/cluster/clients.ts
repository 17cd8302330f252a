/**
 * The client-node API objects for a config, made once per config so that the discovery cache of
 * KubernetesObjectApi (kind -> resource plural, GET /apis/<group>/<version>) is shared by every call.
 */
import type { CoreV1Api, KubernetesObjectApi, V1APIResource } from "@kubernetes/client-node";
import { clientNode } from "./client-node.js";
import type { ClusterConfig } from "./config.js";

/** KubernetesObjectApi with its discovery lookup opened up (discovery says whether a kind is namespaced). */
export interface ObjectApi extends KubernetesObjectApi {
  resourceFor(apiVersion: string, kind: string): Promise<V1APIResource | undefined>;
}

export interface ClusterClients {
  objects: ObjectApi;
  core: CoreV1Api;
}

const cache = new WeakMap<ClusterConfig, ClusterClients>();

export function clientsFor(cluster: ClusterConfig): ClusterClients {
  let c = cache.get(cluster);
  if (c === undefined) {
    const k8s = clientNode();
    class OpenObjectApi extends k8s.KubernetesObjectApi implements ObjectApi {
      resourceFor(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
        return this.resource(apiVersion, kind);
      }

      useNamespace(namespace: string): void {
        this.defaultNamespace = namespace;
      }
    }
    const objects = cluster.kubeConfig.makeApiClient(OpenObjectApi);
    // makeApiClient skips the default namespace that KubernetesObjectApi.makeApiClient would set.
    objects.useNamespace(cluster.namespace);
    c = { objects, core: cluster.kubeConfig.makeApiClient(k8s.CoreV1Api) };
    cache.set(cluster, c);
  }
  return c;
}

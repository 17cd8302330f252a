/**
 * Server-side apply of typed objects or YAML documents, in an order the API server accepts:
 * what others depend on (Namespace, CRDs, RBAC, Secrets, PVCs, ServingRuntimes) before what uses
 * it (Deployments, InferenceServices, Routes), as Helm's install order does.
 *
 * Server-side apply (PATCH with `application/apply-patch+yaml` and a field manager) rather than
 * create-or-replace: applying the same objects again is a no-op, fields others set (the operator's
 * defaults, a user's edit of a different field) stay, and a real conflict is reported, not clobbered.
 */
import type { KubernetesObject, PatchStrategy } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { InvalidInputError } from "../errors.js";
import { clientsFor } from "./clients.js";
import type { ClusterConfig } from "./config.js";
import { callApi, ClusterError, describeRef, type ObjectRef } from "./errors.js";

/** The field manager the API server records for the fields this project sets. */
export const FIELD_MANAGER = "diffusion-workbench";

/** client-node's PatchStrategy.ServerSideApply, written out so this module loads without client-node. */
const SERVER_SIDE_APPLY: PatchStrategy = "application/apply-patch+yaml";

/** Kinds in the order they are applied; unknown kinds go last, deletion runs this backwards. */
export const APPLY_ORDER: readonly string[] = [
  "Namespace", "CustomResourceDefinition", "ServiceAccount", "Role", "ClusterRole", "RoleBinding",
  "ClusterRoleBinding", "Secret", "ConfigMap", "PersistentVolumeClaim", "ServingRuntime", "Service",
  "Deployment", "StatefulSet", "Job", "InferenceService", "Route", "DataSciencePipelinesApplication", "Notebook",
];

export interface ApplyOptions {
  /** Namespace for namespaced objects that name none (default: the config's namespace). */
  namespace?: string;
  fieldManager?: string;
  /** Take over fields another manager owns (409 conflicts) instead of failing. */
  force?: boolean;
  /** Ask the API server to validate and default without storing (`dryRun=All`). */
  dryRun?: boolean;
  /** Called after each object is applied, with the server's answer. */
  onApplied?: (applied: KubernetesObject) => void;
}

/** `kind: List` items and multi-document YAML as one flat list of objects; empty documents dropped. */
export function parseObjects(yamlText: string): KubernetesObject[] {
  const out: KubernetesObject[] = [];
  parseAllDocuments(yamlText).forEach((doc, i) => {
    if (doc.errors.length > 0) throw new InvalidInputError(`yaml document ${i + 1}`, doc.errors[0].message);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    const obj = value as KubernetesObject & { items?: KubernetesObject[] };
    if (obj.kind === "List" && Array.isArray(obj.items)) out.push(...obj.items);
    else out.push(obj);
  });
  return out;
}

function checkObject(obj: KubernetesObject, i: number): asserts obj is KubernetesObject & { apiVersion: string; kind: string; metadata: { name: string } } {
  const field = `objects[${i}]`;
  if (obj === null || typeof obj !== "object") throw new InvalidInputError(field, "is not an object");
  if (typeof obj.apiVersion !== "string" || obj.apiVersion === "") throw new InvalidInputError(`${field}.apiVersion`, "is missing");
  if (typeof obj.kind !== "string" || obj.kind === "") throw new InvalidInputError(`${field}.kind`, "is missing");
  if (typeof obj.metadata?.name !== "string" || obj.metadata.name === "") {
    throw new InvalidInputError(`${field}.metadata.name`, `is missing (${obj.kind}); generateName cannot be applied`);
  }
}

function rank(kind: string): number {
  const i = APPLY_ORDER.indexOf(kind);
  return i === -1 ? APPLY_ORDER.length : i;
}

/** Objects sorted into apply order (stable: objects of one kind keep their order). */
export function sortForApply<T extends KubernetesObject>(objects: readonly T[]): T[] {
  return objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o.kind ?? "") - rank(b.o.kind ?? "") || a.i - b.i).map((x) => x.o);
}

/** The reference of an object, for messages. */
export function refOf(obj: KubernetesObject): ObjectRef {
  return { apiVersion: obj.apiVersion ?? "v1", kind: obj.kind ?? "?", name: obj.metadata?.name, namespace: obj.metadata?.namespace };
}

/**
 * Fill in the namespace of a namespaced object that has none (a copy; the input is not changed).
 * Whether a kind is namespaced comes from API discovery, so cluster-scoped kinds stay as they are.
 */
export async function withNamespace<T extends KubernetesObject>(cluster: ClusterConfig, obj: T, namespace: string, verb: "patch" | "delete" | "get"): Promise<T> {
  // Named with the namespace it is meant for: discovery has not said yet whether it is namespaced.
  const ref = { ...refOf(obj), namespace: obj.metadata?.namespace ?? namespace };
  const resource = await callApi(ref, verb, async () => clientsFor(cluster).objects.resourceFor(ref.apiVersion, ref.kind));
  if (resource === undefined) {
    throw new ClusterError(`${describeRef(ref)}: the cluster serves ${ref.apiVersion} but has no kind ${ref.kind} in it`, ref, verb, 404, "NotFound");
  }
  if (!resource.namespaced || obj.metadata?.namespace) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace } };
}

/** Apply objects (or YAML text) with server-side apply, in dependency order; returns the server's answers. */
export async function applyObjects(cluster: ClusterConfig, input: readonly KubernetesObject[] | string, opts: ApplyOptions = {}): Promise<KubernetesObject[]> {
  const objects = typeof input === "string" ? parseObjects(input) : [...input];
  objects.forEach(checkObject);
  const api = clientsFor(cluster).objects;
  const applied: KubernetesObject[] = [];
  for (const original of sortForApply(objects)) {
    const obj = await withNamespace(cluster, original, opts.namespace ?? cluster.namespace, "patch");
    const result = await callApi(refOf(obj), "patch", () =>
      api.patch(obj, undefined, opts.dryRun ? "All" : undefined, opts.fieldManager ?? FIELD_MANAGER, opts.force ? true : undefined, SERVER_SIDE_APPLY),
    );
    applied.push(result);
    opts.onApplied?.(result);
  }
  return applied;
}

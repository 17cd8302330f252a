/**
 * Metadata every builder shares: the name and namespace from the options, the project's own labels
 * (so `oc get all -l app.kubernetes.io/part-of=diffusion-workbench` finds everything it made, and a
 * clean-up can select on them) and the caller's extra labels and annotations.
 */
import type { V1ObjectMeta } from "@kubernetes/client-node";
import { annotationMap, dnsLabel, labelMap } from "./validate.js";

export const PART_OF = "diffusion-workbench";
export const MANAGED_LABELS = {
  "app.kubernetes.io/managed-by": PART_OF,
  "app.kubernetes.io/part-of": PART_OF,
} as const;

/** What every namespaced builder accepts. */
export interface ObjectOptions {
  /** The data science project (namespace) the object goes in. */
  namespace: string;
  /** Object name (a DNS label); each builder has a default. */
  name?: string;
  /** Extra labels, laid over the builder's own (the managed-by/part-of labels always win). */
  labels?: Record<string, string>;
  /** Extra annotations, laid over the builder's own. */
  annotations?: Record<string, string>;
}

/**
 * Metadata for a namespaced object: validated name and namespace, the builder's labels and
 * annotations, the caller's extras over them, the project labels over everything.
 */
export function objectMeta(
  opts: ObjectOptions,
  defaultName: string,
  own: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1ObjectMeta & { name: string; namespace: string; labels: Record<string, string> } {
  const name = dnsLabel("name", opts.name ?? defaultName);
  const namespace = dnsLabel("namespace", opts.namespace);
  const labels = { ...own.labels, ...labelMap("labels", opts.labels), ...MANAGED_LABELS };
  const annotations = { ...own.annotations, ...annotationMap("annotations", opts.annotations) };
  return { name, namespace, labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) };
}

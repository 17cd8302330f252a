/** The data science project: a namespace the OpenShift AI dashboard lists as one. */
import type { V1Namespace } from "@kubernetes/client-node";
import { dnsLabel, labelMap, text } from "./validate.js";
import { MANAGED_LABELS } from "./meta.js";

export interface ProjectNamespaceOptions {
  /** The namespace (a DNS label). */
  name: string;
  /** Name shown in the dashboard; default: the namespace name. */
  displayName?: string;
  description?: string;
  /**
   * Single-model serving (KServe, what this project's runtime uses) unless true: the dashboard
   * reads `modelmesh-enabled` to pick the serving platform of a project.
   */
  modelMesh?: boolean;
  labels?: Record<string, string>;
}

export function projectNamespace(opts: ProjectNamespaceOptions): V1Namespace & { metadata: { name: string } } {
  const name = dnsLabel("name", opts.name);
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name,
      labels: {
        ...labelMap("labels", opts.labels),
        // The dashboard lists only namespaces with this label as data science projects.
        "opendatahub.io/dashboard": "true",
        "modelmesh-enabled": opts.modelMesh === true ? "true" : "false",
        ...MANAGED_LABELS,
      },
      annotations: {
        "openshift.io/display-name": text("displayName", opts.displayName ?? name),
        ...(opts.description === undefined ? {} : { "openshift.io/description": text("description", opts.description) }),
      },
    },
  };
}

/** A PersistentVolumeClaim (workbench home, model storage, the MinIO data). */
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { objectMeta, type ObjectOptions } from "./meta.js";
import { dnsLabel, oneOf, quantity } from "./validate.js";

export const ACCESS_MODES = ["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

export interface PvcOptions extends ObjectOptions {
  name: string;
  /** e.g. "20Gi". */
  size: string;
  /** Default ReadWriteOnce. */
  accessMode?: AccessMode;
  /** Default: the cluster's default storage class. */
  storageClassName?: string;
  /** Name in the dashboard (cluster storage list). */
  displayName?: string;
}

export function pvc(opts: PvcOptions): V1PersistentVolumeClaim & { metadata: { name: string; namespace: string } } {
  const metadata = objectMeta(opts, opts.name, {
    // Listed under the project's cluster storage in the dashboard.
    labels: { "opendatahub.io/dashboard": "true" },
    annotations: opts.displayName === undefined ? {} : { "openshift.io/display-name": opts.displayName },
  });
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata,
    spec: {
      accessModes: [oneOf("accessMode", opts.accessMode ?? "ReadWriteOnce", ACCESS_MODES)],
      volumeMode: "Filesystem",
      resources: { requests: { storage: quantity("size", opts.size) } },
      ...(opts.storageClassName === undefined ? {} : { storageClassName: dnsLabelOrSubdomain(opts.storageClassName) }),
    },
  };
}

/** Storage class names are DNS subdomains; each dot-separated part is a label. */
function dnsLabelOrSubdomain(value: string): string {
  for (const part of String(value).split(".")) dnsLabel("storageClassName", part);
  return value;
}

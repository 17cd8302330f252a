/**
 * A workbench: a kubeflow.org/v1 Notebook as the OpenShift AI dashboard creates it, so the dashboard
 * lists and manages it (labels), the ODH notebook controller puts its OAuth proxy in front
 * (inject-oauth) and serves it at /notebook/<namespace>/<name>, and the data connections arrive as
 * AWS_* environment variables.
 */
import type { V1Container, V1EnvVar } from "@kubernetes/client-node";
import { objectMeta, type ObjectOptions } from "./meta.js";
import type { Notebook } from "./types.js";
import { dnsLabel, envVars, image, wholeNumber, quantity, text } from "./validate.js";

export const NOTEBOOK_PORT = 8888;
/** The home folder of OpenShift AI workbench images, where the workbench PVC is mounted. */
export const WORKBENCH_HOME = "/opt/app-root/src";

export interface NotebookOptions extends ObjectOptions {
  /** Default "typescript-workbench". */
  name?: string;
  /** The workbench image (setup/workbench/Containerfile), pinned by tag or digest. */
  image: string;
  /** Name shown in the dashboard; default: the name. */
  displayName?: string;
  /** Image name shown in the dashboard. */
  imageDisplayName?: string;
  /** The PVC mounted at /opt/app-root/src; default: the notebook's name (as the dashboard names it). */
  claimName?: string;
  /** Data connection Secrets injected as environment (envFrom). */
  dataConnections?: string[];
  env?: Record<string, string>;
  /** The user the dashboard shows as owner. */
  username?: string;
  cpuRequest?: string;
  cpuLimit?: string;
  memoryRequest?: string;
  memoryLimit?: string;
  /** nvidia.com/gpu per workbench; default 0. */
  gpuCount?: number;
}

export function notebook(opts: NotebookOptions): Notebook {
  const meta = objectMeta(opts, "typescript-workbench", {
    labels: { "opendatahub.io/dashboard": "true", "opendatahub.io/odh-managed": "true" },
    annotations: {
      "notebooks.opendatahub.io/inject-oauth": "true",
      "opendatahub.io/image-display-name": text("imageDisplayName", opts.imageDisplayName ?? "TypeScript (diffusion-workbench)"),
      "openshift.io/display-name": text("displayName", opts.displayName ?? opts.name ?? "typescript-workbench"),
      ...(opts.username === undefined ? {} : { "opendatahub.io/username": text("username", opts.username) }),
    },
  });
  meta.labels = { app: meta.name, ...meta.labels };
  const { name, namespace } = meta;
  const img = image("image", opts.image);
  const gpus = wholeNumber("gpuCount", opts.gpuCount ?? 0, 16);
  const basePath = `/notebook/${namespace}/${name}`;
  const env: V1EnvVar[] = [
    // Read by the image's start script (setup/workbench/start-notebook.sh), as in the ODH images.
    {
      name: "NOTEBOOK_ARGS",
      value: [`--ServerApp.port=${NOTEBOOK_PORT}`, "--ServerApp.token=''", "--ServerApp.password=''", `--ServerApp.base_url=${basePath}`, "--ServerApp.quit_button=False"].join("\n"),
    },
    { name: "JUPYTER_IMAGE", value: img },
    ...envVars("env", opts.env),
  ];
  const probe = { httpGet: { path: `${basePath}/api`, port: "notebook-port", scheme: "HTTP" }, initialDelaySeconds: 10, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };
  const gpu: Record<string, string> = gpus > 0 ? { "nvidia.com/gpu": String(gpus) } : {};
  const container: V1Container = {
    name,
    image: img,
    // As the dashboard sets it: a rebuilt tag (the internal registry's :0.1.0) is picked up on restart.
    imagePullPolicy: "Always",
    workingDir: WORKBENCH_HOME,
    ports: [{ name: "notebook-port", containerPort: NOTEBOOK_PORT, protocol: "TCP" }],
    env,
    envFrom: (opts.dataConnections ?? []).map((s, i) => ({ secretRef: { name: dnsLabel(`dataConnections[${i}]`, s) } })),
    resources: {
      requests: { cpu: quantity("cpuRequest", opts.cpuRequest ?? "1"), memory: quantity("memoryRequest", opts.memoryRequest ?? "4Gi"), ...gpu },
      limits: { cpu: quantity("cpuLimit", opts.cpuLimit ?? "2"), memory: quantity("memoryLimit", opts.memoryLimit ?? "8Gi"), ...gpu },
    },
    livenessProbe: probe,
    readinessProbe: probe,
    volumeMounts: [{ name: "home", mountPath: WORKBENCH_HOME }],
  };
  return {
    apiVersion: "kubeflow.org/v1",
    kind: "Notebook",
    metadata: meta,
    spec: {
      template: {
        spec: {
          // The ODH notebook controller creates this service account for the OAuth proxy it injects.
          serviceAccountName: name,
          enableServiceLinks: false,
          containers: [container],
          volumes: [{ name: "home", persistentVolumeClaim: { claimName: dnsLabel("claimName", opts.claimName ?? name) } }],
          ...(gpus > 0 ? { tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }] } : {}),
        },
      },
    },
  };
}

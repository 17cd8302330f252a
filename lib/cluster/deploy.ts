/**
 * Deploying the project's servers into a data science project: the KServe runtime (a ServingRuntime
 * when an image is given, and an InferenceService for a model) and the MCP server (Deployment,
 * Service, Route). Used by the CLI (`deploy runtime|mcp`), the notebooks and the fine-tuning
 * pipeline's deploy step.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { InvalidInputError } from "../errors.js";
import { applyObjects } from "./apply.js";
import type { ClusterConfig } from "./config.js";
import { getObject, inferenceServiceUrl, routeHost } from "./discover.js";
import { ClusterError } from "./errors.js";
import { inferenceService, mcpServer, servingRuntime, type ModelStorage } from "./objects/index.js";
import { deploymentAvailable, inferenceServiceReady, waitFor, type WaitCondition } from "./wait.js";

export const DEFAULT_RUNTIME_NAME = "stable-diffusion";
export const DEFAULT_SERVING_RUNTIME = "diffusion-workbench";
export const DEFAULT_MCP_NAME = "diffusion-mcp";

export interface DeployOptions {
  /** Object name (InferenceService, or the MCP server's Deployment/Service/Route). */
  name?: string;
  /** Container image; for the runtime, given means "create or update the ServingRuntime". */
  image?: string;
  /** Wait until ready (InferenceService Ready, Deployment available). */
  wait?: boolean;
  timeoutMs?: number;
  /** Take over fields another manager owns on a conflict. */
  force?: boolean;
  /** Server-side dry run: validated and defaulted, not stored. */
  dryRun?: boolean;
  /** One line per applied object and per change of state while waiting. */
  onMessage?: (line: string) => void;
  /** Names used in error messages for the options (the CLI passes its flag names). */
  fieldNames?: Partial<Record<"model" | "image" | "runtimeUrl" | "routeHost", string>>;
}

export interface Deployed {
  objects: KubernetesObject[];
  /** After a wait: the runtime's URL, or the MCP endpoint (https://<route host>/mcp). */
  url?: string;
}

/**
 * A model location as an InferenceService storage form: `tiny` (the built-in shapes model),
 * `s3://<bucket>/<path>` (in the data connection's bucket), `pvc://<claim>/<path>`, or a Hub id.
 */
export function parseModelLocation(value: string, dataConnection?: string, field = "model"): ModelStorage {
  const allowed = "tiny, s3://<bucket>/<path>, pvc://<claim>/<path>, <owner>/<name> (a Hugging Face Hub id)";
  if (value === "tiny") return { type: "tiny" };
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(value);
  if (s3) return { type: "s3", path: s3[2], ...(dataConnection !== undefined ? { dataConnection } : {}) };
  const pvc = /^pvc:\/\/([^/]+)\/(.+)$/.exec(value);
  if (pvc) return { type: "pvc", claimName: pvc[1], path: pvc[2] };
  if (/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/.test(value)) return { type: "hub", modelId: value };
  throw new InvalidInputError(field, `'${value}' is not a model location`, allowed);
}

async function applyAndWait(cluster: ClusterConfig, objects: KubernetesObject[], o: DeployOptions, waitOn: { obj: KubernetesObject; condition: WaitCondition }): Promise<void> {
  const say = o.onMessage ?? (() => {});
  await applyObjects(cluster, objects, {
    ...(o.force ? { force: true } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    onApplied: (x) => say(`${x.kind}/${x.metadata?.name} applied in ${x.metadata?.namespace ?? cluster.namespace}${o.dryRun ? " (dry run)" : ""}`),
  });
  if (!o.wait || o.dryRun) return;
  let last = "";
  await waitFor(cluster, waitOn.obj, waitOn.condition, {
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    onProgress: (p) => {
      if (p.status === last) return;
      last = p.status;
      say(`${Math.round(p.elapsedMs / 1000)}s ${waitOn.obj.kind}/${waitOn.obj.metadata?.name}: ${p.status}`);
    },
  });
}

/** The runtime serving `model` (see parseModelLocation); with `image`, its ServingRuntime too. */
export async function deployRuntime(
  cluster: ClusterConfig,
  o: DeployOptions & { model: string; dataConnection?: string; runtime?: string; gpus?: number },
): Promise<Deployed> {
  const field = (k: "model" | "image") => o.fieldNames?.[k] ?? k;
  const storage = parseModelLocation(o.model, o.dataConnection, field("model"));
  const namespace = cluster.namespace;
  const name = o.name ?? DEFAULT_RUNTIME_NAME;
  const runtime = o.runtime ?? DEFAULT_SERVING_RUNTIME;
  const objects: KubernetesObject[] = [];
  if (o.image !== undefined) {
    objects.push(servingRuntime({ namespace, name: runtime, image: o.image }));
  } else {
    // Without an image the ServingRuntime must already be there (set up by a platform engineer).
    try {
      await getObject(cluster, "serving.kserve.io/v1alpha1", "ServingRuntime", runtime, namespace);
    } catch (err) {
      if (err instanceof ClusterError && err.status === 404) {
        throw new InvalidInputError(field("image"), `ServingRuntime "${runtime}" does not exist in namespace "${namespace}": give the runtime image to create it`, "registry/repository:tag (or env RUNTIME_IMAGE)");
      }
      throw err;
    }
  }
  const isvc = inferenceService({
    namespace,
    name,
    storage,
    runtime,
    // The built-in model runs on a CPU; a real model gets one GPU unless told otherwise.
    ...(storage.type === "tiny" ? {} : { gpuCount: o.gpus ?? 1 }),
  });
  objects.push(isvc);
  await applyAndWait(cluster, objects, o, { obj: isvc, condition: inferenceServiceReady });
  if (!o.wait || o.dryRun) return { objects };
  const url = (await inferenceServiceUrl(cluster, name)).url;
  return { objects, ...(url !== undefined ? { url } : {}) };
}

/**
 * The Route host for the MCP server: given, or `<name>-<namespace>.<apps domain>` (the host OpenShift
 * would generate), the apps domain taken from the runtime's Route (`<isvc>-<namespace>.<apps domain>`),
 * since reading the cluster's ingress config needs a cluster-wide permission a workbench lacks.
 */
function mcpRouteHost(given: string | undefined, name: string, namespace: string, runtimeUrl: string | undefined, field: string): string {
  if (given !== undefined) return given;
  const host = runtimeUrl === undefined ? undefined : new URL(runtimeUrl).hostname;
  const dot = host?.indexOf(".") ?? -1;
  if (host === undefined || dot === -1 || host.endsWith(".svc.cluster.local") || host.endsWith(".svc")) {
    throw new InvalidInputError(field, "is required: the runtime has no external URL to take the apps domain from", `<name>-${namespace}.apps.<cluster domain>`);
  }
  return `${name}-${namespace}.${host.slice(dot + 1)}`;
}

/** The MCP server in front of the runtime InferenceService `runtimeName` (or `runtimeUrl`). */
export async function deployMcp(
  cluster: ClusterConfig,
  o: DeployOptions & { runtimeUrl?: string; runtimeName?: string; modelId?: string; routeHost?: string; imageStorage?: "s3" | "file" },
): Promise<Deployed> {
  const field = (k: "image" | "runtimeUrl" | "routeHost") => o.fieldNames?.[k] ?? k;
  const namespace = cluster.namespace;
  const name = o.name ?? DEFAULT_MCP_NAME;
  const runtimeName = o.runtimeName ?? DEFAULT_RUNTIME_NAME;
  if (o.image === undefined) throw new InvalidInputError(field("image"), "is required", "registry/repository:tag of the MCP server image (or env MCP_IMAGE)");
  // The MCP server talks to the runtime inside the cluster: the InferenceService's address.
  let urls: { url?: string; address?: string } = {};
  if (o.runtimeUrl === undefined || o.routeHost === undefined) {
    urls = await inferenceServiceUrl(cluster, runtimeName, namespace).catch((err: unknown) => {
      throw err instanceof ClusterError
        ? new InvalidInputError(o.runtimeUrl === undefined ? field("runtimeUrl") : field("routeHost"), `not given, and the runtime's URLs are unknown: ${err.message}`, "deploy the runtime first, or give it")
        : err;
    });
  }
  const objects = mcpServer({
    namespace,
    name,
    image: o.image,
    runtimeUrl: o.runtimeUrl ?? urls.address ?? urls.url!,
    modelId: o.modelId ?? runtimeName,
    routeHost: mcpRouteHost(o.routeHost, name, namespace, urls.url, field("routeHost")),
    ...(o.imageStorage !== undefined ? { imageStorage: o.imageStorage } : {}),
  });
  await applyAndWait(cluster, objects, o, { obj: objects[0], condition: deploymentAvailable });
  if (!o.wait || o.dryRun) return { objects };
  return { objects, url: `${await routeHost(cluster, name)}/mcp` };
}

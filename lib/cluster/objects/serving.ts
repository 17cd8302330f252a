/**
 * The runtime's ServingRuntime and InferenceServices, rendered from the templates in
 * serving/manifests/ (the YAML a platform engineer reads and can apply with envsubst), so the files
 * and these builders cannot drift: the builder maps typed options onto the templates' variables
 * and adds the namespace and the project labels.
 */
import { InvalidInputError } from "../../errors.js";
import { renderManifest, type ManifestName, type ManifestVariables } from "../../../serving/manifests/render.js";
import type { ObjectOptions } from "./meta.js";
import { renderAs, templateVariables, withMeta, type OptionVariables } from "./template.js";
import type { InferenceService, ServingRuntime } from "./types.js";
import { wholeNumber } from "./validate.js";

export interface ServingRuntimeOptions extends ObjectOptions {
  /** Default "diffusion-workbench". */
  name?: string;
  /** The runtime image (serving/runtime/Containerfile), pinned by tag or digest. */
  image: string;
  displayName?: string;
  /** Runtime version shown in the dashboard. */
  version?: string;
  requestTimeoutS?: number;
  shutdownGraceS?: number;
}

/** Where the model comes from: the four storage forms of serving/manifests/inferenceservice-*.yaml. */
export type ModelStorage =
  /** A path in the bucket of an S3 data connection (storage.key + storage.path). */
  | { type: "s3"; dataConnection?: string; path: string }
  /** A path on a PersistentVolumeClaim in the namespace (storageUri pvc://claim/path). */
  | { type: "pvc"; claimName: string; path: string }
  /** A Hugging Face Hub id of an ONNX export; the runtime downloads it (needs egress). */
  | { type: "hub"; modelId: string }
  /** The built-in analytic `shapes` model on CPU: no storage, no GPU. */
  | { type: "tiny" };
export const STORAGE_TYPES = ["s3", "pvc", "hub", "tiny"] as const;

export interface InferenceServiceOptions extends ObjectOptions {
  /** Default "stable-diffusion": the model name in the runtime's URLs. */
  name?: string;
  storage: ModelStorage;
  /** The ServingRuntime's name; default "diffusion-workbench". */
  runtime?: string;
  displayName?: string;
  /** "exposed" (a Route) or "cluster-local"; default exposed. */
  visibility?: "exposed" | "cluster-local";
  /** Require a bearer token (OpenShift AI token authentication); default false. */
  enableAuth?: boolean;
  /** HAProxy timeout of the Route, e.g. "10m". */
  routeTimeout?: string;
  dtype?: "auto" | "bfloat16" | "float16" | "float32" | "native";
  maxBatchSize?: number;
  gpuCount?: number;
  cpuRequest?: string;
  cpuLimit?: string;
  memoryRequest?: string;
  memoryLimit?: string;
}

/** Builder option -> template variable, so a template's complaint names the option the caller wrote. */
const RUNTIME_VARIABLES: OptionVariables = {
  name: "RUNTIME_NAME",
  image: "RUNTIME_IMAGE",
  displayName: "RUNTIME_DISPLAY_NAME",
  version: "RUNTIME_VERSION",
  requestTimeoutS: "REQUEST_TIMEOUT_S",
  shutdownGraceS: "SHUTDOWN_GRACE_S",
};
const ISVC_VARIABLES: OptionVariables = {
  name: "ISVC_NAME",
  runtime: "RUNTIME_NAME",
  displayName: "DISPLAY_NAME",
  visibility: "VISIBILITY",
  enableAuth: "ENABLE_AUTH",
  routeTimeout: "ROUTE_TIMEOUT",
  dtype: "DTYPE",
  maxBatchSize: "MAX_BATCH_SIZE",
  gpuCount: "GPU_COUNT",
  cpuRequest: "CPU_REQUEST",
  cpuLimit: "CPU_LIMIT",
  memoryRequest: "MEMORY_REQUEST",
  memoryLimit: "MEMORY_LIMIT",
  "storage.dataConnection": "DATA_CONNECTION",
  "storage.path": "MODEL_PATH",
  "storage.claimName": "PVC_NAME",
  "storage.modelId": "HF_MODEL_ID",
};

function render(name: ManifestName, values: Record<string, unknown>, mapping: OptionVariables): Record<string, any> {
  return renderAs(() => renderManifest(name, templateVariables(values, mapping) as ManifestVariables), mapping);
}

export function servingRuntime(opts: ServingRuntimeOptions): ServingRuntime {
  if (opts.requestTimeoutS !== undefined) wholeNumber("requestTimeoutS", opts.requestTimeoutS);
  if (opts.shutdownGraceS !== undefined) wholeNumber("shutdownGraceS", opts.shutdownGraceS);
  return withMeta(render("servingRuntime", { ...opts }, RUNTIME_VARIABLES), opts);
}

export function inferenceService(opts: InferenceServiceOptions): InferenceService {
  const storage = opts.storage as ModelStorage | undefined;
  if (!storage || !(STORAGE_TYPES as readonly string[]).includes(storage.type)) {
    throw new InvalidInputError("storage.type", `${JSON.stringify(storage?.type)} is not a storage form`, STORAGE_TYPES.join(", "));
  }
  for (const n of ["maxBatchSize", "gpuCount"] as const) if (opts[n] !== undefined) wholeNumber(n, opts[n]);
  const flat: Record<string, unknown> = { ...opts };
  for (const [k, v] of Object.entries(storage)) if (k !== "type") flat[`storage.${k}`] = v;
  // The templates default MODEL_PATH and HF_MODEL_ID is required by its template; an s3/pvc form
  // without a path would silently take the default, so the path is required here.
  if ((storage.type === "s3" || storage.type === "pvc") && !storage.path) throw new InvalidInputError("storage.path", "is required", "the model folder's path in the bucket or on the volume");
  if (storage.type === "pvc" && !storage.claimName) throw new InvalidInputError("storage.claimName", "is required", "the PersistentVolumeClaim's name");
  return withMeta(render(storage.type, flat, ISVC_VARIABLES), opts);
}

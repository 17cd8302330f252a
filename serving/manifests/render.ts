/**
 * Rendering the manifest templates in this folder: `${NAME}` placeholders (the syntax envsubst reads,
 * so platform engineers can also apply them with `envsubst | oc apply -f -`) filled from typed
 * variables with defaults, each value checked before it lands in YAML, then parsed.
 *
 * Templates rather than typed builders: the YAML files are what a platform engineer reads, reviews
 * and applies as they are; this function only fills and checks them, and the tests validate its
 * output against the CRDs.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { InvalidInputError } from "../../lib/errors.js";

export const MANIFESTS = {
  servingRuntime: "servingruntime.yaml",
  s3: "inferenceservice-s3.yaml",
  pvc: "inferenceservice-pvc.yaml",
  hub: "inferenceservice-hub.yaml",
  tiny: "inferenceservice-tiny.yaml",
} as const;
export type ManifestName = keyof typeof MANIFESTS;

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/;
export const TEXT = /^[^"\\\n]*$/;

export interface Variable {
  default?: string;
  pattern: RegExp;
  allowed: string;
  meaning: string;
}

/** The container's CPU and memory request and limit, with a deployment's own defaults. */
export function resourceVariables<const D extends { cpuRequest: string; cpuLimit: string; memoryRequest: string; memoryLimit: string }>(d: D) {
  return {
    CPU_REQUEST: { default: d.cpuRequest, pattern: QUANTITY, allowed: "a CPU quantity", meaning: "CPU request" },
    CPU_LIMIT: { default: d.cpuLimit, pattern: QUANTITY, allowed: "a CPU quantity", meaning: "CPU limit" },
    MEMORY_REQUEST: { default: d.memoryRequest, pattern: QUANTITY, allowed: "a memory quantity", meaning: "memory request" },
    MEMORY_LIMIT: { default: d.memoryLimit, pattern: QUANTITY, allowed: "a memory quantity", meaning: "memory limit" },
  } as const satisfies Record<string, Variable>;
}

/** Every placeholder the templates use; a variable without a default must be given. */
export const VARIABLES = {
  RUNTIME_NAME: { default: "diffusion-workbench", pattern: DNS_LABEL, allowed: "a DNS label", meaning: "ServingRuntime name" },
  RUNTIME_DISPLAY_NAME: { default: "Diffusion workbench (ONNX Runtime, KServe V1 + V2)", pattern: TEXT, allowed: "one line of text", meaning: "name in the OpenShift AI dashboard" },
  RUNTIME_VERSION: { default: "0.1.0", pattern: TEXT, allowed: "one line of text", meaning: "runtime version shown in the dashboard" },
  RUNTIME_IMAGE: { pattern: /^[a-z0-9.-]+(:[0-9]+)?\/[a-zA-Z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/, allowed: "registry/repository:tag or @sha256:digest", meaning: "the runtime image (serving/runtime/Containerfile)" },
  REQUEST_TIMEOUT_S: { default: "600", pattern: /^[0-9]+(\.[0-9]+)?$/, allowed: "seconds", meaning: "deadline per request" },
  SHUTDOWN_GRACE_S: { default: "30", pattern: /^[0-9]+$/, allowed: "whole seconds", meaning: "drain time on SIGTERM" },
  ISVC_NAME: { default: "stable-diffusion", pattern: DNS_LABEL, allowed: "a DNS label", meaning: "InferenceService name (the model name in URLs)" },
  DISPLAY_NAME: { default: "Stable Diffusion", pattern: TEXT, allowed: "one line of text", meaning: "InferenceService name in the dashboard" },
  VISIBILITY: { default: "exposed", pattern: /^(exposed|cluster-local)$/, allowed: "exposed, cluster-local", meaning: "a Route (exposed) or the cluster only" },
  ENABLE_AUTH: { default: "false", pattern: /^(true|false)$/, allowed: "true, false", meaning: "require a bearer token (OpenShift AI token authentication)" },
  ROUTE_TIMEOUT: { default: "10m", pattern: /^[0-9]+(ms|s|m|h)$/, allowed: "an HAProxy duration, e.g. 10m", meaning: "Route timeout" },
  DATA_CONNECTION: { default: "aws-connection-models", pattern: DNS_LABEL, allowed: "a Secret name", meaning: "S3 data connection (storage.key)" },
  MODEL_PATH: { default: "models/stable-diffusion", pattern: /^[A-Za-z0-9._/-]+$/, allowed: "a path without spaces", meaning: "path of the model folder in the bucket or PVC" },
  PVC_NAME: { default: "models", pattern: DNS_LABEL, allowed: "a PVC name", meaning: "PersistentVolumeClaim holding the model" },
  HF_MODEL_ID: { default: "", pattern: /^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/, allowed: "owner/name", meaning: "Hugging Face Hub id of an ONNX export" },
  DTYPE: { default: "auto", pattern: /^(auto|bfloat16|float16|float32|native)$/, allowed: "auto, bfloat16, float16, float32, native", meaning: "precision" },
  MAX_BATCH_SIZE: { default: "1", pattern: /^[0-9]+$/, allowed: "an integer", meaning: "dynamic batching" },
  GPU_COUNT: { default: "1", pattern: /^[0-9]+$/, allowed: "an integer", meaning: "GPUs per replica" },
  ...resourceVariables({ cpuRequest: "2", cpuLimit: "8", memoryRequest: "8Gi", memoryLimit: "16Gi" }),
} as const satisfies Record<string, Variable>;
export type VariableName = keyof typeof VARIABLES;
export type ManifestVariables = Partial<Record<VariableName, string>>;

/** This folder, from the sources or from dist/ (which has no YAML). */
export function manifestsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return templatesDir(here, path.resolve(here, "..", "..", "..", "serving", "manifests"), MANIFESTS.servingRuntime, "the manifest templates");
}

/**
 * A folder of templates: `here` when running from the sources, else `sources` (tsc copies no YAML
 * into dist/). `marker` is a file the folder must hold; `what` names the templates in the error.
 */
export function templatesDir(here: string, sources: string, marker: string, what: string): string {
  for (const dir of [here, sources]) {
    if (existsSync(path.join(dir, marker))) return dir;
  }
  throw new Error(`${what} are not beside ${here}`);
}

/** A `${NAME}` placeholder, as envsubst reads it. */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Fill `${NAME}` placeholders; every one must be a known variable with a valid value. */
export function renderTemplate(text: string, vars: ManifestVariables, source = "template"): string {
  return fillTemplate(text, vars, VARIABLES, source);
}

/** `renderTemplate` over another set of variables (the MCP server's manifests declare their own). */
export function fillTemplate(text: string, vars: Partial<Record<string, string>>, variables: Record<string, Variable>, source = "template"): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    if (!Object.hasOwn(variables, name)) throw new InvalidInputError(name, `is not a variable of ${source}`, Object.keys(variables).join(", "));
    const spec: Variable = variables[name];
    const value = vars[name] ?? spec.default;
    if (value === undefined || value === "") throw new InvalidInputError(name, `is required by ${source}`, spec.allowed);
    if (!spec.pattern.test(value)) throw new InvalidInputError(name, `'${value}' is not valid`, spec.allowed);
    return value;
  });
}

/** The variables a template uses. */
export function templateVariables(name: ManifestName): VariableName[] {
  return templateFileVariables(manifestsDir(), MANIFESTS[name]) as VariableName[];
}

/** One manifest, rendered and parsed into the object `oc apply` would send. */
export function renderManifest(name: ManifestName, vars: ManifestVariables): Record<string, any> {
  return renderTemplateFile(manifestsDir(), MANIFESTS[name], vars, VARIABLES);
}

/** The placeholder names a template file uses, each once. */
export function templateFileVariables(dir: string, file: string): string[] {
  const text = readFileSync(path.join(dir, file), "utf8");
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

/** A template file filled by `fillTemplate` over `variables`, parsed into the object `oc apply` would send. */
export function renderTemplateFile(dir: string, file: string, vars: Partial<Record<string, string>>, variables: Record<string, Variable>): Record<string, any> {
  return parse(fillTemplate(readFileSync(path.join(dir, file), "utf8"), vars, variables, file)) as Record<string, any>;
}

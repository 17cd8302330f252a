/**
 * Rendering the MCP server's manifest templates in this folder (Deployment, Service, Route), with
 * the same `${NAME}` placeholders and checks as the runtime's (serving/manifests/render.ts), over
 * the variables these templates use.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DNS_LABEL, VARIABLES as RUNTIME_VARIABLES, renderTemplateFile, resourceVariables, templateFileVariables, templatesDir, type Variable } from "../../manifests/render.js";

export const MCP_MANIFESTS = {
  deployment: "deployment.yaml",
  service: "service.yaml",
  route: "route.yaml",
} as const;
export type McpManifestName = keyof typeof MCP_MANIFESTS;

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;

/** Every placeholder the templates use; a variable without a default must be given. */
export const MCP_VARIABLES = {
  MCP_NAME: { default: "diffusion-mcp", pattern: DNS_LABEL, allowed: "a DNS label", meaning: "name of the Deployment, Service and Route" },
  MCP_IMAGE: { pattern: RUNTIME_VARIABLES.RUNTIME_IMAGE.pattern, allowed: RUNTIME_VARIABLES.RUNTIME_IMAGE.allowed, meaning: "the image built from serving/mcp/Containerfile" },
  NAMESPACE: { pattern: DNS_LABEL, allowed: "a namespace name", meaning: "the project the server runs in (its in-cluster Host names)" },
  ROUTE_HOST: { pattern: HOSTNAME, allowed: "a DNS name, e.g. diffusion-mcp-<ns>.apps.<cluster domain>", meaning: "the Route's host; PUBLIC_URL is https://<it>" },
  ROUTE_TIMEOUT: RUNTIME_VARIABLES.ROUTE_TIMEOUT,
  ISVC_NAME: { ...RUNTIME_VARIABLES.ISVC_NAME, meaning: "the InferenceService to call (the model name in its URLs)" },
  RUNTIME_URL: {
    default: "http://stable-diffusion-predictor:80",
    pattern: /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~/-]*)?$/,
    allowed: "http(s)://host[:port]",
    meaning: "the runtime's base URL: the predictor Service of a RawDeployment InferenceService (<isvc>-predictor)",
  },
  RUNTIME_TIMEOUT_S: { default: "600", pattern: /^[0-9]+$/, allowed: "whole seconds", meaning: "limit per generation" },
  IMAGE_STORAGE: { default: "s3", pattern: /^(s3|file)$/, allowed: "s3, file", meaning: "the data connection's bucket, or the pod's emptyDir" },
  DATA_CONNECTION: { ...RUNTIME_VARIABLES.DATA_CONNECTION, default: "aws-connection-images", meaning: "the Secret with AWS_* keys for IMAGE_STORAGE=s3" },
  S3_PREFIX: { default: "mcp-images/", pattern: /^[A-Za-z0-9._/-]*$/, allowed: "a key prefix", meaning: "where images go in the bucket" },
  IMAGE_TTL: { default: "7d", pattern: /^[0-9]+(\.[0-9]+)?(ms|s|m|h|d)?$/, allowed: "0 or a duration (24h, 7d)", meaning: "how long images are kept" },
  IMAGE_RESPONSE: { default: "preview", pattern: /^(png|preview|none)$/, allowed: "png, preview, none", meaning: "the image block of tool results" },
  MCP_AUTH_SECRET: { default: "diffusion-mcp-auth", pattern: DNS_LABEL, allowed: "a Secret name", meaning: "optional Secret: `token` (bearer token of /mcp), `runtime-token`" },
  ...resourceVariables({ cpuRequest: "100m", cpuLimit: "1", memoryRequest: "256Mi", memoryLimit: "1Gi" }),
} as const satisfies Record<string, Variable>;
export type McpVariableName = keyof typeof MCP_VARIABLES;
export type McpManifestVariables = Partial<Record<McpVariableName, string>>;

/** This folder, from the sources or from dist/ (which has no YAML). */
export function mcpManifestsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return templatesDir(here, path.resolve(here, "..", "..", "..", "..", "serving", "mcp", "manifests"), MCP_MANIFESTS.deployment, "the MCP manifest templates");
}

/** The variables a template uses. */
export function mcpTemplateVariables(name: McpManifestName): McpVariableName[] {
  return templateFileVariables(mcpManifestsDir(), MCP_MANIFESTS[name]) as McpVariableName[];
}

/** One manifest, rendered and parsed into the object `oc apply` would send. */
export function renderMcpManifest(name: McpManifestName, vars: McpManifestVariables): Record<string, any> {
  return renderTemplateFile(mcpManifestsDir(), MCP_MANIFESTS[name], vars, MCP_VARIABLES);
}

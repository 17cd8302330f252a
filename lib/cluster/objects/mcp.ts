/**
 * The MCP server in a cluster: its Deployment, Service and edge-terminated Route, rendered from the
 * templates in serving/mcp/manifests/ (as the runtime's objects are from serving/manifests/), so
 * the YAML and this builder cannot drift.
 */
import type { V1Deployment, V1Service } from "@kubernetes/client-node";
import { renderMcpManifest, type McpManifestName, type McpManifestVariables } from "../../../serving/mcp/manifests/render.js";
import type { ObjectOptions } from "./meta.js";
import { renderAs, templateVariables, withMeta, type OptionVariables } from "./template.js";
import type { Route } from "./types.js";
import { oneOf, wholeNumber } from "./validate.js";

export const MCP_PORT = 8000;

export interface McpServerOptions extends ObjectOptions {
  /** Name of the Deployment, Service and Route; default "diffusion-mcp". */
  name?: string;
  /** The image built from serving/mcp/Containerfile, pinned by tag or digest. */
  image: string;
  /** The Route's host, e.g. diffusion-mcp-<namespace>.apps.<cluster domain>; PUBLIC_URL is https://<it>. */
  routeHost: string;
  /** The InferenceService to call (the model name in the runtime's URLs); default "stable-diffusion". */
  modelId?: string;
  /** The runtime's base URL; default http://stable-diffusion-predictor:80 (a RawDeployment predictor Service). */
  runtimeUrl?: string;
  runtimeTimeoutS?: number;
  /** "s3" (the data connection's bucket, default) or "file" (an emptyDir, lost with the pod). */
  imageStorage?: "s3" | "file";
  /** The data connection Secret for imageStorage s3; default aws-connection-images. */
  dataConnection?: string;
  /** Key prefix of the images in the bucket; default mcp-images/. */
  s3Prefix?: string;
  /** How long images are kept, e.g. "24h", "7d"; "0" keeps them. */
  imageTtl?: string;
  imageResponse?: "png" | "preview" | "none";
  /** Optional Secret with `token` (bearer token of /mcp) and `runtime-token`; default diffusion-mcp-auth. */
  authSecret?: string;
  /** HAProxy timeout of the Route, e.g. "10m". */
  routeTimeout?: string;
  cpuRequest?: string;
  cpuLimit?: string;
  memoryRequest?: string;
  memoryLimit?: string;
}

const MCP_OPTION_VARIABLES: OptionVariables = {
  name: "MCP_NAME",
  image: "MCP_IMAGE",
  namespace: "NAMESPACE",
  routeHost: "ROUTE_HOST",
  routeTimeout: "ROUTE_TIMEOUT",
  modelId: "ISVC_NAME",
  runtimeUrl: "RUNTIME_URL",
  runtimeTimeoutS: "RUNTIME_TIMEOUT_S",
  imageStorage: "IMAGE_STORAGE",
  dataConnection: "DATA_CONNECTION",
  s3Prefix: "S3_PREFIX",
  imageTtl: "IMAGE_TTL",
  imageResponse: "IMAGE_RESPONSE",
  authSecret: "MCP_AUTH_SECRET",
  cpuRequest: "CPU_REQUEST",
  cpuLimit: "CPU_LIMIT",
  memoryRequest: "MEMORY_REQUEST",
  memoryLimit: "MEMORY_LIMIT",
};

export function mcpServer(opts: McpServerOptions): [V1Deployment, V1Service, Route] {
  if (opts.runtimeTimeoutS !== undefined) wholeNumber("runtimeTimeoutS", opts.runtimeTimeoutS);
  if (opts.imageStorage !== undefined) oneOf("imageStorage", opts.imageStorage, ["s3", "file"] as const);
  const vars = templateVariables({ ...opts }, MCP_OPTION_VARIABLES) as McpManifestVariables;
  const render = (name: McpManifestName) => withMeta<any>(renderAs(() => renderMcpManifest(name, vars), MCP_OPTION_VARIABLES), opts);
  return [render("deployment") as V1Deployment, render("service") as V1Service, render("route") as Route];
}

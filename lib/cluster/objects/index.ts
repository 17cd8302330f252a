/**
 * Typed builders for every object the project puts in a cluster. Each takes validated options
 * (InvalidInputError names the option), sets the name and namespace from them and labels the
 * object app.kubernetes.io/managed-by and part-of diffusion-workbench. lib/cluster applies them.
 */
export { projectNamespace, type ProjectNamespaceOptions } from "./namespace.js";
export { dataConnectionSecret, type DataConnectionSecretOptions } from "./data-connection.js";
export {
  servingRuntime,
  inferenceService,
  STORAGE_TYPES,
  type ServingRuntimeOptions,
  type InferenceServiceOptions,
  type ModelStorage,
} from "./serving.js";
export { mcpServer, MCP_PORT, type McpServerOptions } from "./mcp.js";
export { dspa, type DspaOptions } from "./dspa.js";
export { pvc, ACCESS_MODES, type AccessMode, type PvcOptions } from "./pvc.js";
export { notebook, NOTEBOOK_PORT, WORKBENCH_HOME, type NotebookOptions } from "./notebook.js";
export { workbenchDeployerRole, WORKBENCH_DEPLOYER_RULES, type WorkbenchDeployerOptions } from "./rbac.js";
export { MANAGED_LABELS, type ObjectOptions } from "./meta.js";
export type { CustomResource, ServingRuntime, InferenceService, DataSciencePipelinesApplication, Notebook, Route } from "./types.js";

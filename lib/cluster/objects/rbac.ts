/**
 * What a workbench's service account needs to do from a notebook what the CLI does from a laptop:
 * deploy and remove the runtime and the MCP server, follow them, read logs, find the pipeline server
 * and call its API. A Role with exactly those rules and its RoleBinding to the workbench's account
 * (named after the workbench, as the notebook controller makes it).
 */
import type { V1PolicyRule, V1Role, V1RoleBinding } from "@kubernetes/client-node";
import { objectMeta, type ObjectOptions } from "./meta.js";
import { dnsLabel } from "./validate.js";

/** Server-side apply is a PATCH that creates what does not exist yet: patch and create both. */
const MANAGE = ["get", "list", "create", "patch", "delete"];

export const WORKBENCH_DEPLOYER_RULES: readonly V1PolicyRule[] = [
  { apiGroups: ["serving.kserve.io"], resources: ["inferenceservices", "servingruntimes"], verbs: MANAGE },
  { apiGroups: ["apps"], resources: ["deployments"], verbs: MANAGE },
  { apiGroups: [""], resources: ["services"], verbs: MANAGE },
  // routes/custom-host: the MCP server's Route names its host.
  { apiGroups: ["route.openshift.io"], resources: ["routes", "routes/custom-host"], verbs: MANAGE },
  { apiGroups: [""], resources: ["pods", "pods/log", "persistentvolumeclaims"], verbs: ["get", "list"] },
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list"] },
  // datasciencepipelinesapplications/api: what the pipeline server's proxy checks before letting a token through.
  { apiGroups: ["datasciencepipelinesapplications.opendatahub.io"], resources: ["datasciencepipelinesapplications", "datasciencepipelinesapplications/api"], verbs: ["get", "list"] },
];

export interface WorkbenchDeployerOptions extends ObjectOptions {
  /** The workbench (Notebook) whose service account gets the Role. */
  workbench: string;
}

/** The Role (default name "diffusion-workbench-deployer") and its RoleBinding to the workbench's service account. */
export function workbenchDeployerRole(opts: WorkbenchDeployerOptions): [V1Role, V1RoleBinding] {
  const metadata = objectMeta(opts, "diffusion-workbench-deployer");
  const serviceAccount = dnsLabel("workbench", opts.workbench);
  return [
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata, rules: WORKBENCH_DEPLOYER_RULES.map((r) => ({ ...r, apiGroups: [...r.apiGroups!], resources: [...r.resources!], verbs: [...r.verbs] })) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { ...metadata, labels: { ...metadata.labels } },
      subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace: metadata.namespace }],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: metadata.name },
    },
  ];
}

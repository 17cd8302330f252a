/**
 * `deploy runtime|mcp`, `status`, `url runtime|mcp`, `undeploy runtime|mcp|all`: the runtime and the
 * MCP server in an OpenShift AI project, from a workbench (its service account) or a laptop
 * (KUBECONFIG / `oc login`). Objects come from lib/cluster/objects, requests from lib/cluster.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Command } from "commander";
import { loadClusterConfig, type ClusterConfig } from "../../lib/cluster/config.js";
import { deleteObjects, listManaged, type DeleteResult } from "../../lib/cluster/delete.js";
import { DEFAULT_MCP_NAME as DEFAULT_MCP, DEFAULT_RUNTIME_NAME as DEFAULT_RUNTIME, DEFAULT_SERVING_RUNTIME, deployMcp, deployRuntime, type DeployOptions } from "../../lib/cluster/deploy.js";
import { inferenceServiceUrl, routeHost } from "../../lib/cluster/discover.js";
import { deployedObjects } from "../../lib/cluster/status.js";
import { int, oneOf } from "./parse.js";

const ISVC = "serving.kserve.io/v1beta1";

interface ClusterFlags {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

interface ApplyFlags extends ClusterFlags {
  name?: string;
  image?: string;
  wait?: boolean;
  timeout: number;
  force?: boolean;
  dryRun?: boolean;
}

/** The options every cluster command takes. */
function clusterOptions(cmd: Command): Command {
  return cmd
    .option("-n, --namespace <ns>", "the data science project (default: the context's namespace, in a workbench its own)")
    .option("--kubeconfig <file>", "kubeconfig file (default: KUBECONFIG, else the pod's service account, else ~/.kube/config)")
    .option("--context <name>", "kubeconfig context");
}

function applyOptions(cmd: Command): Command {
  return clusterOptions(cmd)
    .option("--wait", "wait until it is ready, printing progress")
    .option("--timeout <s>", "how long --wait waits, in seconds", int, 600)
    .option("--force", "take over fields another tool (kubectl, the dashboard) manages on a conflict")
    .option("--dry-run", "let the API server validate and default the objects without storing them");
}

function connect(flags: ClusterFlags): ClusterConfig {
  return loadClusterConfig({
    ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context !== undefined ? { context: flags.context } : {}),
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
  });
}

const say = (line: string) => process.stderr.write(`${line}\n`);

const FLAGS = { model: "--model", image: "--image", runtimeUrl: "--runtime-url", routeHost: "--route-host" };

function deployOptions(flags: ApplyFlags): DeployOptions {
  return {
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.wait ? { wait: true } : {}),
    ...(flags.force ? { force: true } : {}),
    ...(flags.dryRun ? { dryRun: true } : {}),
    timeoutMs: flags.timeout * 1000,
    onMessage: say,
    fieldNames: FLAGS,
  };
}

async function deployRuntimeCommand(flags: ApplyFlags & { model: string; dataConnection?: string; runtime: string; gpus?: number }): Promise<void> {
  const image = flags.image ?? (process.env.RUNTIME_IMAGE || undefined);
  const { url } = await deployRuntime(connect(flags), {
    ...deployOptions(flags),
    model: flags.model,
    runtime: flags.runtime,
    ...(image !== undefined ? { image } : {}),
    ...(flags.dataConnection !== undefined ? { dataConnection: flags.dataConnection } : {}),
    ...(flags.gpus !== undefined ? { gpus: flags.gpus } : {}),
  });
  if (flags.wait && !flags.dryRun) process.stdout.write(`${url ?? ""}\n`);
}

async function deployMcpCommand(flags: ApplyFlags & { runtimeUrl?: string; runtimeName: string; modelId?: string; routeHost?: string; imageStorage?: "s3" | "file" }): Promise<void> {
  const image = flags.image ?? (process.env.MCP_IMAGE || undefined);
  const { url } = await deployMcp(connect(flags), {
    ...deployOptions(flags),
    runtimeName: flags.runtimeName,
    ...(image !== undefined ? { image } : {}),
    ...(flags.runtimeUrl !== undefined ? { runtimeUrl: flags.runtimeUrl } : {}),
    ...(flags.modelId !== undefined ? { modelId: flags.modelId } : {}),
    ...(flags.routeHost !== undefined ? { routeHost: flags.routeHost } : {}),
    ...(flags.imageStorage !== undefined ? { imageStorage: flags.imageStorage } : {}),
  });
  if (flags.wait && !flags.dryRun) process.stdout.write(`${url}\n`);
}

async function status(flags: ClusterFlags & { json?: boolean }): Promise<void> {
  const cluster = connect(flags);
  const skipped: string[] = [];
  const rows = await deployedObjects(cluster, {
    onForbidden: (err) => skipped.push(`${err.object.kind}s (${err.missingPermission ? `${err.missingPermission.verb} ${err.missingPermission.resource} is not allowed` : err.message})`),
  });
  if (skipped.length > 0) say(`not shown, the service account may not list them: ${skipped.join(", ")}`);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ namespace: cluster.namespace, objects: rows }, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write(`nothing deployed by diffusion-workbench in namespace ${cluster.namespace}\n`);
    return;
  }
  const table = [["KIND", "NAME", "READY", "URL", "STATE"], ...rows.map((r) => [r.kind, r.name, r.ready === undefined ? "-" : r.ready ? "yes" : "no", r.url ?? r.internalUrl ?? "-", r.state])];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  process.stdout.write(`namespace ${cluster.namespace}\n`);
  for (const row of table) process.stdout.write(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join("  ")}\n`);
}

async function url(what: "runtime" | "mcp", flags: ClusterFlags & { name?: string; internal?: boolean }): Promise<void> {
  const cluster = connect(flags);
  if (what === "runtime") {
    const urls = await inferenceServiceUrl(cluster, flags.name ?? DEFAULT_RUNTIME);
    const chosen = flags.internal ? (urls.address ?? urls.url) : (urls.url ?? urls.address);
    process.stdout.write(`${chosen}\n`);
  } else {
    process.stdout.write(`${await routeHost(cluster, flags.name ?? DEFAULT_MCP)}/mcp\n`);
  }
}

async function undeploy(what: "runtime" | "mcp" | "all", flags: ClusterFlags & { name?: string; runtime: string; dryRun?: boolean }): Promise<void> {
  const cluster = connect(flags);
  const ns = cluster.namespace;
  const header = (apiVersion: string, kind: string, name: string): KubernetesObject => ({ apiVersion, kind, metadata: { name, namespace: ns } });
  let objects: KubernetesObject[];
  if (what === "runtime") {
    const name = flags.name ?? DEFAULT_RUNTIME;
    objects = [header(ISVC, "InferenceService", name)];
    // The ServingRuntime goes too when no other InferenceService of ours still uses it.
    const others = (await listManaged(cluster, { kinds: [{ apiVersion: ISVC, kind: "InferenceService" }] })).filter(
      (o) => o.metadata?.name !== name && (o as { spec?: { predictor?: { model?: { runtime?: string } } } }).spec?.predictor?.model?.runtime === flags.runtime,
    );
    if (others.length === 0) objects.push(header("serving.kserve.io/v1alpha1", "ServingRuntime", flags.runtime));
    else say(`keeping ServingRuntime/${flags.runtime}: still used by ${others.map((o) => o.metadata?.name).join(", ")}`);
  } else if (what === "mcp") {
    const name = flags.name ?? DEFAULT_MCP;
    objects = [header("apps/v1", "Deployment", name), header("v1", "Service", name), header("route.openshift.io/v1", "Route", name)];
  } else {
    // Serving objects only: data connections, volumes, the pipeline server and workbenches hold data and belong to setup.
    objects = await listManaged(cluster, {
      kinds: [
        { apiVersion: ISVC, kind: "InferenceService" },
        { apiVersion: "serving.kserve.io/v1alpha1", kind: "ServingRuntime" },
        { apiVersion: "apps/v1", kind: "Deployment" },
        { apiVersion: "v1", kind: "Service" },
        { apiVersion: "route.openshift.io/v1", kind: "Route" },
      ],
    });
  }
  const report = (r: DeleteResult) => say(`${r.object.kind}/${r.object.name} ${r.deleted ? "deleted" : "was already gone"}${flags.dryRun ? " (dry run)" : ""}`);
  const results = await deleteObjects(cluster, objects, { ...(flags.dryRun ? { dryRun: true } : {}), onDeleted: report });
  if (results.length === 0) say(`nothing deployed by diffusion-workbench in namespace ${ns}`);
}

export function registerCluster(program: Command): void {
  const deploy = program.command("deploy").description("deploy the runtime or the MCP server to an OpenShift AI project (server-side apply)");
  applyOptions(
    deploy
      .command("runtime")
      .description("the KServe runtime: a ServingRuntime (with --image) and an InferenceService for --model")
      .option("--model <location>", "tiny | s3://<bucket>/<path> | pvc://<claim>/<path> | <owner>/<name> (Hub id)", "tiny")
      .option("--name <name>", "InferenceService name (the model name in URLs)", DEFAULT_RUNTIME)
      .option("--image <image>", "runtime image; creates or updates the ServingRuntime (env RUNTIME_IMAGE)")
      .option("--runtime <name>", "ServingRuntime name", DEFAULT_SERVING_RUNTIME)
      .option("--data-connection <secret>", "S3 data connection for s3:// models (default aws-connection-models)")
      .option("--gpus <n>", "GPUs per replica for a real model", int),
  ).action((_o, cmd: Command) => deployRuntimeCommand(cmd.optsWithGlobals()));
  applyOptions(
    deploy
      .command("mcp")
      .description("the MCP server: a Deployment, a Service and a Route, pointed at the runtime")
      .option("--name <name>", "name of the Deployment, Service and Route", DEFAULT_MCP)
      .option("--image <image>", "MCP server image (env MCP_IMAGE)")
      .option("--runtime-url <url>", "the runtime's base URL (default: the InferenceService's in-cluster address)")
      .option("--runtime-name <name>", "the runtime's InferenceService", DEFAULT_RUNTIME)
      .option("--model-id <id>", "model name in the runtime's URLs (default: --runtime-name)")
      .option("--route-host <host>", "the Route's host (default: <name>-<namespace> in the runtime Route's apps domain)")
      .option("--image-storage <where>", "s3 (the images data connection, default) or file (lost with the pod)", oneOf(["s3", "file"] as const)),
  ).action((_o, cmd: Command) => deployMcpCommand(cmd.optsWithGlobals()));

  clusterOptions(program.command("status").description("what diffusion-workbench deployed in the project, whether it is ready, its URLs"))
    .option("--json", "print JSON")
    .action((_o, cmd: Command) => status(cmd.optsWithGlobals()));

  clusterOptions(
    program
      .command("url")
      .description("print the URL of the runtime (InferenceService) or of the MCP endpoint (Route)")
      .argument("<what>", "runtime | mcp", oneOf(["runtime", "mcp"] as const))
      .option("--name <name>", `InferenceService or MCP name (default ${DEFAULT_RUNTIME} / ${DEFAULT_MCP})`)
      .option("--internal", "the in-cluster address of the runtime instead of its external URL"),
  ).action((what: "runtime" | "mcp", _o, cmd: Command) => url(what, cmd.optsWithGlobals()));

  clusterOptions(
    program
      .command("undeploy")
      .description("delete the runtime, the MCP server, or all serving objects diffusion-workbench made (data connections and volumes stay)")
      .argument("<what>", "runtime | mcp | all", oneOf(["runtime", "mcp", "all"] as const))
      .option("--name <name>", `InferenceService or MCP name (default ${DEFAULT_RUNTIME} / ${DEFAULT_MCP})`)
      .option("--runtime <name>", "ServingRuntime to remove with the last InferenceService using it", DEFAULT_SERVING_RUNTIME)
      .option("--dry-run", "ask the API server what would be deleted, without deleting"),
  ).action((what: "runtime" | "mcp" | "all", _o, cmd: Command) => undeploy(what, cmd.optsWithGlobals()));
}

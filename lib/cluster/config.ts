/**
 * Finding the cluster: the Kubernetes config the way a workbench has it, or a kubeconfig file.
 *
 * Order: an explicit kubeconfig (option or `KUBECONFIG`, which may list several files) first, since
 * setting it is a deliberate choice; then the pod's service account (an OpenShift AI workbench runs
 * as one: token and namespace files under /var/run/secrets/kubernetes.io/serviceaccount plus
 * `KUBERNETES_SERVICE_HOST`); then `~/.kube/config` (after `oc login`). The namespace is the
 * option's, else the context's (the service account's namespace file in a workbench), else "default".
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { WorkbenchError } from "../errors.js";
import { clientNode } from "./client-node.js";

/** Where a pod's service account files are mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export type ClusterConfigSource = "kubeconfig" | "in-cluster";

/** A loaded config: what every cluster function takes first. */
export interface ClusterConfig {
  kubeConfig: KubeConfig;
  /** The namespace objects go to unless they name one (the data science project). */
  namespace: string;
  source: ClusterConfigSource;
  /** The kubeconfig file(s) read, or the service account folder. */
  from: string;
}

export interface LoadClusterConfigOptions {
  /** A kubeconfig file; overrides `KUBECONFIG`. */
  kubeconfig?: string;
  /** The kubeconfig context to use (default: its current-context). */
  context?: string;
  namespace?: string;
  /** Prefix for the service account folder, so tests can lay out the files in a temp dir. */
  fsRoot?: string;
}

function newKubeConfig(): KubeConfig {
  return new (clientNode().KubeConfig)();
}

/** Load the Kubernetes config (see the order above); throws when none is found. */
export function loadClusterConfig(opts: LoadClusterConfigOptions = {}): ClusterConfig {
  // process.env, not an option: client-node's loadFromCluster reads KUBERNETES_SERVICE_HOST/PORT from it too.
  const env = process.env;
  const kc = newKubeConfig();
  const saDir = `${opts.fsRoot ?? ""}${SERVICE_ACCOUNT_DIR}`;
  const homeConfig = path.join(env.HOME ?? os.homedir(), ".kube", "config");
  let source: ClusterConfigSource;
  let from: string;
  const explicit = opts.kubeconfig ?? (env.KUBECONFIG || undefined);
  if (explicit !== undefined) {
    const files = explicit.split(path.delimiter).filter((f) => f !== "");
    const existing = files.filter((f) => existsSync(f));
    if (existing.length === 0) {
      throw new WorkbenchError(`kubeconfig: ${files.join(", ")} does not exist (from ${opts.kubeconfig ? "the kubeconfig option" : "KUBECONFIG"})`);
    }
    kc.loadFromFile(existing[0]);
    for (const extra of existing.slice(1)) {
      // Later files only add clusters, users and contexts, as kubectl merges them.
      const more = newKubeConfig();
      more.loadFromFile(extra);
      kc.mergeConfig(more, true);
    }
    source = "kubeconfig";
    from = files.join(path.delimiter);
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(path.join(saDir, "token"))) {
    kc.loadFromCluster(opts.fsRoot ?? "");
    source = "in-cluster";
    from = saDir;
  } else if (existsSync(homeConfig)) {
    kc.loadFromFile(homeConfig);
    source = "kubeconfig";
    from = homeConfig;
  } else {
    throw new WorkbenchError(
      "no Kubernetes config found: not in a pod with a service account (" + saDir + "/token), " +
        "KUBECONFIG is not set and " + homeConfig + " does not exist; run 'oc login' or set KUBECONFIG",
    );
  }
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null) {
      throw new WorkbenchError(`kubeconfig: no context "${opts.context}" in ${from} (contexts: ${kc.getContexts().map((c) => c.name).join(", ")})`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (kc.getCurrentCluster() === null) throw new WorkbenchError(`kubeconfig: the current context of ${from} names no cluster`);
  return { kubeConfig: kc, namespace: opts.namespace ?? contextNamespace(kc, source, saDir) ?? "default", source, from };
}

function contextNamespace(kc: KubeConfig, source: ClusterConfigSource, saDir: string): string | undefined {
  if (source === "in-cluster") {
    // client-node keeps the file's trailing newline, if any; read it ourselves.
    const file = path.join(saDir, "namespace");
    return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
  }
  return kc.getContextObject(kc.getCurrentContext())?.namespace || undefined;
}

/** A config for one API server URL and bearer token (tests, port-forwards, CI). */
export function clusterConfigFor(server: string, token: string, namespace = "default"): ClusterConfig {
  const kc = newKubeConfig();
  kc.loadFromOptions({
    // client-node refuses plain http unless skipTLSVerify is set (there is no TLS to verify then);
    // an https server keeps verification.
    clusters: [{ name: "cluster", server, skipTLSVerify: server.startsWith("http:") }],
    users: [{ name: "user", token }],
    contexts: [{ name: "context", cluster: "cluster", user: "user", namespace }],
    currentContext: "context",
  });
  return { kubeConfig: kc, namespace, source: "kubeconfig", from: server };
}

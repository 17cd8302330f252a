import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { applyObjects } from "../../lib/cluster/apply.js";
import { clusterConfigFor, loadClusterConfig, SERVICE_ACCOUNT_DIR } from "../../lib/cluster/config.js";
import { FakeApiServer } from "./fake-apiserver.js";

let tmp: string;
let api: FakeApiServer;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "cluster-config-"));
  api = await new FakeApiServer().start();
});
afterAll(async () => {
  await api.close();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** The files Kubernetes mounts into a pod for its service account, under `root`. */
async function serviceAccount(root: string, namespace: string): Promise<void> {
  const dir = path.join(root, SERVICE_ACCOUNT_DIR);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "token"), "sa-token");
  await writeFile(path.join(dir, "namespace"), `${namespace}\n`);
  await writeFile(path.join(dir, "ca.crt"), "");
}

describe("loadClusterConfig", () => {
  it("uses a workbench's service account: the API server from the environment, the token file, the namespace file", async () => {
    const root = path.join(tmp, "pod");
    await serviceAccount(root, "my-project");
    vi.stubEnv("KUBECONFIG", "");
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "172.30.0.1");
    vi.stubEnv("KUBERNETES_SERVICE_PORT", "443");
    const c = loadClusterConfig({ fsRoot: root });
    expect(c.source).toBe("in-cluster");
    expect(c.namespace).toBe("my-project");
    expect(c.from).toBe(`${root}${SERVICE_ACCOUNT_DIR}`);
    expect(c.kubeConfig.getCurrentCluster()?.server).toBe("https://172.30.0.1:443");
    const opts: { headers?: Record<string, string> } = {};
    await c.kubeConfig.applyToHTTPSOptions(opts);
    expect(opts.headers?.Authorization).toBe("Bearer sa-token");
    expect(loadClusterConfig({ fsRoot: root, namespace: "other" }).namespace).toBe("other");
  });

  it("prefers an explicit KUBECONFIG, takes the namespace from its context, and talks to the server it names", async () => {
    const root = path.join(tmp, "pod2");
    await serviceAccount(root, "my-project");
    const file = path.join(tmp, "kubeconfig");
    await writeFile(file, api.kubeconfig("team"));
    vi.stubEnv("KUBECONFIG", file);
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "172.30.0.1");
    const c = loadClusterConfig({ fsRoot: root });
    expect({ source: c.source, namespace: c.namespace, from: c.from }).toEqual({ source: "kubeconfig", namespace: "team", from: file });
    await applyObjects(c, [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" } }]);
    expect(api.calls().map((r) => `${r.method} ${r.path} ${r.authorization}`)).toEqual(["PATCH /api/v1/namespaces/team/configmaps/cm Bearer test-token"]);
  });

  it("reads ~/.kube/config when neither KUBECONFIG nor a service account is there", async () => {
    const home = path.join(tmp, "home");
    await mkdir(path.join(home, ".kube"), { recursive: true });
    await writeFile(path.join(home, ".kube", "config"), api.kubeconfig(""));
    vi.stubEnv("KUBECONFIG", "");
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "");
    vi.stubEnv("HOME", home);
    const c = loadClusterConfig({ fsRoot: path.join(tmp, "nowhere") });
    expect({ source: c.source, namespace: c.namespace }).toEqual({ source: "kubeconfig", namespace: "default" });
  });

  it("says what it looked for when there is no config at all, and names a missing file or context", async () => {
    vi.stubEnv("KUBECONFIG", "");
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "");
    vi.stubEnv("HOME", path.join(tmp, "empty-home"));
    expect(() => loadClusterConfig({ fsRoot: path.join(tmp, "nowhere") })).toThrow(
      `no Kubernetes config found: not in a pod with a service account (${tmp}/nowhere${SERVICE_ACCOUNT_DIR}/token), KUBECONFIG is not set and ${tmp}/empty-home/.kube/config does not exist; run 'oc login' or set KUBECONFIG`,
    );
    expect(() => loadClusterConfig({ kubeconfig: path.join(tmp, "missing") })).toThrow(`kubeconfig: ${tmp}/missing does not exist (from the kubeconfig option)`);
    const file = path.join(tmp, "kubeconfig2");
    await writeFile(file, api.kubeconfig());
    expect(() => loadClusterConfig({ kubeconfig: file, context: "prod" })).toThrow(`kubeconfig: no context "prod" in ${file} (contexts: fake)`);
  });

  it("makes a config for one server URL and token, which plain http needs skipTLSVerify for", async () => {
    const c = clusterConfigFor(api.url, api.token, "ci");
    expect(c.kubeConfig.getCurrentCluster()).toMatchObject({ server: api.url, skipTLSVerify: true });
    expect(clusterConfigFor("https://api.example.com:6443", "t").kubeConfig.getCurrentCluster()).toMatchObject({ skipTLSVerify: false });
    await applyObjects(c, [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm2" } }]);
    expect(api.calls().at(-1)?.path).toBe("/api/v1/namespaces/ci/configmaps/cm2");
  });
});

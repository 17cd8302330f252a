/**
 * A loopback HTTP server that answers as the Kubernetes API server does, for the parts
 * lib/cluster uses: discovery (/api, /apis, /api/v1, /apis/<group>/<version>), server-side apply
 * (PATCH with application/apply-patch+yaml and fieldManager), GET of objects (with status) and
 * lists (label selectors), DELETE, pod logs, bearer-token checks, and scripted error answers with
 * real `Status` bodies. Every request is recorded for exact asserts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parse as parseYaml, stringify } from "yaml";
import { KubeConfig } from "@kubernetes/client-node";
import type { ClusterConfig } from "../../lib/cluster/config.js";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  authorization?: string;
  body?: unknown;
}

interface ResourceDef {
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** The group/versions served, with their kinds: what a cluster with OpenShift AI has. */
const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const SERVED: Record<string, ResourceDef[]> = {
  v1: [
    { kind: "Namespace", plural: "namespaces", namespaced: false },
    { kind: "Secret", plural: "secrets", namespaced: true },
    { kind: "ConfigMap", plural: "configmaps", namespaced: true },
    { kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims", namespaced: true },
    { kind: "Service", plural: "services", namespaced: true },
    { kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true },
    { kind: "Pod", plural: "pods", namespaced: true },
  ],
  "apps/v1": [{ kind: "Deployment", plural: "deployments", namespaced: true }],
  "batch/v1": [{ kind: "Job", plural: "jobs", namespaced: true }],
  "rbac.authorization.k8s.io/v1": [
    { kind: "Role", plural: "roles", namespaced: true },
    { kind: "RoleBinding", plural: "rolebindings", namespaced: true },
  ],
  "route.openshift.io/v1": [{ kind: "Route", plural: "routes", namespaced: true }],
  "serving.kserve.io/v1beta1": [{ kind: "InferenceService", plural: "inferenceservices", namespaced: true }],
  "serving.kserve.io/v1alpha1": [{ kind: "ServingRuntime", plural: "servingruntimes", namespaced: true }],
  "datasciencepipelinesapplications.opendatahub.io/v1": [
    { kind: "DataSciencePipelinesApplication", plural: "datasciencepipelinesapplications", namespaced: true },
  ],
  "kubeflow.org/v1": [{ kind: "Notebook", plural: "notebooks", namespaced: true }],
};

/** A Kubernetes `Status` failure body, as the API server writes it. */
export function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code };
}

/** The 403 the RBAC authorizer answers. */
export function forbiddenBody(opts: { user: string; verb: string; plural: string; group: string; namespace: string; name?: string }): Record<string, unknown> {
  const qualified = opts.group ? `${opts.plural}.${opts.group}` : opts.plural;
  const target = opts.name ? `${qualified} "${opts.name}"` : qualified;
  return statusBody(
    403,
    "Forbidden",
    `${target} is forbidden: User "${opts.user}" cannot ${opts.verb} resource "${opts.plural}" in API group "${opts.group}" in the namespace "${opts.namespace}"`,
    { ...(opts.name ? { name: opts.name } : {}), group: opts.group, kind: opts.plural },
  );
}

interface Scripted {
  method: string;
  path: string;
  code: number;
  body: unknown;
}

type ReadHook = (obj: Record<string, any>, count: number) => void;

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly token = "test-token";
  private readonly store = new Map<string, Record<string, any>>();
  private readonly logs = new Map<string, string>();
  private readonly scripted: Scripted[] = [];
  private readonly hooks = new Map<string, { fn: ReadHook; count: number }>();
  private server?: Server;
  private uid = 0;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** A ClusterConfig pointing here, with this server's token. */
  config(namespace = "proj"): ClusterConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(this.kubeconfig(namespace));
    return { kubeConfig, namespace, source: "kubeconfig", from: this.url };
  }

  /** A kubeconfig file's text pointing here. */
  kubeconfig(namespace = "proj"): string {
    return stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "dev", user: { token: this.token } }],
      contexts: [{ name: "fake", context: { cluster: "fake", user: "dev", namespace } }],
      "current-context": "fake",
    });
  }

  /** Requests other than discovery GETs, which client-node makes once per group/version. */
  calls(): RecordedRequest[] {
    return this.requests.filter((r) => !(r.method === "GET" && isDiscoveryPath(r.path)));
  }

  /** Answer the next request with this method and path with `code` and `body` (once). */
  failNext(method: string, path: string, code: number, body: unknown): void {
    this.scripted.push({ method, path, code, body });
  }

  /** Store an object as if someone created it (pods, objects of other managers). */
  put(obj: Record<string, any>): void {
    const def = defFor(obj.apiVersion, obj.kind);
    this.store.set(key(obj.apiVersion, def.plural, obj.metadata.namespace, obj.metadata.name), structuredClone(obj));
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Record<string, any> | undefined {
    return this.store.get(key(apiVersion, defFor(apiVersion, kind).plural, namespace, name));
  }

  setStatus(apiVersion: string, kind: string, namespace: string, name: string, status: Record<string, unknown>): void {
    const obj = this.get(apiVersion, kind, namespace, name);
    if (obj === undefined) throw new Error(`no ${kind} ${namespace}/${name} stored`);
    obj.status = status;
  }

  /** Run `fn` before answering each GET of one object (count starts at 1): readiness over time. */
  onRead(apiVersion: string, kind: string, namespace: string, name: string, fn: ReadHook): void {
    this.hooks.set(key(apiVersion, defFor(apiVersion, kind).plural, namespace, name), { fn, count: 0 });
  }

  setLog(namespace: string, pod: string, text: string, container = ""): void {
    this.logs.set(`${namespace}/${pod}/${container}`, text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const contentType = req.headers["content-type"];
    const rec: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(contentType ? { contentType } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(raw ? { body: parseYaml(raw) as unknown } : {}),
    };
    this.requests.push(rec);
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return json(401, statusBody(401, "Unauthorized", "Unauthorized"));
    const i = this.scripted.findIndex((s) => s.method === rec.method && s.path === rec.path);
    if (i !== -1) {
      const [s] = this.scripted.splice(i, 1);
      return json(s.code, s.body);
    }
    const answer = this.route(rec);
    if (typeof answer.body === "string") {
      res.writeHead(answer.code, { "content-type": "text/plain" });
      return void res.end(answer.body);
    }
    json(answer.code, answer.body);
  }

  private route(r: RecordedRequest): { code: number; body: unknown } {
    const notFound = { code: 404, body: statusBody(404, "NotFound", "the server could not find the requested resource") };
    if (r.path === "/api") return { code: 200, body: { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] } };
    if (r.path === "/apis") {
      const groups = new Map<string, string[]>();
      for (const gv of Object.keys(SERVED).filter((g) => g.includes("/"))) {
        const [g, v] = gv.split("/");
        groups.set(g, [...(groups.get(g) ?? []), v]);
      }
      return {
        code: 200,
        body: {
          kind: "APIGroupList",
          apiVersion: "v1",
          groups: [...groups].map(([name, vs]) => ({
            name,
            versions: vs.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
            preferredVersion: { groupVersion: `${name}/${vs[0]}`, version: vs[0] },
          })),
        },
      };
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/(.*))?$/.exec(r.path);
    if (!m) return notFound;
    const gv = m[1] ?? m[2];
    const defs = SERVED[gv];
    if (defs === undefined) return notFound;
    if (m[3] === undefined) {
      return {
        code: 200,
        body: {
          kind: "APIResourceList",
          apiVersion: "v1",
          groupVersion: gv,
          resources: defs.flatMap((d) => [
            { name: d.plural, singularName: d.kind.toLowerCase(), namespaced: d.namespaced, kind: d.kind, verbs: VERBS },
            ...(d.kind === "Pod" ? [{ name: "pods/log", singularName: "", namespaced: true, kind: "Pod", verbs: ["get"] }] : []),
          ]),
        },
      };
    }
    let segs = m[3].split("/").map(decodeURIComponent);
    let namespace: string | undefined;
    if (segs[0] === "namespaces" && segs.length >= 3) {
      namespace = segs[1];
      segs = segs.slice(2);
    }
    const [plural, name, sub] = segs;
    const def = defs.find((d) => d.plural === plural);
    if (def === undefined) return notFound;
    const group = gv.includes("/") ? gv.split("/")[0] : "";
    const qualified = group ? `${plural}.${group}` : plural;
    const k = key(gv, plural, namespace, name ?? "");
    const stored = this.store.get(k);
    const missing = { code: 404, body: statusBody(404, "NotFound", `${qualified} "${name}" not found`, { name, group, kind: plural }) };
    if (r.method === "GET" && name === undefined) {
      const wanted = parseSelector(r.query.labelSelector);
      const items = [...this.store.entries()]
        .filter(([sk, o]) => sk.startsWith(`${gv}|${plural}|${namespace ?? ""}|`) && wanted.every(([lk, lv]) => o.metadata?.labels?.[lk] === lv))
        .map(([, o]) => {
          const { apiVersion: _a, kind: _k, ...rest } = o;
          return rest;
        });
      return { code: 200, body: { kind: `${def.kind}List`, apiVersion: gv, metadata: { resourceVersion: String(this.uid) }, items } };
    }
    if (r.method === "GET" && sub === "log") {
      if (stored === undefined) return missing;
      const text = this.logs.get(`${namespace}/${name}/${r.query.container ?? ""}`) ?? "";
      const lines = text.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);
      const tail = r.query.tailLines ? lines.slice(-Number(r.query.tailLines)) : lines;
      return { code: 200, body: tail.map((l) => `${l}\n`).join("") };
    }
    if (r.method === "GET") {
      if (stored === undefined) return missing;
      const hook = this.hooks.get(k);
      if (hook) hook.fn(stored, ++hook.count);
      return { code: 200, body: stored };
    }
    if (r.method === "DELETE") {
      if (stored === undefined) return missing;
      if (r.query.dryRun === undefined) this.store.delete(k);
      return { code: 200, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group, kind: plural, uid: stored.metadata.uid } } };
    }
    if (r.method === "PATCH") {
      if (r.contentType !== "application/apply-patch+yaml") {
        return { code: 415, body: statusBody(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml`) };
      }
      if (!r.query.fieldManager) {
        return { code: 422, body: statusBody(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch') };
      }
      const body = r.body as Record<string, any>;
      if (body?.kind !== def.kind || body?.apiVersion !== gv || body?.metadata?.name !== name) {
        return { code: 400, body: statusBody(400, "BadRequest", `the body's kind, apiVersion or name does not match ${r.path}`) };
      }
      const now = "2026-01-01T00:00:00Z";
      const obj = {
        ...body,
        metadata: {
          ...body.metadata,
          ...(namespace ? { namespace } : {}),
          uid: stored?.metadata.uid ?? `uid-${++this.uid}`,
          resourceVersion: String(++this.uid),
          generation: (stored?.metadata.generation ?? 0) + 1,
          creationTimestamp: stored?.metadata.creationTimestamp ?? now,
        },
        ...(stored?.status ? { status: stored.status } : {}),
      };
      if (r.query.dryRun === undefined) this.store.set(k, obj);
      return { code: stored ? 200 : 201, body: obj };
    }
    return { code: 405, body: statusBody(405, "MethodNotAllowed", `${r.method} is not supported here`) };
  }
}

function key(gv: string, plural: string, namespace: string | undefined, name: string): string {
  return `${gv}|${plural}|${namespace ?? ""}|${name}`;
}

function defFor(apiVersion: string, kind: string): ResourceDef {
  const def = SERVED[apiVersion]?.find((d) => d.kind === kind);
  if (def === undefined) throw new Error(`the fake API server does not serve ${apiVersion} ${kind}`);
  return def;
}

function isDiscoveryPath(p: string): boolean {
  return p === "/api" || p === "/apis" || /^\/(api\/v1|apis\/[^/]+\/[^/]+)$/.test(p);
}

function parseSelector(sel: string | undefined): [string, string][] {
  if (!sel) return [];
  return sel.split(",").map((part) => part.split("=") as [string, string]);
}

/**
 * Finding a Data Science Pipelines server and a token for it, from what a workbench or laptop has.
 *
 * The DataSciencePipelinesApplication (datasciencepipelinesapplications.opendatahub.io/v1) reports its
 * API server in `status.components.apiServer`: `externalUrl` (the route, reachable from outside the
 * cluster) and `url` (the service, `https://ds-pipeline-<name>.<namespace>.svc.cluster.local:8443`).
 * These functions are pure on the object (or on files), so the Kubernetes side can GET the DSPA and
 * hand it over.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { InvalidInputError, WorkbenchError } from "../errors.js";

/** Where a pod's service account token is mounted (kubelet refreshes it before it expires). */
export const SERVICE_ACCOUNT_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** The bucket the operator creates in its own Minio when the DSPA names none. */
const DSPA_MINIO_DEFAULT_BUCKET = "mlpipeline";

interface DspaLike {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    objectStorage?: {
      externalStorage?: { bucket?: string; basePath?: string };
      minio?: { bucket?: string };
    };
  };
  status?: {
    components?: { apiServer?: { externalUrl?: string; url?: string } };
    conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
  };
}

function nameOf(d: DspaLike): string {
  const m = d.metadata ?? {};
  return m.namespace ? `DataSciencePipelinesApplication "${m.name}" in namespace "${m.namespace}"` : `DataSciencePipelinesApplication "${m.name ?? "?"}"`;
}

export interface PipelinesApiFromDspaOptions {
  /**
   * Prefer the in-cluster service URL (`status.components.apiServer.url`) over the route. Right in a
   * workbench pod (no trip out through the router; its certificate is signed by the service CA,
   * /var/run/secrets/kubernetes.io/serviceaccount/service-ca.crt). Default false: the route.
   */
  inCluster?: boolean;
}

/**
 * The pipelines API base URL of a DSPA, from its status (the route unless `inCluster`; the other one
 * when only that is set). Throws naming the DSPA and its Ready condition when the status has none yet.
 */
export function pipelinesApiFromDspa(dspa: object, opts: PipelinesApiFromDspaOptions = {}): string {
  const d = dspa as DspaLike;
  const api = d.status?.components?.apiServer ?? {};
  const order = opts.inCluster ? [api.url, api.externalUrl] : [api.externalUrl, api.url];
  const url = order.find((u) => typeof u === "string" && u !== "");
  if (url !== undefined) return url.replace(/\/+$/, "");
  const ready = d.status?.conditions?.find((c) => c.type === "Ready");
  const why = ready
    ? `its Ready condition is ${ready.status}${ready.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ""})` : ""}`
    : "it has no status conditions yet";
  throw new WorkbenchError(`${nameOf(d)} reports no API server URL (status.components.apiServer): ${why}; wait for it to be Ready`);
}

/**
 * The default pipeline root of a DSPA: `s3://<bucket>[/<basePath>]`, as the operator writes it into
 * the `kfp-launcher` ConfigMap (defaultPipelineRoot) that the pipeline pods read.
 */
export function pipelineRootFromDspa(dspa: object): string {
  const d = dspa as DspaLike;
  const storage = d.spec?.objectStorage;
  if (storage?.externalStorage !== undefined) {
    const { bucket, basePath } = storage.externalStorage;
    if (!bucket) throw new InvalidInputError("spec.objectStorage.externalStorage.bucket", `${nameOf(d)} names no bucket`);
    const base = (basePath ?? "").replace(/^\/+|\/+$/g, "");
    return base === "" ? `s3://${bucket}` : `s3://${bucket}/${base}`;
  }
  if (storage?.minio !== undefined) return `s3://${storage.minio.bucket || DSPA_MINIO_DEFAULT_BUCKET}`;
  throw new InvalidInputError("spec.objectStorage", `${nameOf(d)} has no object storage`, "externalStorage or minio");
}

export interface DefaultTokenOptions {
  /** The token file to read first (default the service account's). */
  tokenFile?: string;
  /** Run `oc whoami -t` when there is no token file (default true). */
  useOc?: boolean;
}

/**
 * A bearer token for the pipelines API: the pod's service account token when running in a workbench,
 * else the `oc` CLI's session token (`oc whoami -t`, after `oc login`). Undefined when there is neither.
 * Service account tokens rotate: pass `token: () => defaultToken()` to read it again for each request.
 */
export function defaultToken(opts: DefaultTokenOptions = {}): string | undefined {
  const file = opts.tokenFile ?? SERVICE_ACCOUNT_TOKEN_FILE;
  if (existsSync(file)) {
    const token = readFileSync(file, "utf8").trim();
    if (token !== "") return token;
  }
  if (opts.useOc === false) return undefined;
  try {
    const out = execFileSync("oc", ["whoami", "-t"], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] }).trim();
    return out === "" ? undefined : out;
  } catch {
    // no oc on PATH, or not logged in
    return undefined;
  }
}

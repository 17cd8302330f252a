/**
 * Errors of the Data Science Pipelines client: what the API said and what to do about it.
 *
 * Three kinds of error bodies reach the client:
 * - grpc-gateway answers (every generated route): a google.rpc.Status, `{code, message, details}`
 *   (older gateways also wrote `error`, the same text as `message`);
 * - the multipart upload handler: `{error_message, error_details}` (the v1beta1 `Error` message,
 *   marshalled by encoding/json; pipeline_upload_server.go `writeErrorToResponse`);
 * - the kube-rbac-proxy / oauth-proxy in front of the DSP route: plain text ("Unauthorized",
 *   "Forbidden (user=..., verb=get, resource=datasciencepipelinesapplications, subresource=api)").
 */
import { WorkbenchError } from "../errors.js";

/** What a request was about, to name it in messages: `run "abc"`, `pipeline "train"`. */
export interface PipelinesTarget {
  kind: "run" | "runs" | "pipeline" | "pipelines" | "pipeline version" | "pipeline versions";
  /** The id or name the request used, when it was about one object. */
  id?: string;
  /** What the request did, to start messages with (default: the method and the object). */
  action?: string;
}

/** A request to the pipelines API failed (an HTTP error answer, or no answer at all). */
export class PipelinesApiError extends WorkbenchError {
  override name = "PipelinesApiError";
  constructor(
    message: string,
    /** HTTP status; 0 when no answer came back (connection refused, TLS failure, timeout). */
    readonly status: number,
    readonly method: string,
    /** Path and query of the request, without the host. */
    readonly path: string,
    /** The API's own message, as it sent it. */
    readonly apiMessage: string | undefined,
    /** What to do about it, in one sentence. */
    readonly hint: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** waitForRun ran out of time before the run reached a terminal state. */
export class PipelinesWaitTimeoutError extends WorkbenchError {
  override name = "PipelinesWaitTimeoutError";
  constructor(
    readonly runId: string,
    /** The state of the last poll ("RUNTIME_STATE_UNSPECIFIED" when the server reported none). */
    readonly lastState: string,
    readonly timeoutMs: number,
  ) {
    super(`run "${runId}" did not finish within ${timeoutMs} ms; its last state was ${lastState}`);
  }
}

/** The message in an error body of any of the three kinds above. */
export function apiMessageOf(body: string): string | undefined {
  const text = body.trim();
  if (text === "") return undefined;
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    for (const key of ["message", "error_message", "error"]) {
      if (typeof json[key] === "string" && json[key] !== "") return json[key];
    }
  } catch {
    // not JSON: a proxy's plain-text answer
  }
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

function describe(t: PipelinesTarget): string {
  return t.id === undefined ? t.kind : `${t.kind} "${t.id}"`;
}

/**
 * The hint for a status. The DSP route checks `get` on the `datasciencepipelinesapplications/api`
 * subresource (kube-rbac-proxy config of the data-science-pipelines-operator; older operators ran
 * oauth-proxy with a `get routes` check instead); the API server itself,
 * in multi-user mode, checks the pipelines.kubeflow.org resources with a SubjectAccessReview.
 */
function hintFor(status: number, target: PipelinesTarget): string | undefined {
  switch (status) {
    case 401:
      return "the bearer token is missing or expired: pass `token` (after 'oc login', `oc whoami -t`; in a workbench, the service account token file)";
    case 403:
      return (
        "the token's user may not use this pipelines server: DSP allows users who can 'get' the subresource " +
        "datasciencepipelinesapplications/api (API group datasciencepipelinesapplications.opendatahub.io) of the DSPA in its namespace; " +
        "ask for a Role with apiGroups: [datasciencepipelinesapplications.opendatahub.io], resources: [datasciencepipelinesapplications/api], verbs: [get] " +
        "(older DSP versions, behind oauth-proxy, check 'get' on the route ds-pipeline-<dspa> instead: Role ds-pipeline-user-access-<dspa>)"
      );
    case 404:
      return target.id === undefined
        ? "the URL may not be a pipelines API server: use the DSPA's status.components.apiServer.externalUrl (or url inside the cluster)"
        : `no ${describe(target)} on this server: check the id, and that the client talks to the DSPA of the right project`;
    case 409:
      return target.kind === "pipeline"
        ? "a pipeline with this name already exists: upload a new version of it (findPipeline gives its id) or choose another name"
        : "it already exists: choose another name";
    case 0:
      return "no answer from the server: check the URL, the network route, and the CA (option `ca`) for an https URL with a cluster-signed certificate";
    default:
      return status >= 500 ? "the pipelines API server failed: see the ds-pipeline-<dspa> pod's log in the DSPA namespace" : undefined;
  }
}

/** The error for an HTTP answer outside 2xx. */
export function httpError(status: number, method: string, path: string, body: string, target: PipelinesTarget): PipelinesApiError {
  const apiMessage = apiMessageOf(body);
  const hint = hintFor(status, target);
  const what = target.action ?? `${method} ${describe(target)}`;
  const message = `${what}: HTTP ${status}${apiMessage ? `: ${apiMessage}` : ""}${hint ? `; ${hint}` : ""}`;
  return new PipelinesApiError(message, status, method, path, apiMessage, hint);
}

/** The error for a request that got no answer. */
export function connectionError(method: string, url: URL, err: unknown, target: PipelinesTarget): PipelinesApiError {
  const reason = err instanceof Error ? (errorCode(err) ?? err.message) : String(err);
  const hint = hintFor(0, target);
  return new PipelinesApiError(
    `${target.action ?? `${method} ${describe(target)}`}: no answer from ${url.origin} (${reason}); ${hint}`,
    0, method, url.pathname + url.search, undefined, hint, { cause: err },
  );
}

/** The errno-style code of a network error (`ECONNREFUSED`, `UND_ERR_CONNECT_TIMEOUT`), also when wrapped in `cause`. */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

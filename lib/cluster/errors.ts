/**
 * Errors from the Kubernetes API, turned into messages a data scientist can act on: which object,
 * in which namespace, what the API server said, and for a 403 the Role rule that is missing.
 *
 * client-node throws `ApiException` (HTTP code + the parsed `Status` body) for answers outside
 * 2xx, and plain `Error`s when discovery cannot resolve a kind; both come through `toClusterError`.
 */
import type { ApiException } from "@kubernetes/client-node";
import { WorkbenchError } from "../errors.js";

/** What a request was about: enough to name it in a message. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name?: string;
  namespace?: string;
}

/** The operation, as the RBAC verb it needs (server-side apply is a `patch`, reading is a `get`). */
export type ClusterVerb = "get" | "list" | "patch" | "create" | "delete" | "watch";

/** A Kubernetes `Status` body, as the API server sends with every error answer. */
interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

/** The permission a 403 says is missing, as the Role rule that would grant it. */
export interface MissingPermission {
  verb: string;
  resource: string;
  /** "" for the core group. */
  group: string;
  namespace?: string;
  /** Who was refused, e.g. `system:serviceaccount:my-project:my-workbench`. */
  user?: string;
}

/** A Kubernetes API request failed. */
export class ClusterError extends WorkbenchError {
  override name = "ClusterError";
  constructor(
    message: string,
    readonly object: ObjectRef,
    readonly verb: ClusterVerb,
    /** HTTP status (0 when no answer came back). */
    readonly status: number,
    /** The `Status.reason` (Forbidden, NotFound, Conflict, Invalid, ...) when the server sent one. */
    readonly reason?: string,
    /** The API server's own message. */
    readonly apiMessage?: string,
    readonly missingPermission?: MissingPermission,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A wait ran out of time before its condition held. */
export class ClusterTimeoutError extends WorkbenchError {
  override name = "ClusterTimeoutError";
  constructor(
    message: string,
    readonly object: ObjectRef,
    readonly timeoutMs: number,
    /** The last state seen, as the condition described it. */
    readonly lastStatus: string,
  ) {
    super(message);
  }
}

/** `Deployment "x" in namespace "y"` (or without a namespace for cluster-scoped objects). */
export function describeRef(ref: ObjectRef): string {
  const what = ref.name === undefined ? `${ref.kind} (${ref.apiVersion})` : `${ref.kind} "${ref.name}"`;
  return ref.namespace ? `${what} in namespace "${ref.namespace}"` : what;
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
}

/**
 * The missing permission from a Forbidden answer. The message has the authorizer's own words
 * ("User \"u\" cannot patch resource \"inferenceservices\" in API group \"serving.kserve.io\" in the
 * namespace \"p\""); `details.kind` holds the plural resource and `details.group` the group.
 * Where the message does not say, the verb and group of our own request fill in.
 */
export function parseForbidden(body: StatusBody | undefined, ref: ObjectRef, verb: ClusterVerb, plural?: string): MissingPermission {
  const msg = body?.message ?? "";
  const said = /User "([^"]*)" cannot (\S+) resource "([^"]*)" in API group "([^"]*)"(?: in the namespace "([^"]*)")?/.exec(msg);
  if (said) {
    const [, user, v, resource, group, namespace] = said;
    return { verb: v, resource, group, user, ...(namespace ? { namespace } : {}) };
  }
  const resource = body?.details?.kind ?? plural ?? `${ref.kind.toLowerCase()}s`;
  const group = body?.details?.group ?? groupOf(ref.apiVersion);
  return { verb, resource, group, ...(ref.namespace ? { namespace: ref.namespace } : {}) };
}

/** The Role rule (YAML) that grants a missing permission. */
export function roleRuleFor(p: MissingPermission): string {
  return `- apiGroups: ["${p.group}"]\n  resources: ["${p.resource}"]\n  verbs: ["${p.verb}"]`;
}

function statusBody(body: unknown): StatusBody | undefined {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body };
    }
  }
  return body !== null && typeof body === "object" ? (body as StatusBody) : undefined;
}

/**
 * Turn whatever a client-node call threw into a ClusterError naming the object and namespace.
 * `plural` is the resource name when the caller knows it (for the 403 fallback).
 */
export function toClusterError(err: unknown, ref: ObjectRef, verb: ClusterVerb, plural?: string): ClusterError | unknown {
  if (err instanceof ClusterError) return err;
  const what = describeRef(ref);
  if (isApiException(err)) {
    const code = err.code;
    const body = statusBody(err.body);
    const apiMessage = body?.message;
    // client-node prefixes discovery failures (GET /apis/<group>/<version>) with this text.
    if (err.message.startsWith("Failed to fetch resource metadata") && code === 404) {
      return new ClusterError(
        `${what}: the cluster does not serve ${ref.apiVersion} (is the operator that provides ${ref.kind} installed?)`,
        ref, verb, code, body?.reason, apiMessage, undefined, { cause: err },
      );
    }
    if (code === 403) {
      const p = parseForbidden(body, ref, verb, plural);
      const who = p.user ? `${p.user.startsWith("system:serviceaccount:") ? "the service account" : "user"} "${p.user}"` : "you";
      const where = p.namespace ? ` in namespace "${p.namespace}"` : "";
      return new ClusterError(
        `${what}: forbidden: ${who} cannot ${p.verb} resource "${p.resource}" in API group "${p.group}"${where}; ` +
          `the Role bound to it needs the rule:\n${roleRuleFor(p)}`,
        ref, verb, code, body?.reason ?? "Forbidden", apiMessage, p, { cause: err },
      );
    }
    if (code === 409 && verb === "patch") {
      const fields = (body?.details?.causes ?? []).map((c) => c.field ?? c.message).filter(Boolean);
      return new ClusterError(
        `${what}: apply conflict: ${apiMessage ?? "fields are owned by another manager"}` +
          `${fields.length > 0 ? ` (fields: ${fields.join(", ")})` : ""}; ` +
          "another tool manages these fields: run again with --force (force: true) to take them over",
        ref, verb, code, body?.reason ?? "Conflict", apiMessage, undefined, { cause: err },
      );
    }
    if (code === 404) {
      return new ClusterError(`${what} not found${apiMessage ? `: ${apiMessage}` : ""}`, ref, verb, code, body?.reason ?? "NotFound", apiMessage, undefined, { cause: err });
    }
    if (code === 401) {
      return new ClusterError(
        `${what}: unauthorized (401): the token was refused; log in again (oc login) or check the service account token`,
        ref, verb, code, body?.reason ?? "Unauthorized", apiMessage, undefined, { cause: err },
      );
    }
    return new ClusterError(
      `${what}: ${verb} failed with HTTP ${code}${body?.reason ? ` ${body.reason}` : ""}: ${apiMessage ?? JSON.stringify(err.body)}`,
      ref, verb, code, body?.reason, apiMessage, undefined, { cause: err },
    );
  }
  if (err instanceof Error && err.message.startsWith("Unrecognized API version and kind")) {
    return new ClusterError(
      `${what}: the cluster serves ${ref.apiVersion} but has no kind ${ref.kind} in it (is the right operator version installed?)`,
      ref, verb, 404, "NotFound", undefined, undefined, { cause: err },
    );
  }
  if (err instanceof Error && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|fetch failed/.test(`${err.message} ${String((err as { code?: unknown }).code ?? "")}`)) {
    // fetch says only "fetch failed"; the socket's own error (with the address) is its cause.
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? cause.message : err.message.replace(/^Failed to fetch resource metadata for \S+: /, "");
    return new ClusterError(`${what}: cannot reach the Kubernetes API server: ${detail}`, ref, verb, 0, undefined, undefined, undefined, { cause: err });
  }
  return err;
}

/**
 * client-node's ApiException, recognised by shape: importing the class would load all of
 * client-node (about a second) whenever lib/index.ts is imported, cluster work or not.
 */
function isApiException(err: unknown): err is ApiException<unknown> & { code: number } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "number" && "body" in err && "headers" in err;
}

/** Run one API call; whatever it throws comes out as a ClusterError naming `ref`. */
export async function callApi<T>(ref: ObjectRef, verb: ClusterVerb, fn: () => Promise<T>, plural?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toClusterError(err, ref, verb, plural);
  }
}

/** A waited-for object reached a state it will not recover from (a Job failed, a model failed to load). */
export class ClusterConditionFailedError extends WorkbenchError {
  override name = "ClusterConditionFailedError";
  constructor(
    message: string,
    readonly object: ObjectRef,
    /** The reason the object's status gives (BackoffLimitExceeded, ProgressDeadlineExceeded, ...). */
    readonly reason: string,
  ) {
    super(message);
  }
}

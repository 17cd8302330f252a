/**
 * HTTP to the Hugging Face Hub (or a mirror at HF_ENDPOINT) with undici. Redirects are followed by
 * hand so the token is sent only to the Hub's own origin, never to the CDN a resolve URL redirects
 * to; errors are mapped from the Hub's status and X-Error-Code header as huggingface_hub does.
 */
import { request, type Dispatcher } from "undici";
import { ModelNotFoundError } from "../../errors.js";
import { StorageAccessError, StorageTransferError } from "../../storage/errors.js";
import { isRetryableStatus } from "../../storage/retry.js";

export const DEFAULT_HF_ENDPOINT = "https://huggingface.co";

export interface HubConnection {
  endpoint: string;
  token?: string;
  /** How errors name the token's origin ("HF_TOKEN", "no token"). */
  tokenSource: string;
}

/** HF_ENDPOINT (default huggingface.co) and HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN). */
export function hubConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): HubConnection {
  const endpoint = (env.HF_ENDPOINT?.trim() || DEFAULT_HF_ENDPOINT).replace(/\/+$/, "");
  const token = env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim() || undefined;
  const tokenSource = env.HF_TOKEN?.trim() ? "HF_TOKEN" : token ? "HUGGING_FACE_HUB_TOKEN" : "no token (HF_TOKEN is not set)";
  const conn = { endpoint, tokenSource } as HubConnection;
  // Not enumerable: a logged or serialised connection does not show the token.
  Object.defineProperty(conn, "token", { value: token, enumerable: false });
  return conn;
}

export interface HubResponse {
  statusCode: number;
  /** Headers of the first response (the Hub's, before any redirect to a CDN): X-Linked-*, X-Repo-Commit, ETag. */
  hubHeaders: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
}

const MAX_REDIRECTS = 10;

export async function hubRequest(
  conn: HubConnection,
  url: string,
  options: { method?: "GET" | "HEAD"; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<HubResponse> {
  let current = new URL(url);
  const origin = current.origin;
  let hubHeaders: HubResponse["hubHeaders"] | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { "user-agent": "diffusion-workbench", ...options.headers };
    if (conn.token && current.origin === origin) headers.authorization = `Bearer ${conn.token}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(current, { method: options.method ?? "GET", headers, signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new StorageTransferError(`request to ${current.href} failed: ${(err as Error).message}`, current.href, undefined, { cause: err });
    }
    hubHeaders ??= res.headers;
    const location = res.headers.location;
    if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === "string") {
      await res.body.dump();
      current = new URL(location, current);
      continue;
    }
    return { statusCode: res.statusCode, hubHeaders, headers: res.headers, body: res.body };
  }
  throw new StorageTransferError(`more than ${MAX_REDIRECTS} redirects from ${url}`, url);
}

function header(h: HubResponse["headers"], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Throws the workbench error for a failed Hub response (and drains its body). */
export async function throwHubError(res: HubResponse, conn: HubConnection, repo: string, what: string): Promise<never> {
  await res.body.dump();
  const code = header(res.headers, "x-error-code");
  const status = res.statusCode;
  const at = `${conn.endpoint}`;
  if (code === "RevisionNotFound") throw new ModelNotFoundError(`${what}: revision not found in ${repo} at ${at}`, repo);
  if (code === "EntryNotFound") throw new ModelNotFoundError(`${what}: file not found in ${repo} at ${at}`, repo);
  if (code === "GatedRepo" || status === 403) {
    throw new StorageAccessError(
      `${what}: the Hub at ${at} refused access to ${repo} (${status}${code ? ` ${code}` : ""}) with ${conn.tokenSource}: ` +
        "gated repositories need their terms accepted on the Hub and a token that can read them",
      repo,
      conn.tokenSource,
      status,
    );
  }
  if (status === 401) {
    throw new StorageAccessError(
      conn.token
        ? `${what}: the Hub at ${at} answered 401 for ${repo} with the token from ${conn.tokenSource}: the repository does not exist or the token cannot read it`
        : `${what}: the Hub at ${at} answered 401 for ${repo}: the repository is private, gated or does not exist; set HF_TOKEN to a token that can read it`,
      repo,
      conn.tokenSource,
      status,
    );
  }
  if (status === 404 || code === "RepoNotFound") throw new ModelNotFoundError(`${what}: ${repo} not found at ${at}`, repo);
  throw new StorageTransferError(`${what}: the Hub at ${at} answered ${status}${code ? ` ${code}` : ""}`, repo, status);
}

export function isRetryableHubError(err: unknown): boolean {
  return err instanceof StorageTransferError && (err.status === undefined || isRetryableStatus(err.status));
}

export { header as hubHeader };

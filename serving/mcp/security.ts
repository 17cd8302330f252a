/**
 * Request guards, as the MCP SDK's security guidance asks of a Streamable HTTP server: the Host
 * header against the server's own names and the Origin header (sent by browsers) against allowed
 * origins, both against DNS rebinding; and an optional bearer token on /mcp.
 *
 * Hand-written rather than the SDK's: its `hostHeaderValidation` is Express middleware, and the
 * transport's own allowedHosts/allowedOrigins options are deprecated in favour of such middleware.
 * This is the same check (hostname without port, 403 with a JSON-RPC error) as a fastify hook.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import { isLoopback, type McpConfig } from "./config.js";

/** Probes and scrapes come from the kubelet and Prometheus with the pod IP as Host; they carry no data worth rebinding for. */
const UNGUARDED = new Set(["/health", "/healthz", "/metrics"]);

/** One error body for every refusal: JSON-RPC on /mcp (what MCP clients parse), `{error}` elsewhere. */
export function sendRefusal(reply: FastifyReply, status: number, message: string, headers: Record<string, string> = {}): FastifyReply {
  const body = reply.request.url.startsWith("/mcp") ? { jsonrpc: "2.0", error: { code: -32000, message }, id: null } : { error: message };
  return reply.code(status).headers(headers).send(body);
}

function hostnameOf(hostHeader: string): string | undefined {
  try {
    return new URL(`http://${hostHeader}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function originAllowed(origin: string, config: McpConfig): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (config.allowedOrigins.includes(url.origin.toLowerCase())) return true;
  // A page from the loopback interface may call a loopback-bound server (the Inspector's web UI does).
  return isLoopback(config.host) && isLoopback(url.hostname) && (url.protocol === "http:" || url.protocol === "https:");
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m) return false;
  const given = Buffer.from(m[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function registerGuards(app: FastifyInstance, config: McpConfig): void {
  app.addHook("onRequest", async (req, reply) => {
    const route = req.url.split("?")[0];
    if (UNGUARDED.has(route)) return;
    if (config.allowedHosts) {
      const host = req.headers.host;
      const name = host ? hostnameOf(host) : undefined;
      if (!name) return sendRefusal(reply, 403, host ? `Invalid Host header: ${host}` : "Missing Host header");
      if (!config.allowedHosts.includes(name)) return sendRefusal(reply, 403, `Invalid Host: ${name} (MCP_ALLOWED_HOSTS)`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, config)) return sendRefusal(reply, 403, `Invalid Origin: ${origin} (MCP_ALLOWED_ORIGINS)`);
    if (config.authToken && route.startsWith("/mcp") && !tokenMatches(req.headers.authorization, config.authToken)) {
      const error = req.headers.authorization ? 'error="invalid_token"' : 'error="invalid_request"';
      return sendRefusal(reply, 401, "Unauthorized: send 'Authorization: Bearer <MCP_AUTH_TOKEN>'", { "www-authenticate": `Bearer realm="mcp", ${error}` });
    }
  });
}

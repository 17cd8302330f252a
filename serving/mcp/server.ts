/**
 * The MCP server over HTTP: one fastify app with the Streamable HTTP transport at /mcp and the image,
 * health and metrics routes on the same port. Sessions are stateful (the SDK's session ids), because
 * a cancellation arrives as a separate request that must reach the server running the tool; sessions
 * live in this process, so run one replica (or sticky routing). Idle sessions are closed.
 */
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { InvalidInputError } from "../../lib/index.js";
import { packageVersion } from "../runtime/version.js";
import type { McpConfig } from "./config.js";
import { InFlight } from "./in-flight.js";
import { McpMetrics } from "./metrics.js";
import { registerRoutes } from "./routes.js";
import { registerGuards, sendRefusal } from "./security.js";
import type { ImageStore } from "./store/image-store.js";
import { RateEstimate, registerTools, type ToolDeps } from "./tools.js";
import { Upstream } from "./upstream.js";

export const SERVER_NAME = "diffusion-workbench";

export interface McpAppOptions {
  store: ImageStore;
  logger?: Logger;
  /** Serve /mcp (default true); the stdio mode serves only the image routes over HTTP. */
  mcpRoute?: boolean;
}

export interface McpApp {
  app: FastifyInstance;
  config: McpConfig;
  metrics: McpMetrics;
  log: Logger;
  /** Shared by every session and the stdio transport. */
  toolDeps: ToolDeps;
  /** A new MCP server with the tools registered (one per session or stdio connection). */
  createMcpServer(): McpServer;
  /** Listen; resolves with the listening URL. */
  start(): Promise<{ url: string }>;
  /** Close every session and the HTTP server (the store is the caller's to close). */
  shutdown(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastUsed: number;
}

/** Logs go to stderr: in stdio mode stdout carries the protocol. */
export function mcpLogger(config: Pick<McpConfig, "logLevel">): Logger {
  return pino({ level: config.logLevel, base: { component: "mcp" } }, pino.destination(2));
}

export function createMcpApp(config: McpConfig, options: McpAppOptions): McpApp {
  const log = options.logger ?? mcpLogger(config);
  const metrics = new McpMetrics();
  const upstream = new Upstream(config);
  let baseUrl = config.publicUrl;
  const imageUrl = (id: string) => `${baseUrl ?? `http://${config.host}:${config.port}`}/images/${id}`;
  const rates = new RateEstimate();
  const inFlight = new InFlight();
  const toolDeps: ToolDeps = { config, store: options.store, upstream, metrics, log, imageUrl };
  let draining = false;
  const createMcpServer = () => {
    const server = new McpServer({ name: SERVER_NAME, version: packageVersion() }, { instructions: "Generate images with Stable Diffusion: call generate_image with a prompt; list_images, get_image and delete_image manage the results." });
    registerTools(server, toolDeps, rates);
    return server;
  };

  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    // Image ids are up to 128 characters (fastify's default limit is 100, answered with 414).
    routerOptions: { maxParamLength: 256 },
    // A tool call waits for a generation (minutes on a CPU); RUNTIME_TIMEOUT_S bounds it, not the socket.
    requestTimeout: 0,
    return503OnClosing: true,
    // Shutdown closes the sessions first (their calls and event streams end with them); what is
    // left open after that (a client's dangling stream) would otherwise hold close() for seconds.
    forceCloseConnections: true,
  });

  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.httpRequests.inc({ route, code: String(reply.statusCode) });
    req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(1)) }, "request completed");
  });
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof InvalidInputError) return sendRefusal(reply, 400, err.message);
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return sendRefusal(reply, status, err instanceof Error ? err.message : String(err));
    req.log.error({ err }, "request failed");
    return sendRefusal(reply, 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
  });
  app.setNotFoundHandler((req, reply) => sendRefusal(reply, 404, `Not Found: ${req.method} ${req.url.split("?")[0]}`));

  registerGuards(app, config);
  registerRoutes(app, { store: options.store, upstream, metrics, imageUrl, draining: () => draining });

  const sessions = new Map<string, Session>();
  const closeSession = async (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    metrics.sessions.set(sessions.size);
    await s.transport.close().catch(() => {});
    await s.server.close().catch(() => {});
  };
  const sweep = setInterval(() => {
    const cutoff = Date.now() - config.sessionIdleMs;
    for (const [id, s] of sessions) if (s.lastUsed < cutoff) void closeSession(id);
  }, Math.min(config.sessionIdleMs, 60_000));
  sweep.unref();

  if (options.mcpRoute !== false) {
    // GET opens the server-to-client stream, DELETE ends a session, POST carries JSON-RPC messages.
    app.route({
      method: ["GET", "POST", "DELETE"],
      url: "/mcp",
      handler: async (req, reply) => {
        // While draining, running calls finish and may still be cancelled; no new session or tool call starts.
        const body = req.body as { method?: unknown } | undefined;
        if (draining && (req.headers["mcp-session-id"] === undefined || body?.method === "tools/call")) {
          return sendRefusal(reply, 503, "the server is shutting down; retry shortly", { "retry-after": "5" });
        }
        const sid = req.headers["mcp-session-id"];
        let session = typeof sid === "string" ? sessions.get(sid) : undefined;
        if (sid !== undefined && !session) return sendRefusal(reply, 404, "Session not found: start a new session with initialize");
        if (!session) {
          if (req.method !== "POST" || !isInitializeRequest(req.body)) {
            return sendRefusal(reply, 400, "Bad Request: no Mcp-Session-Id header; a session starts with an initialize request");
          }
          const server = createMcpServer();
          const created: Session = {
            server,
            lastUsed: Date.now(),
            transport: new StreamableHTTPServerTransport({
              sessionIdGenerator: () => randomUUID(),
              onsessioninitialized: (id) => {
                sessions.set(id, created);
                metrics.sessions.set(sessions.size);
              },
            }),
          };
          created.transport.onclose = () => {
            const id = created.transport.sessionId;
            if (id && sessions.get(id) === created) {
              sessions.delete(id);
              metrics.sessions.set(sessions.size);
            }
          };
          await server.connect(created.transport);
          session = created;
        }
        session.lastUsed = Date.now();
        // A POST's answer (a tool result, maybe on an SSE stream) is complete when the response closes;
        // GET streams stay open for the session's life and are not waited for.
        if (req.method === "POST") reply.raw.once("close", inFlight.enter());
        // The transport writes the response itself (JSON or an SSE stream).
        reply.hijack();
        await session.transport.handleRequest(req.raw, reply.raw, req.body);
      },
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    app,
    config,
    metrics,
    log,
    toolDeps,
    createMcpServer,
    async start() {
      const url = await app.listen({ host: config.host, port: config.port });
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : config.port;
      const host = config.host.includes(":") ? `[${config.host}]` : config.host;
      baseUrl ??= `http://${host}:${port}`;
      if (!config.publicUrl && (config.host === "0.0.0.0" || config.host === "::")) {
        log.warn("PUBLIC_URL is not set: image URLs name the wildcard address; set it to the address clients use");
      }
      if (!config.allowedHosts && !config.authToken) log.warn("no MCP_ALLOWED_HOSTS and no MCP_AUTH_TOKEN: /mcp is open to any Host");
      log.info({ url, publicUrl: baseUrl, runtime: config.runtimeUrl, model: config.modelName, storage: options.store.location }, "MCP server listening");
      return { url };
    },
    shutdown() {
      stopping ??= (async () => {
        clearInterval(sweep);
        draining = true;
        if (inFlight.size > 0) {
          log.info({ inFlight: inFlight.size, graceMs: config.shutdownGraceMs }, "shutting down: letting running requests finish");
          if (!(await inFlight.whenIdle(config.shutdownGraceMs))) log.warn({ inFlight: inFlight.size }, "grace period over: closing the sessions");
        }
        await Promise.all([...sessions.keys()].map(closeSession));
        await app.close();
        log.info("stopped");
      })();
      return stopping;
    },
  };
}

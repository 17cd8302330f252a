/**
 * The KServe custom runtime: a fastify server (V1, Open Inference Protocol V2, `/metrics`) in front of
 * inference worker threads. It listens first and loads the model after (readiness 503 until then,
 * liveness 200), and drains on shutdown: no new work, in-flight requests finish within the grace
 * period, then the rest is cancelled.
 */
import { randomUUID } from "node:crypto";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { pino, type Logger as PinoLogger } from "pino";
import type { ServerConfig } from "./config.js";
import { RouteContext } from "./context.js";
import { ServerDrainingError, ServerNotLiveError, toHttpError } from "./errors.js";
import { RuntimeMetrics } from "./metrics.js";
import { DiffusionModel } from "./model.js";
import { registerV1 } from "./v1.js";
import { registerV2 } from "./v2.js";

/** Routes whose completions are logged at info; probes and scrapes only at debug. */
const INFERENCE_ROUTE = /:predict$|\/infer$/;

export interface Runtime {
  app: FastifyInstance;
  model: DiffusionModel;
  metrics: RuntimeMetrics;
  context: RouteContext;
  log: PinoLogger;
  /** Listen, then load the model in the background; `loaded` settles when loading does. */
  start(): Promise<{ url: string; loaded: Promise<void> }>;
  /** Drain and stop (SIGTERM): resolves when the server is closed and the workers are gone. */
  shutdown(): Promise<void>;
}

export function createRuntime(config: ServerConfig, options: { logger?: PinoLogger } = {}): Runtime {
  const log = options.logger ?? pino({ level: config.logLevel, base: { model_name: config.modelName } });
  const metrics = new RuntimeMetrics(config.modelName);
  const model = new DiffusionModel(config.modelName, config, log, metrics);
  const context = new RouteContext(config, model, metrics);

  const app = Fastify({
    // pino's Logger and fastify's logger type differ only in generics.
    loggerInstance: log as unknown as FastifyBaseLogger,
    // Completions are logged by the onResponse hook below (inference at info, probes at debug).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    requestIdHeader: "x-request-id",
    genReqId: () => randomUUID(),
    // Image generation takes minutes on a CPU: no server-side socket timeout (REQUEST_TIMEOUT_S bounds the work).
    requestTimeout: 0,
    // After close() starts, fastify itself answers 503 to new requests on kept-alive connections.
    return503OnClosing: true,
  });

  // Bodies are read as bytes and decoded by the dataplane (JSON, or the V2 binary extension), so
  // every content type reaches the handler and gets KServe's error shape, not the framework's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.addHook("onSend", async (req, reply) => {
    reply.header("x-request-id", req.id);
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    const protocol = route.startsWith("/v1") ? "v1" : route.startsWith("/v2") ? "v2" : "other";
    metrics.requests.inc({ protocol, route, code: String(reply.statusCode) });
    metrics.requestSeconds.observe({ protocol, route }, reply.elapsedTime / 1000);
    const entry = { method: req.method, url: req.url, status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(1)) };
    if (INFERENCE_ROUTE.test(route)) req.log.info(entry, "request completed");
    else req.log.debug(entry, "request completed");
  });

  app.setErrorHandler((err, req, reply) => {
    const h = toHttpError(err, config.retryAfterS);
    if (h.status >= 500 && h.status !== 503 && h.status !== 504) req.log.error({ err }, h.body.error);
    else req.log.warn({ status: h.status }, h.body.error);
    if (h.status === 499 || reply.raw.destroyed) return;
    void reply.code(h.status).headers(h.headers).send(h.body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `Not Found: ${req.method} ${req.url}` });
  });

  // KServe's root routes: liveness and the Prometheus scrape.
  app.get("/", async () => {
    if (model.state === "failed" && model.info) throw new ServerNotLiveError(model.failure?.message ?? "");
    return { status: "alive" };
  });
  app.get("/metrics", async (_req, reply) => {
    metrics.queueDepth.set(model.queue.depth);
    void reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  registerV1(app, context);
  registerV2(app, context);

  let shuttingDown: Promise<void> | undefined;

  return {
    app,
    model,
    metrics,
    context,
    log,
    async start() {
      const url = await app.listen({ port: config.port, host: config.host });
      log.info({ url, modelId: config.modelId }, "listening; loading the model");
      const loaded = model.load();
      loaded.catch((err: unknown) => log.error({ err }, `model '${config.modelName}' failed to load`));
      return { url, loaded };
    },
    shutdown() {
      shuttingDown ??= (async () => {
        context.draining = true;
        metrics.ready.set(0);
        const inFlight = model.queue.inFlight;
        log.info({ inFlight, graceMs: config.shutdownGraceMs }, "shutting down: draining in-flight requests");
        const grace = setTimeout(() => {
          log.warn({ inFlight: model.queue.inFlight }, "grace period over: cancelling what is left");
          model.queue.cancelAll(new ServerDrainingError("the shutdown grace period passed before this request finished"));
        }, config.shutdownGraceMs);
        await model.queue.whenIdle();
        clearTimeout(grace);
        await app.close();
        await model.close();
        log.info("stopped");
      })();
      return shuttingDown;
    },
  };
}

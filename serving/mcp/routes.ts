/**
 * The HTTP routes beside /mcp, the whole table in `registerRoutes`: the stored images (list, one by
 * id with ETag and cache headers), health (runtime and storage), liveness and the Prometheus scrape.
 * Image names are checked against the store's id pattern before anything is read, so no request
 * path reaches the file system or a bucket key.
 */
import type { FastifyInstance } from "fastify";
import { IMAGE_ID_PATTERN } from "./store/image-id.js";
import type { ImageMetadata, ImageStore } from "./store/image-store.js";
import type { McpMetrics } from "./metrics.js";
import type { Upstream } from "./upstream.js";
import { sendRefusal } from "./security.js";

/** How long /health waits for the runtime and the storage. */
const HEALTH_TIMEOUT_MS = 3000;
const MAX_PAGE = 1000;
/** An id names one image for good (a new image gets a new id), but images expire or get deleted: an hour in caches. */
const IMAGE_CACHE_CONTROL = "public, max-age=3600";

export interface RouteDeps {
  store: ImageStore;
  upstream: Upstream;
  metrics: McpMetrics;
  imageUrl(id: string): string;
  /** True once shutdown has begun: readiness fails so that traffic moves away. */
  draining(): boolean;
}

function listed(m: ImageMetadata, deps: RouteDeps) {
  const { etag: _etag, ...rest } = m;
  return { ...rest, url: deps.imageUrl(m.id) };
}

async function within<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = AbortSignal.timeout(ms);
  return Promise.race([
    work(signal),
    new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error(`no answer within ${ms} ms`)), { once: true })),
  ]);
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, upstream, metrics } = deps;

  app.get<{ Querystring: { limit?: string; cursor?: string } }>("/images", async (req, reply) => {
    const raw = req.query.limit;
    const limit = raw === undefined ? 50 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) return sendRefusal(reply, 400, `limit: '${raw}' is not an integer from 1 to ${MAX_PAGE}`);
    const page = await store.list({ limit, ...(req.query.cursor ? { cursor: req.query.cursor } : {}) });
    return { images: page.images.map((m) => listed(m, deps)), ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) };
  });

  app.get<{ Params: { id: string } }>("/images/:id", async (req, reply) => {
    const { id } = req.params;
    if (!IMAGE_ID_PATTERN.test(id)) return sendRefusal(reply, 400, `'${id.slice(0, 80)}' is not an image name (1 to 128 of A-Z a-z 0-9 _ -)`);
    const head = await store.head(id);
    if (!head) return sendRefusal(reply, 404, `no image '${id}' (unknown, deleted or expired)`);
    void reply.headers({ etag: head.etag, "cache-control": IMAGE_CACHE_CONTROL, "last-modified": new Date(head.created).toUTCString() });
    const match = req.headers["if-none-match"];
    if (match && match.split(",").some((t) => t.trim() === head.etag || t.trim() === "*")) return reply.code(304).send();
    const found = await store.get(id);
    if (!found) return sendRefusal(reply, 404, `no image '${id}' (unknown, deleted or expired)`);
    // The type comes from the bytes (sniffed by the store), never from the request.
    return reply
      .headers({ "content-type": found.metadata.contentType, "x-content-type-options": "nosniff", "content-disposition": `inline; filename="${id}.${found.metadata.format}"` })
      .send(Buffer.from(found.bytes));
  });

  // Liveness: the process answers. It must not depend on the runtime, or a runtime outage would restart this pod.
  app.get("/healthz", async () => ({ status: "alive" }));

  // Readiness and monitoring: the runtime's model is ready and the storage can be read and written.
  app.get("/health", async (_req, reply) => {
    if (deps.draining()) return reply.code(503).send({ status: "draining" });
    const [runtime, storage] = await Promise.all([
      within(HEALTH_TIMEOUT_MS, (signal) => upstream.problem(signal)).catch((err: Error) => err.message),
      within(HEALTH_TIMEOUT_MS, () => store.check()).then(
        () => undefined,
        (err: Error) => err.message,
      ),
    ]);
    const ok = runtime === undefined && storage === undefined;
    return reply.code(ok ? 200 : 503).send({
      status: ok ? "ok" : "unavailable",
      runtime: { ok: runtime === undefined, url: upstream.client.url, model: upstream.client.modelName, ...(runtime ? { error: runtime } : {}) },
      storage: { ok: storage === undefined, kind: store.kind, location: store.location, ...(storage ? { error: storage } : {}) },
    });
  });

  app.get("/metrics", async (_req, reply) => {
    void reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

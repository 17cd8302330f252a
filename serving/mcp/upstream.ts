/**
 * The runtime, seen from the MCP server: one V1 predict per generate_image call through the project's
 * KServe client (timeout per attempt, retries on 503/429 and refused connections), and every way it
 * can fail turned into an `UpstreamError` whose message an agent can act on.
 */
import { KServeClient, KServeError, WorkbenchError, type V1Instance, type V1Prediction } from "../../lib/index.js";
import type { McpConfig } from "./config.js";

/** Why a runtime call failed, for the tool's message and the metrics label. */
export type UpstreamFailure = "unreachable" | "timeout" | "busy" | "rejected" | "failed" | "no_image";

export class UpstreamError extends WorkbenchError {
  override name = "UpstreamError";
  constructor(
    readonly reason: UpstreamFailure,
    message: string,
    /** The runtime's HTTP status (0 when none came). */
    readonly status = 0,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Generation {
  images: Buffer[];
  prediction: V1Prediction;
}

export class Upstream {
  readonly client: KServeClient;

  constructor(private readonly config: McpConfig) {
    this.client = new KServeClient({
      url: config.runtimeUrl,
      modelName: config.modelName,
      timeoutMs: config.runtimeTimeoutMs,
      retries: config.runtimeRetries,
      ...(config.runtimeToken ? { token: config.runtimeToken } : {}),
    });
  }

  /** One instance; the images decoded. Aborting `signal` aborts the HTTP request (the runtime then cancels the generation). */
  async generate(instance: V1Instance, signal?: AbortSignal): Promise<Generation> {
    let predictions: unknown;
    try {
      predictions = (await this.client.predict([instance], { signal })).predictions;
    } catch (err) {
      if (signal?.aborted) throw err;
      throw this.explain(err);
    }
    // A runtime (or a proxy in front of it) may answer 200 with something else: refuse it here, by name.
    const prediction = Array.isArray(predictions) ? (predictions[0] as V1Prediction | undefined) : undefined;
    const all = prediction?.images ?? (prediction?.image ? [prediction.image] : []);
    const b64 = all.map((i) => i?.b64).filter((s): s is string => typeof s === "string" && s.length > 0);
    if (!prediction || b64.length === 0 || b64.length !== all.length) {
      throw new UpstreamError("no_image", `the runtime at ${this.config.runtimeUrl} answered without an image (no predictions[0].image.b64)`, 200);
    }
    return { images: b64.map((s) => Buffer.from(s, "base64")), prediction };
  }

  /** Readiness of the runtime's model, for /health: undefined when ready, else why not. */
  async problem(signal?: AbortSignal): Promise<string | undefined> {
    try {
      return (await this.client.modelReady({ signal })) ? undefined : `model '${this.config.modelName}' is loading`;
    } catch (err) {
      return this.explain(err).message;
    }
  }

  private explain(err: unknown): UpstreamError {
    const where = `the runtime at ${this.config.runtimeUrl}`;
    if (err instanceof SyntaxError) return new UpstreamError("failed", `${where} answered with a body that is not JSON`, 200, { cause: err });
    if (!(err instanceof KServeError)) return new UpstreamError("failed", `${where}: ${(err as Error)?.message ?? String(err)}`, 0, { cause: err });
    const detail = err.body ?? err.message;
    if (err.status === 0) {
      const timedOut = (err.cause as Error | undefined)?.name === "TimeoutError" || /no answer within/.test(err.message);
      return timedOut
        ? new UpstreamError("timeout", `${where} did not answer within ${this.config.runtimeTimeoutMs / 1000} s (RUNTIME_TIMEOUT_S); try fewer steps or a smaller image`, 0, { cause: err })
        : new UpstreamError("unreachable", `${where} is unreachable (${err.message}); is it running?`, 0, { cause: err });
    }
    if (err.status === 503 || err.status === 429) return new UpstreamError("busy", `${where} is busy or still loading (${err.status}): ${detail}; try again later`, err.status, { cause: err });
    if (err.status === 504) return new UpstreamError("timeout", `${where} gave up on the generation (504): ${detail}`, err.status, { cause: err });
    if (err.status === 400 || err.status === 404 || err.status === 413 || err.status === 422) {
      return new UpstreamError("rejected", `${where} rejected the request (${err.status}): ${detail}`, err.status, { cause: err });
    }
    return new UpstreamError("failed", `${where} failed (${err.status}): ${detail}`, err.status, { cause: err });
  }
}

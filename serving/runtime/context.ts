/**
 * What the route files share: the model, the config, the metrics, the draining flag, and `runJobs`,
 * the one path from parsed requests to results (deadline, client disconnect, readiness).
 */
import type { FastifyReply } from "fastify";
import { InvalidInputError, type GenerateOptions } from "../../lib/index.js";
import { withFieldPrefix, type OutputFormat } from "../../lib/kserve/v1.js";
import type { ServerConfig } from "./config.js";
import { ClientClosedError, DeadlineExceededError, ServerDrainingError, UnknownModelError } from "./errors.js";
import type { RuntimeMetrics } from "./metrics.js";
import type { DiffusionModel } from "./model.js";
import type { JobResult } from "./queue.js";
import type { ResolvedOptions } from "./worker-protocol.js";

export interface Completed {
  options: ResolvedOptions;
  result: JobResult;
}

export interface JobInput {
  options: GenerateOptions;
  outputFormat: OutputFormat;
  /** Where a model-specific error's field sits in this protocol's body (`instances[2].`, `parameters.`). */
  fieldPrefix?: (field: string) => string;
}

export class RouteContext {
  draining = false;

  constructor(
    readonly config: ServerConfig,
    readonly model: DiffusionModel,
    readonly metrics: RuntimeMetrics,
  ) {}

  /** KServe's ModelNotFound for a name this server does not serve. */
  checkName(name: string): void {
    if (name !== this.model.name) throw new UnknownModelError(name);
  }

  get ready(): boolean {
    return this.model.ready && !this.draining;
  }

  /**
   * Run parsed requests to completion: refused while draining or not ready, cancelled when the
   * deadline (REQUEST_TIMEOUT_S, queue included) passes or the client goes away.
   */
  async runJobs(requests: JobInput[], reply: FastifyReply): Promise<Completed[]> {
    if (this.draining) throw new ServerDrainingError();
    const controller = new AbortController();
    const timeoutMs = this.config.requestTimeoutMs;
    const timer = setTimeout(() => controller.abort(new DeadlineExceededError(timeoutMs)), timeoutMs);
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort(new ClientClosedError());
    };
    reply.raw.on("close", onClose);
    try {
      const jobs = await Promise.all(
        requests.map((r) =>
          this.model.prepare(r.options, r.outputFormat, controller.signal).catch((err: unknown) => {
            throw err instanceof InvalidInputError && r.fieldPrefix ? withFieldPrefix(err, r.fieldPrefix(err.field)) : err;
          }),
        ),
      );
      controller.signal.throwIfAborted();
      const results = await this.model.predict(jobs);
      this.metrics.images.inc(results.reduce((s, r) => s + r.output.images.length, 0));
      return results.map((result, i) => ({ options: jobs[i].options, result }));
    } finally {
      clearTimeout(timer);
      reply.raw.off("close", onClose);
    }
  }
}

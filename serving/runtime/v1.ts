/** KServe V1 routes (the seed runtime's protocol): the whole route table is `registerV1`. */
import type { FastifyInstance } from "fastify";
import type { V1ModelReady, V1PredictResponse } from "../../lib/kserve/v1.js";
import type { RouteContext } from "./context.js";
import { decodeV1, encodeV1 } from "./dataplane.js";
import { ModelNotReadyError } from "../../lib/index.js";
import { NotFoundError } from "./errors.js";

type Named = { Params: { name: string } };

export function registerV1(app: FastifyInstance, ctx: RouteContext): void {
  app.get("/v1/models", async () => ({ models: [ctx.model.name] }));

  app.get<Named>("/v1/models/:name", async (req): Promise<V1ModelReady> => {
    ctx.checkName(req.params.name);
    if (!ctx.ready) throw new ModelNotReadyError(`Model with name ${req.params.name} is not ready.`);
    return { name: req.params.name, ready: true };
  });

  // `<name>:predict` is one path segment; the router's literal-colon syntax does not split it, so split here.
  app.post<{ Params: { target: string } }>("/v1/models/:target", async (req, reply): Promise<V1PredictResponse> => {
    const at = req.params.target.lastIndexOf(":");
    const verb = at < 0 ? "" : req.params.target.slice(at + 1);
    if (verb !== "predict") {
      throw new NotFoundError(`Not Found: POST ${req.url} (V1 verbs here: :predict)`);
    }
    ctx.checkName(req.params.target.slice(0, at));
    const instances = decodeV1(req.body as Buffer | undefined, req.headers, ctx.config.maxInstances);
    req.log.debug({ prompts: instances.map((i) => i.options.prompt) }, "v1 predict");
    const done = await ctx.runJobs(
      instances.map((inst, i) => ({ ...inst, fieldPrefix: () => `instances[${i}].` })),
      reply,
    );
    return { predictions: done.map((d, i) => encodeV1(ctx.model.name, d.options, instances[i].outputFormat, d.result)) };
  });
}

/** Open Inference Protocol (KServe V2) REST routes: the whole route table is `registerV2`. */
import type { FastifyInstance } from "fastify";
import { ModelNotReadyError } from "../../lib/index.js";
import type { ModelMetadataResponse, ServerMetadataResponse } from "../../lib/kserve/v2.js";
import { V2_IMAGE_OUTPUT, V2_INPUTS } from "../../lib/kserve/v2.js";
import type { RouteContext } from "./context.js";
import { decodeV2, encodeV2, v2FieldPrefix } from "./dataplane.js";
import { ServerDrainingError, ServerNotLiveError } from "./errors.js";
import { packageVersion } from "./version.js";

type Named = { Params: { name: string } };

export function registerV2(app: FastifyInstance, ctx: RouteContext): void {
  app.get("/v2", async (): Promise<ServerMetadataResponse> => ({
    name: "diffusion-workbench",
    version: packageVersion(),
    extensions: ["binary_tensor_data"],
  }));

  app.get("/v2/health/live", async () => {
    if (ctx.model.state === "failed" && ctx.model.info) throw new ServerNotLiveError(ctx.model.failure?.message ?? "");
    return { live: true };
  });

  app.get("/v2/health/ready", async () => {
    if (ctx.draining) throw new ServerDrainingError();
    if (!ctx.model.ready) throw new ModelNotReadyError(`Model with name ${ctx.model.name} is not ready.`);
    return { ready: true };
  });

  app.get("/v2/models", async () => ({ models: [ctx.model.name] }));

  app.get<Named>("/v2/models/:name", async (req): Promise<ModelMetadataResponse> => {
    ctx.checkName(req.params.name);
    return {
      name: ctx.model.name,
      versions: [],
      platform: ctx.model.info ? `onnxruntime-${ctx.model.info.provider} ${ctx.model.info.className}` : "onnxruntime",
      inputs: V2_INPUTS.map((name) => ({ name, datatype: "BYTES", shape: [-1] })),
      outputs: [{ name: V2_IMAGE_OUTPUT, datatype: "BYTES", shape: [-1] }],
    };
  });

  app.get<Named>("/v2/models/:name/ready", async (req) => {
    ctx.checkName(req.params.name);
    if (!ctx.ready) throw new ModelNotReadyError(`Model with name ${req.params.name} is not ready.`);
    return { name: req.params.name, ready: true };
  });

  app.post<Named>("/v2/models/:name/infer", async (req, reply) => {
    ctx.checkName(req.params.name);
    const decoded = decodeV2(req.body as Buffer | undefined, req.headers, ctx.config.maxInstances);
    req.log.debug({ prompts: decoded.options.prompt }, "v2 infer");
    const [done] = await ctx.runJobs([{ options: decoded.options, outputFormat: decoded.outputFormat, fieldPrefix: v2FieldPrefix }], reply);
    const encoded = encodeV2(ctx.model.name, decoded, done.options, done.result);
    reply.headers(encoded.headers);
    return encoded.body;
  });
}

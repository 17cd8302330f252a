import { describe, expect, it } from "vitest";
import { deployFineTunedModel, fineTunedInferenceService } from "../../finetuning/dreambooth/deploy.js";
import { dreamboothPipeline, CONTAINER_LOCATIONS } from "../../finetuning/dreambooth/pipeline.js";
import { compilePipeline } from "../../finetuning/kfp/compile.js";
import { FakeApiServer } from "../cluster/fake-apiserver.js";
import { serverPerTest } from "../helpers/server-per-test.js";
import { checkMessage } from "./proto-check.js";

let api: FakeApiServer;
serverPerTest(() => new FakeApiServer().start(), (s) => (api = s));

describe("the optional deploy step", () => {
  it("is compiled after upload, with the InferenceService, the run's version and name and the data connection", () => {
    const c = compilePipeline(dreamboothPipeline({ family: "sd3", mode: "lora", deploy: { inferenceService: "teddy", runtime: "dw-gpu" } }), {
      locations: CONTAINER_LOCATIONS,
      sdkVersion: "t",
    });
    expect(checkMessage("ml_pipelines.PipelineSpec", c.pipelineSpec)).toEqual([]);
    expect(c.pipelineSpec.root.dag!.tasks.deploy.dependentTasks).toEqual(["upload"]);
    const container = c.pipelineSpec.deploymentSpec.executors["exec-deploy"].container;
    expect([...container.command, ...container.args]).toEqual([
      "node", "/opt/app-root/src/dist/bin/cli.js", "finetune", "deploy",
      "--isvc", "teddy",
      "--version", "{{$.inputs.parameters['VERSION']}}",
      "--name", "{{$.inputs.parameters['OUTPUT_NAME']}}",
      "--data-connection", "aws-connection-dreambooth",
      "--runtime", "dw-gpu",
    ]);
    expect(c.platformSpec.platforms.kubernetes.deploymentSpec.executors["exec-deploy"]).toBeUndefined();
  });

  it("applies an InferenceService of the project's runtime that serves models/{VERSION}/{name}/onnx from the data connection", async () => {
    const applied = await deployFineTunedModel(api.config("proj"), { inferenceService: "teddy", version: "v1", name: "rhteddy", dataConnection: "aws-connection-dreambooth" });
    expect(applied.map((o) => `${o.kind}/${o.metadata?.name}/${o.metadata?.namespace}`)).toEqual(["InferenceService/teddy/proj"]);
    const patch = api.calls().find((r) => r.method === "PATCH")!;
    expect([patch.path, patch.query, patch.contentType]).toEqual([
      "/apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/teddy",
      { fieldManager: "diffusion-workbench", force: "true" },
      "application/apply-patch+yaml",
    ]);
    const expected = fineTunedInferenceService({ inferenceService: "teddy", version: "v1", name: "rhteddy", dataConnection: "aws-connection-dreambooth", namespace: "proj" });
    expect(patch.body).toEqual(expected);
    expect(expected.spec.predictor.model.storage).toEqual({ key: "aws-connection-dreambooth", path: "models/v1/rhteddy/onnx" });
  });
});

import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compilePipeline } from "../../finetuning/kfp/compile.js";
import { pipelineFromYaml, pipelineToYaml } from "../../finetuning/kfp/yaml.js";
import { CONTAINER_LOCATIONS, dreamboothPipeline, TRAINING_SCRIPTS, type DreamboothPipelineOptions } from "../../finetuning/dreambooth/pipeline.js";
import { TRAIN_STACK } from "../../finetuning/dreambooth/versions.js";
import { InvalidInputError } from "../../lib/index.js";
import { checkMessage } from "./proto-check.js";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const SDK = "diffusion-workbench-0.1.0";

function compileYaml(options: DreamboothPipelineOptions): string {
  return pipelineToYaml(compilePipeline(dreamboothPipeline(options), { locations: CONTAINER_LOCATIONS, sdkVersion: SDK }));
}

const P = (name: string) => `{{$.inputs.parameters['${name}']}}`;
const RUN = (rel: string) => `/workspace/${P("VERSION")}/${rel}`;

describe("the compiled Dreambooth pipeline", () => {
  const yaml = compileYaml({ family: "sd3", mode: "lora" });
  const { pipelineSpec, platformSpec } = pipelineFromYaml(yaml);

  it("fits the PipelineSpec and platform spec messages of the KFP protos", () => {
    expect(checkMessage("ml_pipelines.PipelineSpec", pipelineSpec)).toEqual([]);
    expect(checkMessage("ml_pipelines.PlatformSpec", platformSpec)).toEqual([]);
    expect(yaml.startsWith("# PIPELINE DEFINITION\n# Name: dreambooth-sd3-lora\n")).toBe(true);
    expect(yaml.split("\n---\n")).toHaveLength(2);
  });

  it("is refused by the proto check when a field is not in the protos or has the wrong type", () => {
    const bad = structuredClone(pipelineSpec) as unknown as { deploymentSpec: { executors: Record<string, { container: Record<string, unknown> }> }; root: { inputDefinitions: { parameters: Record<string, Record<string, unknown>> } } };
    bad.deploymentSpec.executors["exec-train"].container.gpus = 1;
    bad.root.inputDefinitions.parameters.SEED.parameterType = "INTEGER";
    expect(checkMessage("ml_pipelines.PipelineSpec", bad)).toEqual([
      "PipelineSpec.root.inputDefinitions.parameters[SEED].parameterType: 'INTEGER' is not a value of .ml_pipelines.ParameterType.ParameterTypeEnum",
      "PipelineSpec.deploymentSpec.executors[exec-train].container.gpus: no such field in .ml_pipelines.PipelineDeploymentConfig.PipelineContainerSpec",
    ]);
  });

  it("declares the seed's parameters and defaults for SD 3.5 Medium", () => {
    const params = pipelineSpec.root.inputDefinitions!.parameters!;
    expect(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, [v.parameterType, v.defaultValue]]))).toEqual({
      VERSION: ["STRING", "v1"],
      MODEL_NAME: ["STRING", "stabilityai/stable-diffusion-3.5-medium"],
      OUTPUT_NAME: ["STRING", "rhteddy"],
      INSTANCE_DATA: ["STRING", ""],
      INSTANCE_PROMPT: ["STRING", "a photo of rhteddy dog"],
      CLASS_PROMPT: ["STRING", "a photo of dog"],
      NUM_CLASS_IMAGES: ["NUMBER_INTEGER", 200],
      MAX_TRAIN_STEPS: ["NUMBER_INTEGER", 800],
      RESOLUTION: ["NUMBER_INTEGER", 1024],
      LEARNING_RATE: ["NUMBER_DOUBLE", 0.0001],
      LORA_RANK: ["NUMBER_INTEGER", 4],
      MIXED_PRECISION: ["STRING", "bf16"],
      SEED: ["NUMBER_INTEGER", 0],
    });
    expect(Object.values(params).every((p) => p.isOptional === true && typeof p.description === "string")).toBe(true);
  });

  it("runs the four steps in order, each task wired to the pipeline parameters it uses", () => {
    const tasks = pipelineSpec.root.dag!.tasks;
    expect(Object.keys(tasks)).toEqual(["prepare-data", "train", "export-onnx", "upload"]);
    expect(tasks.train.dependentTasks).toEqual(["prepare-data"]);
    expect(tasks["export-onnx"].dependentTasks).toEqual(["train"]);
    expect(tasks.upload.dependentTasks).toEqual(["export-onnx"]);
    expect(tasks.upload).toEqual({
      taskInfo: { name: "upload" },
      componentRef: { name: "comp-upload" },
      cachingOptions: { enableCache: false },
      inputs: { parameters: { VERSION: { componentInputParameter: "VERSION" }, OUTPUT_NAME: { componentInputParameter: "OUTPUT_NAME" } } },
      dependentTasks: ["export-onnx"],
    });
    expect(pipelineSpec.components["comp-upload"]).toEqual({
      executorLabel: "exec-upload",
      inputDefinitions: { parameters: { VERSION: { parameterType: "STRING" }, OUTPUT_NAME: { parameterType: "STRING" } } },
      outputDefinitions: {
        artifacts: { loss_log: { artifactType: { schemaTitle: "system.Artifact", schemaVersion: "0.0.1" }, description: "training loss per step (CSV: step,loss) from the TensorBoard logs" } },
      },
    });
  });

  it("writes the exact command lines of every step", () => {
    const ex = pipelineSpec.deploymentSpec.executors;
    expect(ex["exec-prepare-data"].container).toEqual({
      image: "quay.io/diffusion-workbench/runtime:0.1.0",
      command: ["node", "/opt/app-root/src/dist/bin/cli.js", "finetune", "prepare"],
      args: ["--source", P("INSTANCE_DATA"), "--version", P("VERSION"), "--out", RUN("data"), "--resolution", P("RESOLUTION"), "--instance-prompt", P("INSTANCE_PROMPT")],
      resources: { resourceCpuRequest: "1", resourceMemoryRequest: "2Gi", resourceMemoryLimit: "4Gi" },
    });
    expect(ex["exec-train"].container).toEqual({
      image: "quay.io/diffusion-workbench/finetune-train:0.1.0",
      command: ["accelerate", "launch", "--num_processes", "1", "/opt/diffusers/examples/dreambooth/train_dreambooth_lora_sd3.py"],
      args: [
        "--pretrained_model_name_or_path", P("MODEL_NAME"),
        "--instance_data_dir", RUN("data/instance"),
        "--instance_prompt", P("INSTANCE_PROMPT"),
        "--output_dir", RUN("train"),
        "--resolution", P("RESOLUTION"),
        "--train_batch_size", "1",
        "--gradient_accumulation_steps", "1",
        "--gradient_checkpointing",
        "--learning_rate", P("LEARNING_RATE"),
        "--lr_scheduler", "constant",
        "--lr_warmup_steps", "0",
        "--max_train_steps", P("MAX_TRAIN_STEPS"),
        "--checkpointing_steps", "100000",
        "--mixed_precision", P("MIXED_PRECISION"),
        "--seed", P("SEED"),
        "--report_to", "tensorboard",
        "--rank", P("LORA_RANK"),
        "--with_prior_preservation",
        "--prior_loss_weight", "1.0",
        "--class_data_dir", RUN("data/class"),
        "--class_prompt", P("CLASS_PROMPT"),
        "--num_class_images", P("NUM_CLASS_IMAGES"),
      ],
      env: [{ name: "HF_HOME", value: "/workspace/.cache/huggingface" }],
      resources: { resourceCpuRequest: "4", resourceMemoryRequest: "32Gi", resourceMemoryLimit: "64Gi", accelerator: { resourceType: "nvidia.com/gpu", resourceCount: "1" } },
    });
    expect(ex["exec-export-onnx"].container.command).toEqual(["python3", "/opt/finetune/export_model.py"]);
    expect(ex["exec-export-onnx"].container.args).toEqual([
      "--base-model", P("MODEL_NAME"),
      "--lora", RUN("train"),
      "--diffusers-out", RUN("output/diffusers"),
      "--onnx-out", RUN("output/onnx"),
      "--samples-out", "{{$.outputs.artifacts['samples'].path}}",
      "--num-samples", "4",
      "--prompt", P("INSTANCE_PROMPT"),
      "--seed", P("SEED"),
      "--dtype", P("MIXED_PRECISION"),
    ]);
    expect(ex["exec-upload"].container.command).toEqual(["node", "/opt/app-root/src/dist/bin/cli.js", "finetune", "upload"]);
    expect(ex["exec-upload"].container.args).toEqual([
      "--from", RUN("output"),
      "--version", P("VERSION"),
      "--name", P("OUTPUT_NAME"),
      "--train-logs", RUN("train/logs"),
      "--loss-log", "{{$.outputs.artifacts['loss_log'].path}}",
    ]);
  });

  it("puts secrets, the workspace PVC, GPU tolerations and shared memory in the platform spec", () => {
    const k = platformSpec.platforms.kubernetes.deploymentSpec.executors;
    expect(Object.keys(k)).toEqual(["exec-prepare-data", "exec-train", "exec-export-onnx", "exec-upload"]);
    expect(k["exec-train"]).toEqual({
      secretAsEnv: [{ secretName: "hf-token", secretNameParameter: { runtimeValue: { constant: "hf-token" } }, keyToEnv: [{ secretKey: "HF_TOKEN", envVar: "HF_TOKEN" }], optional: true }],
      pvcMount: [{ constant: "dreambooth-workspace", pvcNameParameter: { runtimeValue: { constant: "dreambooth-workspace" } }, mountPath: "/workspace" }],
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
      emptyDirMounts: [{ volumeName: "shm", mountPath: "/dev/shm", medium: "Memory", sizeLimit: "16Gi" }],
    });
    const keys = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_ENDPOINT", "AWS_S3_BUCKET", "AWS_DEFAULT_REGION"];
    expect(k["exec-upload"].secretAsEnv).toEqual([
      { secretName: "aws-connection-dreambooth", secretNameParameter: { runtimeValue: { constant: "aws-connection-dreambooth" } }, keyToEnv: keys.map((key) => ({ secretKey: key, envVar: key })), optional: false },
    ]);
  });

  it("takes compile options: images, PVC, data connection, GPU kind, node selector and parameter defaults", () => {
    const c = pipelineFromYaml(
      compileYaml({
        family: "sd3",
        mode: "lora",
        trainImage: "registry.example/train:1",
        workspacePvc: "ws",
        dataConnection: "aws-connection-minio",
        gpu: { resourceType: "amd.com/gpu", count: 2 },
        nodeSelector: { "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" },
        defaults: { VERSION: "v7", MAX_TRAIN_STEPS: 1200 },
      }),
    );
    expect(checkMessage("ml_pipelines.PipelineSpec", c.pipelineSpec)).toEqual([]);
    expect(checkMessage("ml_pipelines.PlatformSpec", c.platformSpec)).toEqual([]);
    expect(c.pipelineSpec.deploymentSpec.executors["exec-train"].container.image).toBe("registry.example/train:1");
    expect(c.pipelineSpec.deploymentSpec.executors["exec-train"].container.resources!.accelerator).toEqual({ resourceType: "amd.com/gpu", resourceCount: "2" });
    expect(c.pipelineSpec.root.inputDefinitions!.parameters!.VERSION.defaultValue).toBe("v7");
    expect(c.pipelineSpec.root.inputDefinitions!.parameters!.MAX_TRAIN_STEPS.defaultValue).toBe(1200);
    const train = c.platformSpec.platforms.kubernetes.deploymentSpec.executors["exec-train"];
    expect(train.nodeSelector).toEqual({ labels: { "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" } });
    expect(train.tolerations).toEqual([{ key: "amd.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(train.pvcMount![0].constant).toBe("ws");
    expect(c.platformSpec.platforms.kubernetes.deploymentSpec.executors["exec-upload"].secretAsEnv![0].secretName).toBe("aws-connection-minio");
  });
});

describe("the whole compiled file", () => {
  // The reviewable YAML of the default pipeline. After an intended change, rewrite it with
  // UPDATE_KFP_FIXTURE=1 npx vitest run test/finetuning/compile.test.ts and read the diff.
  const fixture = path.join(repoRoot, "test/fixtures/kfp/dreambooth-sd3-lora.yaml");

  it("is exactly the reviewed dreambooth-sd3-lora.yaml", async () => {
    const yaml = compileYaml({ family: "sd3", mode: "lora" });
    if (process.env.UPDATE_KFP_FIXTURE) await writeFile(fixture, yaml);
    expect(yaml).toBe(await readFile(fixture, "utf8"));
  });
});

describe("training scripts and flags", () => {
  it("picks the diffusers script per family and mode, with family defaults", () => {
    const sd1 = pipelineFromYaml(compileYaml({ family: "sd1", mode: "full", defaults: { MODEL_NAME: "stable-diffusion-v1-5/stable-diffusion-v1-5" } })).pipelineSpec;
    const train = sd1.deploymentSpec.executors["exec-train"].container;
    expect(train.command[4]).toBe("/opt/diffusers/examples/dreambooth/train_dreambooth.py");
    expect(train.args).not.toContain("--rank");
    expect(sd1.deploymentSpec.executors["exec-export-onnx"].container.args.slice(2, 4)).toEqual(["--full", RUN("train")]);
    const p = sd1.root.inputDefinitions!.parameters!;
    expect([p.RESOLUTION.defaultValue, p.LEARNING_RATE.defaultValue, p.MIXED_PRECISION.defaultValue]).toEqual([512, 5e-6, "fp16"]);
    const xl = pipelineFromYaml(compileYaml({ family: "sdxl", mode: "lora", priorPreservation: false })).pipelineSpec;
    expect(xl.deploymentSpec.executors["exec-train"].container.command[4]).toBe("/opt/diffusers/examples/dreambooth/train_dreambooth_lora_sdxl.py");
    expect(xl.deploymentSpec.executors["exec-train"].container.args).not.toContain("--with_prior_preservation");
  });

  it("refuses a full fine-tune of SDXL, which diffusers has no Dreambooth script for", () => {
    const err = (() => {
      try {
        dreamboothPipeline({ family: "sdxl", mode: "full" });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).field).toBe("mode");
    expect(() => dreamboothPipeline({ family: "sd3", mode: "lora", defaults: { RESOLUTION: 1000.5 } })).toThrow(/RESOLUTION/);
  });

  it("passes only flags that the pinned diffusers release's scripts and export_model.py declare", async () => {
    const flags = JSON.parse(await readFile(path.join(repoRoot, "test/fixtures/kfp/diffusers-v0.32.2-dreambooth-flags.json"), "utf8")) as Record<string, string[]>;
    for (const family of ["sd1", "sd2", "sdxl", "sd3"] as const) {
      for (const mode of ["lora", "full"] as const) {
        const script = TRAINING_SCRIPTS[family][mode];
        if (!script) continue;
        const spec = pipelineFromYaml(compileYaml({ family, mode })).pipelineSpec;
        const used = spec.deploymentSpec.executors["exec-train"].container.args.filter((a) => a.startsWith("--"));
        expect(used.filter((f) => !flags[script].includes(f)), `${family} ${mode} ${script}`).toEqual([]);
      }
    }
    const py = await readFile(path.join(repoRoot, "finetuning/containers/export_model.py"), "utf8");
    const declared = [...py.matchAll(/add_argument\("(--[a-z-]+)"/g)].map((m) => m[1]);
    const spec = pipelineFromYaml(compileYaml({ family: "sd3", mode: "lora" })).pipelineSpec;
    const used = spec.deploymentSpec.executors["exec-export-onnx"].container.args.filter((a) => a.startsWith("--"));
    expect(used.filter((f) => !declared.includes(f))).toEqual([]);
  });

  it("pins the same versions in Containerfile.train as in TRAIN_STACK", async () => {
    const cf = await readFile(path.join(repoRoot, "finetuning/containers/Containerfile.train"), "utf8");
    const arg = (name: string) => new RegExp(`^ARG ${name}=(.+)$`, "m").exec(cf)?.[1];
    expect({
      baseImage: arg("BASE_IMAGE"),
      diffusers: arg("DIFFUSERS_VERSION"),
      peft: arg("PEFT_VERSION"),
      accelerate: arg("ACCELERATE_VERSION"),
      optimum: arg("OPTIMUM_VERSION"),
      transformers: arg("TRANSFORMERS_VERSION"),
      onnx: arg("ONNX_VERSION"),
      onnxruntime: arg("ONNXRUNTIME_VERSION"),
    }).toEqual(TRAIN_STACK);
    expect(cf).toContain(CONTAINER_LOCATIONS.examples.replace("/examples/dreambooth", ""));
    expect(cf).toContain(`${CONTAINER_LOCATIONS.tools}/export_model.py`);
  });
});

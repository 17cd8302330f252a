/**
 * The Dreambooth pipeline: prepare-data -> train -> export-onnx -> upload. Each step is a typed
 * definition (finetuning/kfp/step.ts); the KFP compiler and the local runner both read these.
 *
 * Steps share a run folder `{workspace}/{VERSION}/` (a PVC on the cluster):
 *   data/instance/   prepared instance images + manifest.json   (prepare-data)
 *   data/class/      class images the training script generates  (train, prior preservation)
 *   train/           LoRA weights or full diffusers weights, logs/ (train)
 *   output/diffusers/, output/onnx/  merged weights and the ONNX export (export-onnx)
 * and upload sends output/ to models/{VERSION}/{OUTPUT_NAME}/ in the data connection's bucket.
 */
import { InvalidInputError } from "../../lib/errors.js";
import type { Arg, LocationName, PipelineDefinition, Ref, StepDefinition } from "../kfp/step.js";
import { familyDefaults, PARAMETER_DESCRIPTIONS, PARAMETER_NAMES, PARAMETER_TYPES, DreamboothParametersSchema, type ModelFamily, type ParameterName, type TrainingMode } from "./parameters.js";

/** Where things are inside the two step images (finetuning/containers/Containerfile.train and serving/runtime/Containerfile). */
export const CONTAINER_LOCATIONS: Record<LocationName, string> = {
  node: "node",
  cli: "/opt/app-root/src/dist/bin/cli.js",
  workspace: "/workspace",
  examples: "/opt/diffusers/examples/dreambooth",
  tools: "/opt/finetune",
};

export const DEFAULT_TRAIN_IMAGE = "quay.io/diffusion-workbench/finetune-train:0.1.0";
export const DEFAULT_WORKBENCH_IMAGE = "quay.io/diffusion-workbench/runtime:0.1.0";

/** diffusers/examples/dreambooth script per family and mode. diffusers has no full (non-LoRA) Dreambooth script for SDXL. */
export const TRAINING_SCRIPTS: Record<ModelFamily, Partial<Record<TrainingMode, string>>> = {
  sd1: { lora: "train_dreambooth_lora.py", full: "train_dreambooth.py" },
  sd2: { lora: "train_dreambooth_lora.py", full: "train_dreambooth.py" },
  sdxl: { lora: "train_dreambooth_lora_sdxl.py" },
  sd3: { lora: "train_dreambooth_lora_sd3.py", full: "train_dreambooth_sd3.py" },
};

export interface DreamboothPipelineOptions {
  family: ModelFamily;
  mode: TrainingMode;
  /** Prior preservation with class images (default true, as the seed). */
  priorPreservation?: boolean;
  /** Sample images the export step renders with the fine-tuned model (default 4). */
  numSamples?: number;
  trainImage?: string;
  workbenchImage?: string;
  /** The run folder's PVC (default "dreambooth-workspace"). */
  workspacePvc?: string;
  /** The data connection Secret (AWS_* keys) for reading instance data and uploading the model. */
  dataConnection?: string;
  /** A Secret with HF_TOKEN for gated base models (SD3.5); optional at run time. */
  hfTokenSecret?: string;
  /** GPU resource and count for train and export (default nvidia.com/gpu x 1). */
  gpu?: { resourceType: string; count: number };
  /** Extra tolerations / node selector for the GPU steps (a toleration for the GPU taint is always added). */
  tolerations?: StepDefinition["tolerations"];
  nodeSelector?: Record<string, string>;
  /**
   * Add a deploy step after upload: apply an InferenceService of this project's runtime serving
   * models/{VERSION}/{OUTPUT_NAME}/onnx. The pipeline's service account needs patch rights on
   * inferenceservices.serving.kserve.io.
   */
  deploy?: { inferenceService: string; runtime?: string };
  /** Overrides of the parameters' defaults in the compiled pipeline. */
  defaults?: Partial<Record<ParameterName, string | number>>;
}

const p = (param: ParameterName): Ref => ({ param });
const loc = (location: LocationName): Ref => ({ location });
/** `{workspace}/{VERSION}/<rel>` as one argument. */
const run = (rel: string): Arg => [loc("workspace"), "/", p("VERSION"), `/${rel}`];

function trainArgs(o: Required<Pick<DreamboothPipelineOptions, "family" | "mode" | "priorPreservation">>): Arg[] {
  const args: Arg[] = [
    "--pretrained_model_name_or_path", p("MODEL_NAME"),
    "--instance_data_dir", run("data/instance"),
    "--instance_prompt", p("INSTANCE_PROMPT"),
    "--output_dir", run("train"),
    "--resolution", p("RESOLUTION"),
    "--train_batch_size", "1",
    "--gradient_accumulation_steps", "1",
    "--gradient_checkpointing",
    "--learning_rate", p("LEARNING_RATE"),
    "--lr_scheduler", "constant",
    "--lr_warmup_steps", "0",
    "--max_train_steps", p("MAX_TRAIN_STEPS"),
    // Checkpoints would fill the PVC; one at the end is what the export reads.
    "--checkpointing_steps", "100000",
    "--mixed_precision", p("MIXED_PRECISION"),
    "--seed", p("SEED"),
    // TensorBoard event files under train/logs/: the upload step turns them into the loss log.
    "--report_to", "tensorboard",
  ];
  if (o.mode === "lora") args.push("--rank", p("LORA_RANK"));
  if (o.priorPreservation) {
    args.push(
      "--with_prior_preservation",
      "--prior_loss_weight", "1.0",
      "--class_data_dir", run("data/class"),
      "--class_prompt", p("CLASS_PROMPT"),
      "--num_class_images", p("NUM_CLASS_IMAGES"),
    );
  }
  return args;
}

/** The pipeline's steps for a family and a training mode. */
export function dreamboothSteps(options: DreamboothPipelineOptions): StepDefinition[] {
  const o = {
    priorPreservation: true,
    numSamples: 4,
    trainImage: DEFAULT_TRAIN_IMAGE,
    workbenchImage: DEFAULT_WORKBENCH_IMAGE,
    workspacePvc: "dreambooth-workspace",
    dataConnection: "aws-connection-dreambooth",
    hfTokenSecret: "hf-token",
    gpu: { resourceType: "nvidia.com/gpu", count: 1 },
    tolerations: [],
    nodeSelector: {},
    ...options,
  };
  const script = TRAINING_SCRIPTS[o.family][o.mode];
  if (!script) {
    throw new InvalidInputError("mode", `diffusers ${o.mode === "full" ? "has no full fine-tune Dreambooth script" : "has no script"} for ${o.family}`, Object.entries(TRAINING_SCRIPTS[o.family]).map(([m]) => m).join(", "));
  }
  const workspace = [{ pvc: o.workspacePvc, mountPath: "/workspace" }];
  const s3 = [{ secret: o.dataConnection, keys: Object.fromEntries(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_ENDPOINT", "AWS_S3_BUCKET", "AWS_DEFAULT_REGION"].map((k) => [k, k])) }];
  const gpuStep: Partial<StepDefinition> = {
    image: o.trainImage,
    resources: {
      resourceCpuRequest: "4",
      resourceMemoryRequest: "32Gi",
      resourceMemoryLimit: "64Gi",
      accelerator: { resourceType: o.gpu.resourceType, resourceCount: String(o.gpu.count) },
    },
    // The base model comes from the Hub; gated models (SD3.5) need a token. Optional: open models need none.
    secretEnv: [{ secret: o.hfTokenSecret, keys: { HF_TOKEN: "HF_TOKEN" }, optional: true }],
    env: { HF_HOME: "/workspace/.cache/huggingface" },
    pvcMounts: workspace,
    tolerations: [{ key: o.gpu.resourceType, operator: "Exists", effect: "NoSchedule" }, ...o.tolerations],
    nodeSelector: o.nodeSelector,
    sharedMemory: "16Gi",
  };
  const cli = (...sub: string[]): Arg[] => [loc("node"), loc("cli"), "finetune", ...sub];

  const steps: StepDefinition[] = [
    {
      name: "prepare-data",
      image: o.workbenchImage,
      command: cli("prepare"),
      args: [
        "--source", p("INSTANCE_DATA"),
        "--version", p("VERSION"),
        "--out", run("data"),
        "--resolution", p("RESOLUTION"),
        "--instance-prompt", p("INSTANCE_PROMPT"),
      ],
      resources: { resourceCpuRequest: "1", resourceMemoryRequest: "2Gi", resourceMemoryLimit: "4Gi" },
      secretEnv: s3,
      pvcMounts: workspace,
    },
    {
      name: "train",
      ...gpuStep,
      image: o.trainImage,
      command: ["accelerate", "launch", "--num_processes", "1", [loc("examples"), `/${script}`]],
      args: trainArgs(o),
      after: ["prepare-data"],
    },
    {
      name: "export-onnx",
      ...gpuStep,
      image: o.trainImage,
      command: ["python3", [loc("tools"), "/export_model.py"]],
      args: [
        "--base-model", p("MODEL_NAME"),
        o.mode === "lora" ? "--lora" : "--full",
        run("train"),
        "--diffusers-out", run("output/diffusers"),
        "--onnx-out", run("output/onnx"),
        "--samples-out", { outputArtifact: "samples" },
        "--num-samples", String(o.numSamples),
        "--prompt", p("INSTANCE_PROMPT"),
        "--seed", p("SEED"),
        "--dtype", p("MIXED_PRECISION"),
      ],
      outputs: { samples: { type: "system.Artifact", description: "images of the instance prompt from the fine-tuned model" } },
      after: ["train"],
    },
    {
      name: "upload",
      image: o.workbenchImage,
      command: cli("upload"),
      args: [
        "--from", run("output"),
        "--version", p("VERSION"),
        "--name", p("OUTPUT_NAME"),
        "--train-logs", run("train/logs"),
        "--loss-log", { outputArtifact: "loss_log" },
      ],
      outputs: { loss_log: { type: "system.Artifact", description: "training loss per step (CSV: step,loss) from the TensorBoard logs" } },
      resources: { resourceCpuRequest: "1", resourceMemoryRequest: "2Gi", resourceMemoryLimit: "4Gi" },
      secretEnv: s3,
      pvcMounts: workspace,
      after: ["export-onnx"],
    },
  ];
  if (o.deploy) {
    steps.push({
      name: "deploy",
      image: o.workbenchImage,
      command: cli("deploy"),
      args: [
        "--isvc", o.deploy.inferenceService,
        "--version", p("VERSION"),
        "--name", p("OUTPUT_NAME"),
        "--data-connection", o.dataConnection,
        ...(o.deploy.runtime ? ["--runtime", o.deploy.runtime] : []),
      ],
      resources: { resourceCpuRequest: "100m", resourceMemoryRequest: "256Mi", resourceMemoryLimit: "1Gi" },
      after: ["upload"],
    });
  }
  return steps;
}

/** The whole pipeline definition: parameters with their defaults, and the steps. */
export function dreamboothPipeline(options: DreamboothPipelineOptions): PipelineDefinition {
  const base = DreamboothParametersSchema.parse({});
  const defaults: Record<string, string | number> = { ...base, ...familyDefaults(options.family, options.mode), ...options.defaults };
  const checked = DreamboothParametersSchema.safeParse(defaults);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new InvalidInputError(String(issue.path[0] ?? "defaults"), issue.message, PARAMETER_DESCRIPTIONS[issue.path[0] as ParameterName]);
  }
  const parameters = Object.fromEntries(
    PARAMETER_NAMES.map((name) => [name, { type: PARAMETER_TYPES[name], default: defaults[name], description: PARAMETER_DESCRIPTIONS[name] }]),
  );
  const script = TRAINING_SCRIPTS[options.family][options.mode];
  return {
    name: `dreambooth-${options.family}-${options.mode}`,
    description: `Dreambooth ${options.mode === "lora" ? "LoRA" : "full fine-tune"} of a ${options.family} model (diffusers ${script ?? "?"}), exported to ONNX, uploaded to models/{VERSION}/{OUTPUT_NAME}/`,
    parameters,
    steps: dreamboothSteps(options),
  };
}

/**
 * `finetune prepare|compile|local|upload|submit|watch`: Dreambooth fine-tuning, built and launched
 * from here, trained by diffusers' scripts in containers (or on a GPU workbench with --local).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { prepareData, dataPrefix } from "../../finetuning/data/prepare.js";
import { dreamboothParameters, FAMILIES, parametersFromEnv, TRAINING_MODES, type DreamboothParametersInput, type ModelFamily, type TrainingMode } from "../../finetuning/dreambooth/parameters.js";
import { CONTAINER_LOCATIONS, dreamboothPipeline, type DreamboothPipelineOptions } from "../../finetuning/dreambooth/pipeline.js";
import { parseSettings, resolveFamily } from "../../finetuning/dreambooth/settings.js";
import { uploadRunOutput } from "../../finetuning/dreambooth/upload.js";
import { compilePipeline } from "../../finetuning/kfp/compile.js";
import { pipelineToYaml } from "../../finetuning/kfp/yaml.js";
import { workbenchLocations } from "../../finetuning/local/locations.js";
import { runLocal } from "../../finetuning/local/runner.js";
import { dataConnectionFromEnv, InvalidInputError, parseS3Url, s3ClientOptionsFromEnv } from "../../lib/index.js";
import { packageVersion } from "../../serving/runtime/version.js";
import { int, oneOf } from "./parse.js";

interface PipelineFlags {
  family?: ModelFamily;
  mode: TrainingMode;
  priorPreservation: boolean;
  set?: string[];
  numSamples?: number;
}

interface CompileFlags extends PipelineFlags {
  output?: string;
  trainImage?: string;
  workbenchImage?: string;
  pvc?: string;
  dataConnection?: string;
  hfTokenSecret?: string;
  gpuResource?: string;
  gpus?: number;
  nodeSelector?: string[];
  deploy?: string;
  runtime?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function pipelineOptions(cmd: Command): Command {
  return cmd
    .option("--family <family>", `model family (default: from MODEL_NAME, else sd3): ${FAMILIES.join(", ")}`, oneOf(FAMILIES))
    .option("--mode <mode>", `LoRA or full fine-tune: ${TRAINING_MODES.join(", ")}`, oneOf(TRAINING_MODES), "lora")
    .option("--no-prior-preservation", "train without class images")
    .option("--num-samples <n>", "sample images rendered after training", int)
    .option("--set <NAME=VALUE>", "a pipeline parameter (repeatable); environment variables of the same names also count", collect);
}

/** The options that shape the compiled pipeline (compile, and submit without a file). */
function compileOptions(cmd: Command): Command {
  return pipelineOptions(cmd)
    .option("--train-image <ref>", "training/export image (finetuning/containers/Containerfile.train)")
    .option("--workbench-image <ref>", "this project's image, for prepare-data and upload")
    .option("--pvc <name>", "PVC for the run folder, mounted at /workspace (default dreambooth-workspace)")
    .option("--data-connection <secret>", "data connection Secret with AWS_* keys (default aws-connection-dreambooth)")
    .option("--hf-token-secret <secret>", "Secret with HF_TOKEN for gated models (default hf-token, optional)")
    .option("--gpu-resource <name>", "GPU resource name (default nvidia.com/gpu)")
    .option("--gpus <n>", "GPUs for train and export (default 1)", int)
    .option("--node-selector <label=value>", "node selector of the GPU steps (repeatable)", collect)
    .option("--deploy <isvc>", "add a deploy step: this InferenceService serves models/{VERSION}/{OUTPUT_NAME}/onnx")
    .option("--runtime <name>", "ServingRuntime of the deployed InferenceService (default diffusion-workbench)");
}

/** Parameters: environment first, then --set. */
function parameterInput(flags: PipelineFlags): DreamboothParametersInput {
  return { ...parametersFromEnv(), ...parseSettings(flags.set) };
}

function definitionOptions(flags: PipelineFlags, input: DreamboothParametersInput, extra: Partial<DreamboothPipelineOptions> = {}): DreamboothPipelineOptions {
  return {
    family: resolveFamily(flags.family, input.MODEL_NAME),
    mode: flags.mode,
    priorPreservation: flags.priorPreservation,
    ...(flags.numSamples !== undefined ? { numSamples: flags.numSamples } : {}),
    ...extra,
  };
}

function keyValues(list: string[] = [], field: string): Record<string, string> {
  return Object.fromEntries(
    list.map((kv) => {
      const i = kv.indexOf("=");
      if (i <= 0) throw new InvalidInputError(field, `'${kv}' is not key=value`, "label=value");
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
}

export function compileFromFlags(flags: CompileFlags): string {
  const input = parameterInput(flags);
  const def = dreamboothPipeline(
    definitionOptions(flags, input, {
      defaults: input as DreamboothPipelineOptions["defaults"],
      ...(flags.trainImage ? { trainImage: flags.trainImage } : {}),
      ...(flags.workbenchImage ? { workbenchImage: flags.workbenchImage } : {}),
      ...(flags.pvc ? { workspacePvc: flags.pvc } : {}),
      ...(flags.dataConnection ? { dataConnection: flags.dataConnection } : {}),
      ...(flags.hfTokenSecret ? { hfTokenSecret: flags.hfTokenSecret } : {}),
      gpu: { resourceType: flags.gpuResource ?? "nvidia.com/gpu", count: flags.gpus ?? 1 },
      nodeSelector: keyValues(flags.nodeSelector, "--node-selector"),
      ...(flags.deploy ? { deploy: { inferenceService: flags.deploy, ...(flags.runtime ? { runtime: flags.runtime } : {}) } } : {}),
    }),
  );
  return pipelineToYaml(compilePipeline(def, { locations: CONTAINER_LOCATIONS, sdkVersion: `diffusion-workbench-${packageVersion()}` }));
}

export function registerFinetune(program: Command): void {
  const ft = program.command("finetune").description("Dreambooth fine-tuning: prepare data, compile the KFP pipeline, run it on the cluster or locally");

  ft.command("prepare")
    .description("check, orient, crop/pad and de-duplicate instance images; write instance/ and manifest.json; optionally upload under dreambooth/{VERSION}/")
    .option("--source <src>", "folder, .zip/.tar.gz, s3://bucket/prefix, key prefix in AWS_S3_BUCKET, or archive URL (default: env INSTANCE_DATA, else dreambooth/{VERSION}/instance in AWS_S3_BUCKET)")
    .requiredOption("--out <dir>", "output folder (instance/ and manifest.json)")
    .option("--version <v>", "run version (env VERSION, default v1)")
    .option("--resolution <px>", "square training resolution (env RESOLUTION, default 1024)", int)
    .option("--instance-prompt <text>", "caption of every image (env INSTANCE_PROMPT, default 'a photo of rhteddy dog')")
    .option("--fit <fit>", "crop (centre) or pad to a square", oneOf(["crop", "pad"] as const), "crop")
    .option("--pad-color <color>", "colour of the padding", "#000000")
    .option("--min-size <px>", "reject images whose shorter side is under this (default: the resolution)", int)
    .option("--near-duplicates <bits>", "dHash distance counted as the same photo (-1: exact copies only)", int)
    .option("--upload [s3url]", "upload instance/ and manifest.json (default s3://$AWS_S3_BUCKET/dreambooth/{VERSION}/)")
    .action(async (flags: { source?: string; out: string; version?: string; resolution?: number; instancePrompt?: string; fit: "crop" | "pad"; padColor: string; minSize?: number; nearDuplicates?: number; upload?: string | boolean }) => {
      const env = parametersFromEnv();
      const p = dreamboothParameters({ ...env, ...(flags.version ? { VERSION: flags.version } : {}) }, resolveFamily(undefined, env.MODEL_NAME), "lora");
      const version = p.VERSION;
      const connection = dataConnectionFromEnv();
      const source = flags.source || env.INSTANCE_DATA || `${dataPrefix(version)}instance`;
      let upload;
      if (flags.upload) {
        if (typeof flags.upload === "string") upload = parseS3Url(flags.upload, "--upload");
        else if (connection?.bucket) upload = { bucket: connection.bucket, prefix: dataPrefix(version) };
        else throw new InvalidInputError("--upload", "no bucket: AWS_S3_BUCKET is not set", "s3://bucket/prefix or a data connection with a bucket");
      }
      const { manifest } = await prepareData({
        source,
        out: flags.out,
        resolution: flags.resolution ?? p.RESOLUTION,
        instancePrompt: flags.instancePrompt ?? p.INSTANCE_PROMPT,
        fit: flags.fit,
        padColor: flags.padColor,
        minSize: flags.minSize,
        nearDuplicateDistance: flags.nearDuplicates,
        connection,
        s3: await s3ClientOptionsFromEnv(),
        upload,
        onLog: (m) => process.stderr.write(`${m}\n`),
      });
      process.stdout.write(`${path.join(flags.out, "manifest.json")}\n`);
      if (manifest.rejected.length > 0) process.stderr.write(`${manifest.rejected.length} file(s) rejected: see manifest.json\n`);
    });

  compileOptions(ft.command("compile"))
    .description("write the Kubeflow Pipelines v2 YAML of the Dreambooth pipeline (upload it in the OpenShift AI dashboard or with `finetune submit`)")
    .option("-o, --output <file>", "write here instead of stdout")
    .action(async (flags: CompileFlags) => {
      const yaml = compileFromFlags(flags);
      if (flags.output) {
        await mkdir(path.dirname(path.resolve(flags.output)), { recursive: true });
        await writeFile(flags.output, yaml);
        process.stderr.write(`wrote ${flags.output}\n`);
      } else process.stdout.write(yaml);
    });

  pipelineOptions(ft.command("local"))
    .description("run the pipeline's steps here, as local processes (a GPU workbench with Containerfile.train's Python packages)")
    .option("--workspace <dir>", "parent of the run folder (the cluster's /workspace)", "./dreambooth-workspace")
    .option("--examples <dir>", "diffusers examples/dreambooth at the pinned release (env DIFFUSERS_EXAMPLES)")
    .option("--from <step>", "start at this step (the earlier ones already ran)")
    .action(async (flags: PipelineFlags & { workspace: string; examples?: string; from?: string }) => {
      const input = parameterInput(flags);
      const opts = definitionOptions(flags, input);
      const values = dreamboothParameters(input, opts.family, opts.mode);
      const locations = workbenchLocations({ workspace: flags.workspace, examples: flags.examples });
      const ac = new AbortController();
      process.once("SIGINT", () => ac.abort(new Error("interrupted")));
      const r = await runLocal(dreamboothPipeline(opts), {
        values,
        locations,
        artifactsDir: path.join(locations.workspace, values.VERSION, "artifacts"),
        from: flags.from,
        signal: ac.signal,
        onStep: (e) => process.stderr.write(e.phase === "start" ? `== ${e.step}: ${e.argv.join(" ")}\n` : `== ${e.step} done in ${e.seconds?.toFixed(0)} s\n`),
        onLog: (step, _stream, line) => process.stderr.write(`[${step}] ${line}\n`),
      });
      for (const [k, v] of Object.entries(r.artifacts)) process.stdout.write(`${k}\t${v}\n`);
    });

  ft.command("upload")
    .description("the pipeline's upload step: publish <from>/diffusers and <from>/onnx to models/{VERSION}/{NAME}/ and write the loss log")
    .requiredOption("--from <dir>", "the run's output folder")
    .requiredOption("--version <v>", "VERSION")
    .requiredOption("--name <name>", "OUTPUT_NAME")
    .option("--train-logs <dir>", "TensorBoard logs of training")
    .option("--loss-log <file>", "write the loss series here (CSV)")
    .action(async (flags: { from: string; version: string; name: string; trainLogs?: string; lossLog?: string }) => {
      const connection = dataConnectionFromEnv();
      if (!connection) throw new InvalidInputError("AWS_ACCESS_KEY_ID", "no data connection in the environment", "the data connection's AWS_* variables");
      await uploadRunOutput({ ...flags, connection, s3: await s3ClientOptionsFromEnv(), onLog: (m) => process.stderr.write(`${m}\n`) });
    });

  ft.command("deploy")
    .description("the pipeline's deploy step: apply an InferenceService serving models/{VERSION}/{NAME}/onnx (kubeconfig or in-cluster service account)")
    .requiredOption("--isvc <name>", "InferenceService name")
    .requiredOption("--version <v>", "VERSION")
    .requiredOption("--name <name>", "OUTPUT_NAME")
    .requiredOption("--data-connection <secret>", "data connection Secret the runtime reads the model with")
    .option("--runtime <name>", "ServingRuntime name")
    .option("--namespace <ns>", "namespace (default: the config's)")
    .action(async (flags: { isvc: string; version: string; name: string; dataConnection: string; runtime?: string; namespace?: string }) => {
      const { loadClusterConfig } = await import("../../lib/cluster/config.js");
      const { deployFineTunedModel } = await import("../../finetuning/dreambooth/deploy.js");
      const cluster = loadClusterConfig(flags.namespace ? { namespace: flags.namespace } : {});
      await deployFineTunedModel(cluster, { inferenceService: flags.isvc, version: flags.version, name: flags.name, dataConnection: flags.dataConnection, runtime: flags.runtime, namespace: flags.namespace });
      process.stderr.write(`applied InferenceService ${flags.isvc}: models/${flags.version}/${flags.name}/onnx\n`);
    });

  registerClusterCommands(ft);
}

interface ApiFlags {
  pipelinesUrl?: string;
  token?: string;
  dspa: string;
  namespace?: string;
  insecureSkipTlsVerify?: boolean;
}

function apiOptions(cmd: Command): Command {
  return cmd
    .option("--pipelines-url <url>", "the DSP API server (env DSP_URL; default: discovered from the DSPA with the kubeconfig)")
    .option("--token <token>", "bearer token (env DSP_TOKEN; default: the service account's, else `oc whoami -t`)")
    .option("--dspa <name>", "DataSciencePipelinesApplication to discover the URL from", "dspa")
    .option("--namespace <ns>", "data science project (default: the kubeconfig's)")
    .option("--insecure-skip-tls-verify", "do not check the server's certificate");
}

/** The client: URL from the flag, DSP_URL, or the DSPA's status; token from the flag, DSP_TOKEN, or the session. */
async function pipelinesClient(flags: ApiFlags) {
  const { PipelinesClient } = await import("../../lib/cluster/pipelines.js");
  const { defaultToken } = await import("../../lib/cluster/pipelines-dspa.js");
  let url = flags.pipelinesUrl ?? process.env.DSP_URL;
  if (!url) {
    const { loadClusterConfig } = await import("../../lib/cluster/config.js");
    const { pipelinesApiUrl } = await import("../../lib/cluster/discover.js");
    url = await pipelinesApiUrl(loadClusterConfig(flags.namespace ? { namespace: flags.namespace } : {}), flags.dspa, flags.namespace);
  }
  const token = flags.token ?? process.env.DSP_TOKEN;
  return new PipelinesClient({ url, token: token ?? (() => defaultToken()), ...(flags.insecureSkipTlsVerify ? { insecureSkipTlsVerify: true } : {}) });
}

function printLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

function registerClusterCommands(ft: Command): void {
  apiOptions(compileOptions(ft.command("submit")))
    .description("upload the pipeline (a new version when one of that name exists) and start a run with the parameters")
    .argument("[file]", "a compiled pipeline YAML (default: compile one with the options given here)")
    .option("--pipeline-name <name>", "the pipeline's name on the server (default: the compiled pipeline's)")
    .option("--run-name <name>", "the run's display name (default: '<pipeline> <VERSION>')")
    .option("--experiment <id>", "experiment id (default: the server's Default)")
    .option("--watch", "follow the run until it ends (exit 1 unless it succeeds)")
    .action(async (file: string | undefined, flags: CompileFlags & ApiFlags & { pipelineName?: string; runName?: string; experiment?: string; watch?: boolean }) => {
      const { pipelineFromYaml } = await import("../../finetuning/kfp/yaml.js");
      const { submitPipeline, watchRun } = await import("../../finetuning/dreambooth/submit.js");
      const yaml = file ? await readFile(file, "utf8") : compileFromFlags(flags);
      const spec = pipelineFromYaml(yaml).pipelineSpec;
      const parameters = parameterInput(flags) as Record<string, string | number>;
      const declared = spec.root.inputDefinitions?.parameters ?? {};
      for (const name of Object.keys(parameters)) {
        if (!(name in declared)) throw new InvalidInputError(name, "is not a parameter of this pipeline", Object.keys(declared).join(", "));
      }
      const version = String(parameters.VERSION ?? declared.VERSION?.defaultValue ?? "run");
      const name = flags.pipelineName ?? spec.pipelineInfo.name;
      const client = await pipelinesClient(flags);
      try {
        const r = await submitPipeline(client, {
          yaml,
          pipelineName: name,
          description: spec.pipelineInfo.description,
          versionName: `${name}-${version}-${new Date().toISOString().replace(/[:.]/g, "-")}`,
          runName: flags.runName ?? `${name} ${version}`,
          parameters,
          experimentId: flags.experiment,
        });
        printLine(`${r.created ? "uploaded pipeline" : "added a version to pipeline"} ${name} (${r.pipelineId}, version ${r.versionId}); started run ${r.run.run_id}`);
        process.stdout.write(`${r.run.run_id}\n`);
        if (flags.watch) await watchRun(client, r.run.run_id, { onLine: printLine });
      } finally {
        await client.close();
      }
    });

  apiOptions(ft.command("watch"))
    .description("follow a run: its state and its steps' states until it ends (exit 1 unless it succeeds)")
    .argument("<run-id>", "the run's id (printed by submit)")
    .option("--interval <s>", "seconds between polls", int, 10)
    .option("--pipeline-root <uri>", "the DSPA's pipeline root, s3://<bucket>[/<path>], to print artifact folders (env DSP_PIPELINE_ROOT)")
    .action(async (runId: string, flags: ApiFlags & { interval: number; pipelineRoot?: string }) => {
      const { watchRun } = await import("../../finetuning/dreambooth/submit.js");
      const client = await pipelinesClient(flags);
      const ac = new AbortController();
      process.once("SIGINT", () => ac.abort(new Error("interrupted (the run goes on)")));
      try {
        const run = await watchRun(client, runId, { onLine: printLine, intervalMs: flags.interval * 1000, signal: ac.signal });
        // Artifact folders: the pipeline root (the DSPA's bucket) + pipeline + run + task; the spec comes from the run's version.
        const pipelineRoot = flags.pipelineRoot ?? (process.env.DSP_PIPELINE_ROOT || undefined);
        try {
          const locations = await client.fetchArtifactLocations(run, pipelineRoot !== undefined ? { pipelineRoot } : {});
          for (const a of locations) process.stdout.write(`${a.task}.${a.name}\t${a.uriPrefix}\n`);
        } catch (err) {
          if (!(err instanceof InvalidInputError)) throw err;
          printLine(`artifact locations unknown: ${err.message}`);
        }
      } finally {
        await client.close();
      }
    });
}

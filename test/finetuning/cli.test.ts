/** `diffusion-workbench finetune ...` as a user runs it: the built CLI in a child process. */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipelineFromYaml } from "../../finetuning/kfp/yaml.js";
import { createS3Client, listPrefix } from "../../lib/index.js";
import { requireBuiltCli, runCli, type CliResult } from "../helpers/cli.js";
import { startS3, type S3Server } from "../storage/helpers/s3-server.js";
import { blockImage } from "./images-helpers.js";
import { checkMessage } from "./proto-check.js";

let work: string;
let s3: S3Server;

/** The environment without parameters or a data connection leaking in from the developer's shell. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(AWS_|VERSION$|MODEL_NAME$|INSTANCE_|CLASS_PROMPT$|RESOLUTION$|DIFFUSERS_EXAMPLES$)/.test(k)) delete env[k];
  return { ...env, ...extra };
}

function run(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<CliResult> {
  return runCli(args, { cwd: work, env });
}

beforeAll(async () => {
  requireBuiltCli();
  work = await mkdtemp(path.join(os.tmpdir(), "finetune-cli-"));
  s3 = await startS3();
  await mkdir(path.join(work, "photos"));
  for (const seed of [1, 2, 3]) await (await blockImage(seed, 300, 260)).jpeg().toFile(path.join(work, "photos", `p${seed}.jpg`));
});

afterAll(async () => {
  await s3?.close();
  await rm(work, { recursive: true, force: true });
});

describe("diffusion-workbench finetune", () => {
  it("compiles the pipeline to a YAML file that fits the KFP protos, with parameters from --set and the environment", async () => {
    const r = await run(["finetune", "compile", "-o", "out/pipeline.yaml", "--set", "MAX_TRAIN_STEPS=400", "--pvc", "my-ws"], cleanEnv({ MODEL_NAME: "stable-diffusion-v1-5/stable-diffusion-v1-5" }));
    expect(r.code, r.stderr).toBe(0);
    const { pipelineSpec, platformSpec } = pipelineFromYaml(await readFile(path.join(work, "out/pipeline.yaml"), "utf8"));
    expect(checkMessage("ml_pipelines.PipelineSpec", pipelineSpec)).toEqual([]);
    expect(checkMessage("ml_pipelines.PlatformSpec", platformSpec)).toEqual([]);
    expect(pipelineSpec.pipelineInfo.name).toBe("dreambooth-sd1-lora");
    const params = pipelineSpec.root.inputDefinitions!.parameters!;
    expect([params.MODEL_NAME.defaultValue, params.MAX_TRAIN_STEPS.defaultValue, params.RESOLUTION.defaultValue]).toEqual(["stable-diffusion-v1-5/stable-diffusion-v1-5", 400, 512]);
    expect(platformSpec.platforms.kubernetes.deploymentSpec.executors["exec-train"].pvcMount![0].constant).toBe("my-ws");
    expect(pipelineSpec.sdkVersion).toMatch(/^diffusion-workbench-\d+\.\d+\.\d+/);
  });

  it("refuses an unknown parameter and a bad value with exit code 2, naming them", async () => {
    const a = await run(["finetune", "compile", "--set", "STEPS=3"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--set: 'STEPS=3' is not NAME=VALUE with a known NAME \(allowed: VERSION, MODEL_NAME/);
    const b = await run(["finetune", "compile", "--family", "sdxl", "--mode", "full"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^error: mode: diffusers has no full fine-tune Dreambooth script for sdxl \(allowed: lora\)/);
  });

  it("prepares a folder of photos and uploads them under dreambooth/{VERSION}/", async () => {
    const r = await run(["finetune", "prepare", "--source", "photos", "--out", "prepared", "--resolution", "256", "--version", "v4", "--upload"], cleanEnv(s3.env));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${path.join("prepared", "manifest.json")}\n`);
    expect(r.stderr).toMatch(/3 images at 256x256 \(crop\), 0 rejected/);
    const ctx = createS3Client(s3.connection);
    try {
      expect((await listPrefix(ctx, { bucket: "models-bucket", prefix: "dreambooth/v4/" })).map((o) => o.path).sort()).toEqual(["instance/000.png", "instance/001.png", "instance/002.png", "manifest.json"]);
    } finally {
      ctx.client.destroy();
    }
  });

  it("runs the pipeline locally: the real prepare and upload steps, stand-ins for accelerate and python3", async () => {
    const bin = path.join(work, "bin");
    await mkdir(bin, { recursive: true });
    // Stand-ins write what diffusers' script and export_model.py would: LoRA weights, model folders, samples.
    const standin = `#!${process.execPath}
const fs = require("node:fs"), path = require("node:path");
const a = process.argv.slice(2), opt = (n) => a[a.indexOf(n) + 1];
const put = (f, t) => { fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, t); };
if (path.basename(process.argv[1]) === "accelerate") { put(path.join(opt("--output_dir"), "pytorch_lora_weights.safetensors"), "w"); console.log("trained " + opt("--max_train_steps") + " steps on " + fs.readdirSync(opt("--instance_data_dir")).length + " images"); }
else { for (const o of ["--diffusers-out", "--onnx-out"]) put(path.join(opt(o), "model_index.json"), "{}"); put(path.join(opt("--samples-out"), "sample-00.png"), "png"); }
`;
    for (const name of ["accelerate", "python3"]) {
      await writeFile(path.join(bin, name), standin);
      await chmod(path.join(bin, name), 0o755);
    }
    const env = cleanEnv({ ...s3.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, DIFFUSERS_EXAMPLES: "/opt/diffusers/examples/dreambooth", VERSION: "v4", MAX_TRAIN_STEPS: "5" });
    const r = await run(["finetune", "local", "--workspace", "ws", "--set", "RESOLUTION=256", "--set", "OUTPUT_NAME=teddy"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^== prepare-data: .*cli\.js finetune prepare --source {2}--version v4 --out .*ws\/v4\/data --resolution 256 --instance-prompt a photo of rhteddy dog$/m);
    expect(r.stderr).toMatch(/^\[train\] trained 5 steps on 3 images$/m);
    expect(r.stderr).toMatch(/^\[upload\] uploaded onnx\/ to s3:\/\/models-bucket\/models\/v4\/teddy\/onnx\/ \(1 files\)$/m);
    expect(r.stdout).toBe(`export-onnx.samples\t${path.join(work, "ws/v4/artifacts/export-onnx/samples")}\nupload.loss_log\t${path.join(work, "ws/v4/artifacts/upload/loss_log")}\n`);
    expect(await readFile(path.join(work, "ws/v4/artifacts/upload/loss_log"), "utf8")).toBe("step,loss\n");
    expect(await readdir(path.join(work, "ws/v4/data/instance"))).toEqual(["000.png", "001.png", "002.png"]);
    const ctx = createS3Client(s3.connection);
    try {
      expect((await listPrefix(ctx, { bucket: "models-bucket", prefix: "models/v4/teddy/" })).map((o) => o.path).sort()).toEqual([
        "diffusers/model_index.json",
        "diffusers/workbench-manifest.json",
        "onnx/model_index.json",
        "onnx/workbench-manifest.json",
      ]);
    } finally {
      ctx.client.destroy();
    }
    expect((await sharp(path.join(work, "ws/v4/data/instance/000.png")).metadata()).width).toBe(256);
  });
});

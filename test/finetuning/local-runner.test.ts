import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dreamboothParameters } from "../../finetuning/dreambooth/parameters.js";
import { CONTAINER_LOCATIONS, dreamboothPipeline } from "../../finetuning/dreambooth/pipeline.js";
import { compilePipeline } from "../../finetuning/kfp/compile.js";
import { formatNumber, localCommand, runLocal, StepFailedError } from "../../finetuning/local/runner.js";
import type { LocationName } from "../../finetuning/kfp/step.js";

// Stand-ins for the programs the steps run (the project's CLI, accelerate, python3): they record
// their argv and write the files the real programs would, so the runner's wiring is tested end to end.
const STANDIN = `
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
const prog = path.basename(process.argv[1]);
const argv = process.argv.slice(2);
appendFileSync(process.env.CALLS, JSON.stringify({ prog, argv }) + "\\n");
const opt = (name) => argv[argv.indexOf(name) + 1];
const put = (file, text) => { mkdirSync(path.dirname(file), { recursive: true }); writeFileSync(file, text); };
if (prog === "fake-node" && argv[2] === "prepare") {
  put(path.join(opt("--out"), "instance/000.png"), "png");
  put(path.join(opt("--out"), "manifest.json"), "{}");
  console.log("1 images at " + opt("--resolution"));
} else if (prog === "accelerate") {
  if (process.env.FAIL_TRAIN) { console.error("CUDA out of memory"); process.exit(3); }
  put(path.join(opt("--output_dir"), "pytorch_lora_weights.safetensors"), "w");
  put(path.join(opt("--output_dir"), "logs/run/events.out.tfevents.1"), "e");
  console.log("step 1/2 loss=0.5");
  console.error("step 2/2 loss=0.25");
} else if (prog === "python3") {
  for (const o of ["--diffusers-out", "--onnx-out"]) put(path.join(opt(o), "model_index.json"), "{}");
  for (let i = 0; i < Number(opt("--num-samples")); i++) put(path.join(opt("--samples-out"), "sample-" + i + ".png"), "png");
} else if (prog === "fake-node" && argv[2] === "upload") {
  put(opt("--loss-log"), "step,loss\\n1,0.5\\n2,0.25\\n");
  console.log("uploaded to models/" + opt("--version") + "/" + opt("--name") + "/");
}
`;

let root: string;
let bin: string;
let locations: Record<LocationName, string>;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "dreambooth-local-"));
  bin = path.join(root, "bin");
  await import("node:fs/promises").then((fs) => fs.mkdir(bin));
  for (const name of ["fake-node", "accelerate", "python3"]) {
    await writeFile(path.join(bin, name), `#!${process.execPath}\n${STANDIN}`);
    await chmod(path.join(bin, name), 0o755);
  }
  locations = { node: "fake-node", cli: "/project/dist/bin/cli.js", workspace: path.join(root, "ws"), examples: "/diffusers/examples/dreambooth", tools: "/project/finetuning/containers" };
  env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, CALLS: path.join(root, "calls.jsonl") };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function calls(): Promise<{ prog: string; argv: string[] }[]> {
  const text = await readFile(path.join(root, "calls.jsonl"), "utf8").catch(() => "");
  return text.trim() === "" ? [] : text.trim().split("\n").map((l) => JSON.parse(l));
}

describe("runLocal", () => {
  const def = dreamboothPipeline({ family: "sd3", mode: "lora", numSamples: 2 });
  const values = dreamboothParameters({ VERSION: "v2", MAX_TRAIN_STEPS: 10 }, "sd3", "lora");

  it("resolves a step's references to local values: parameters, locations and artifact paths", () => {
    const artifactsDir = path.join(root, "art");
    const upload = localCommand(def.steps[3], { values, locations, artifactsDir });
    expect(upload.argv).toEqual([
      "fake-node", "/project/dist/bin/cli.js", "finetune", "upload",
      "--from", `${locations.workspace}/v2/output`,
      "--version", "v2",
      "--name", "rhteddy",
      "--train-logs", `${locations.workspace}/v2/train/logs`,
      "--loss-log", path.join(artifactsDir, "upload", "loss_log"),
    ]);
    const train = localCommand(def.steps[1], { values, locations, artifactsDir });
    expect(train.argv.slice(0, 5)).toEqual(["accelerate", "launch", "--num_processes", "1", "/diffusers/examples/dreambooth/train_dreambooth_lora_sd3.py"]);
    expect(train.argv.slice(train.argv.indexOf("--learning_rate"), train.argv.indexOf("--learning_rate") + 2)).toEqual(["--learning_rate", "0.0001"]);
    expect(train.argv.slice(train.argv.indexOf("--instance_prompt"), train.argv.indexOf("--instance_prompt") + 2)).toEqual(["--instance_prompt", "a photo of rhteddy dog"]);
  });

  it("gives, for every step, the command line the KFP launcher makes of the compiled spec", () => {
    const compiled = compilePipeline(def, { locations: CONTAINER_LOCATIONS, sdkVersion: "t" });
    const artifactsDir = "/artifacts";
    for (const step of def.steps) {
      const c = compiled.pipelineSpec.deploymentSpec.executors[`exec-${step.name}`].container;
      // What the launcher does: replace each placeholder by the parameter's text, artifact placeholders by local paths.
      const launched = [...c.command, ...c.args].map((a) =>
        a
          .replace(/\{\{\$\.inputs\.parameters\['(\w+)'\]\}\}/g, (_, name: string) => { const v = (values as Record<string, unknown>)[name]; return typeof v === "number" ? formatNumber(v) : String(v); })
          .replace(/\{\{\$\.outputs\.artifacts\['(\w+)'\]\.path\}\}/g, (_, key: string) => path.join(artifactsDir, step.name, key)),
      );
      expect(localCommand(step, { values, locations: CONTAINER_LOCATIONS, artifactsDir }).argv, step.name).toEqual(launched);
    }
  });

  it("writes numbers as the KFP launcher does: shortest digits, never an exponent", () => {
    expect([5e-6, 1e-4, 2.5e-7, 800, 1.5, -3e-8, 1e21, 1.25e22, 0].map(formatNumber)).toEqual([
      "0.000005", "0.0001", "0.00000025", "800", "1.5", "-0.00000003", "1000000000000000000000", "12500000000000000000000", "0",
    ]);
    const full = dreamboothParameters({ LEARNING_RATE: 5e-6 }, "sd1", "full");
    const train = localCommand(dreamboothPipeline({ family: "sd1", mode: "full" }).steps[1], { values: full, locations, artifactsDir: root });
    expect(train.argv[train.argv.indexOf("--learning_rate") + 1]).toBe("0.000005");
  });

  it("runs every step in order with the same command lines, streams their output and leaves the expected files", async () => {
    const artifactsDir = path.join(root, "artifacts");
    const logs: string[] = [];
    const events: string[] = [];
    const result = await runLocal(def, {
      values,
      locations,
      artifactsDir,
      env,
      onLog: (step, stream, line) => logs.push(`${step} ${stream}: ${line}`),
      onStep: (e) => events.push(`${e.phase} ${e.step}`),
    });
    expect(events).toEqual(["start prepare-data", "done prepare-data", "start train", "done train", "start export-onnx", "done export-onnx", "start upload", "done upload"]);
    expect(result.steps.map((s) => s.step)).toEqual(["prepare-data", "train", "export-onnx", "upload"]);
    expect(logs).toEqual([
      "prepare-data stdout: 1 images at 1024",
      "train stdout: step 1/2 loss=0.5",
      "train stderr: step 2/2 loss=0.25",
      "upload stdout: uploaded to models/v2/rhteddy/",
    ]);
    const recorded = await calls();
    expect(recorded.map((c) => c.prog)).toEqual(["fake-node", "accelerate", "python3", "fake-node"]);
    for (const [i, step] of def.steps.entries()) {
      expect(recorded[i].argv).toEqual(localCommand(step, { values, locations, artifactsDir }).argv.slice(1));
    }
    const run = path.join(locations.workspace, "v2");
    expect((await readdir(path.join(run, "output"))).sort()).toEqual(["diffusers", "onnx"]);
    expect(await readdir(path.join(run, "data/instance"))).toEqual(["000.png"]);
    expect(result.artifacts).toEqual({ "export-onnx.samples": path.join(artifactsDir, "export-onnx/samples"), "upload.loss_log": path.join(artifactsDir, "upload/loss_log") });
    expect((await readdir(result.artifacts["export-onnx.samples"])).sort()).toEqual(["sample-0.png", "sample-1.png"]);
    expect(await readFile(result.artifacts["upload.loss_log"], "utf8")).toBe("step,loss\n1,0.5\n2,0.25\n");
  });

  it("stops at the first failing step with its exit status, and can resume from a step", async () => {
    await rm(path.join(root, "calls.jsonl"), { force: true });
    const err = await runLocal(def, { values, locations, artifactsDir: path.join(root, "a2"), env: { ...env, FAIL_TRAIN: "1" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailedError);
    expect((err as StepFailedError).message).toBe("step 'train' failed: exit status 3");
    expect((await calls()).map((c) => c.prog)).toEqual(["fake-node", "accelerate"]);

    await rm(path.join(root, "calls.jsonl"), { force: true });
    const resumed = await runLocal(def, { values, locations, artifactsDir: path.join(root, "a3"), env, from: "export-onnx" });
    expect(resumed.steps.map((s) => s.step)).toEqual(["export-onnx", "upload"]);
    await expect(runLocal(def, { values, locations, artifactsDir: path.join(root, "a4"), env, from: "nope" })).rejects.toThrow(/from: 'nope' is not a step/);
  });

  it("says which program could not be started", async () => {
    const err = await runLocal(def, { values, locations: { ...locations, node: path.join(root, "missing-node") }, artifactsDir: path.join(root, "a5"), env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailedError);
    expect((err as Error).message).toMatch(/^step 'prepare-data' failed: cannot start '.*missing-node': .*ENOENT/);
  });

  it("stops the running step when the signal aborts", async () => {
    const ctl = new AbortController();
    const slow = { ...def, steps: [{ ...def.steps[0], command: [process.execPath, "-e", "setTimeout(() => {}, 30000)"], args: [] }] };
    const p = runLocal(slow, { values, locations, artifactsDir: path.join(root, "a6"), env, signal: ctl.signal, onStep: () => setTimeout(() => ctl.abort(new Error("user stop")), 50) });
    await expect(p).rejects.toThrow("cancelled: user stop");
  });
});

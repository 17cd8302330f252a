/**
 * Runs a pipeline's steps as local processes, in order, with the command lines the KFP compiler
 * writes (references resolved to local values instead of KFP placeholders): a GPU workbench with
 * the Python packages of Containerfile.train runs exactly what the cluster runs. Output is streamed
 * line by line; the first failing step stops the run.
 */
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { InvalidInputError, throwIfCancelled, WorkbenchError } from "../../lib/errors.js";
import { renderArg, type LocationName, type PipelineDefinition, type Ref, type StepDefinition } from "../kfp/step.js";
import type { JsonValue } from "../kfp/spec.js";

/** A step exited with a non-zero status (or was killed by a signal). */
export class StepFailedError extends WorkbenchError {
  override name = "StepFailedError";
  constructor(
    readonly step: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    reason?: string,
  ) {
    super(`step '${step}' failed: ${reason ?? (exitCode !== null ? `exit status ${exitCode}` : `killed by ${signal}`)}`);
  }
}

export interface LocalCommand {
  step: string;
  argv: string[];
}

export interface LocalRunOptions {
  /** Every pipeline parameter's value (defaults already filled in). */
  values: Record<string, JsonValue>;
  locations: Record<LocationName, string>;
  /** Output artifacts go to `<artifactsDir>/<step>/<key>`. */
  artifactsDir: string;
  /** Environment of the steps (default: this process's). Secrets (AWS_*, HF_TOKEN) come from here. */
  env?: NodeJS.ProcessEnv;
  /** Start at this step (the earlier ones already ran). */
  from?: string;
  onStep?: (event: { step: string; phase: "start" | "done"; argv: string[]; seconds?: number }) => void;
  /** Each line a step prints, as it comes. */
  onLog?: (step: string, stream: "stdout" | "stderr", line: string) => void;
  signal?: AbortSignal;
}

export interface LocalRunResult {
  steps: { step: string; seconds: number }[];
  /** Output artifacts by "<step>.<key>". */
  artifacts: Record<string, string>;
}

/**
 * Numbers as the KFP launcher writes them into placeholders (Go's strconv.FormatFloat(v, 'f', -1, 64):
 * shortest round-trip digits, never an exponent), so a local run gets the cluster's exact arguments.
 */
export function formatNumber(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, lead, frac = "", e] = m;
  const digits = lead + frac;
  const exp = Number(e);
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  return digits.length <= exp + 1 ? sign + digits.padEnd(exp + 1, "0") : `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

function formatValue(v: JsonValue): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return formatNumber(v);
  return JSON.stringify(v);
}

export function artifactPath(artifactsDir: string, step: string, key: string): string {
  return path.join(artifactsDir, step, key);
}

/** One step's command line with every reference resolved to a local value. */
export function localCommand(step: StepDefinition, options: Pick<LocalRunOptions, "values" | "locations" | "artifactsDir">): LocalCommand {
  const render = (ref: Ref): string => {
    if ("param" in ref) {
      const v = options.values[ref.param];
      if (v === undefined) throw new InvalidInputError(ref.param, `has no value (needed by step '${step.name}')`, "a value or a default");
      return formatValue(v);
    }
    if ("outputArtifact" in ref) return artifactPath(options.artifactsDir, step.name, ref.outputArtifact);
    return options.locations[ref.location];
  };
  return { step: step.name, argv: [...step.command, ...step.args].map((a) => renderArg(a, render)) };
}

async function runOne(cmd: LocalCommand, options: LocalRunOptions): Promise<void> {
  const [file, ...args] = cmd.argv;
  const child = spawn(file, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  const lines = (stream: "stdout" | "stderr") =>
    new Promise<void>((resolve) => {
      const rl = createInterface({ input: child[stream] });
      rl.on("line", (line) => options.onLog?.(cmd.step, stream, line));
      rl.on("close", resolve);
    });
  const kill = () => child.kill("SIGTERM");
  options.signal?.addEventListener("abort", kill, { once: true });
  try {
    const [code, sig] = await Promise.all([
      new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.on("error", (err) => reject(new StepFailedError(cmd.step, null, null, `cannot start '${file}': ${err.message}`)));
        child.on("close", (c, s) => resolve([c, s]));
      }),
      lines("stdout"),
      lines("stderr"),
    ]).then(([r]) => r);
    throwIfCancelled(options.signal);
    if (code !== 0) throw new StepFailedError(cmd.step, code, sig);
  } finally {
    options.signal?.removeEventListener("abort", kill);
  }
}

export async function runLocal(def: PipelineDefinition, options: LocalRunOptions): Promise<LocalRunResult> {
  let steps = def.steps;
  if (options.from !== undefined) {
    const i = steps.findIndex((s) => s.name === options.from);
    if (i < 0) throw new InvalidInputError("from", `'${options.from}' is not a step`, steps.map((s) => s.name).join(", "));
    steps = steps.slice(i);
  }
  const result: LocalRunResult = { steps: [], artifacts: {} };
  for (const step of steps) {
    throwIfCancelled(options.signal);
    const cmd = localCommand(step, options);
    // Artifacts may be a file or a folder: make the step's folder, the step makes the rest.
    for (const key of Object.keys(step.outputs ?? {})) {
      await mkdir(path.join(options.artifactsDir, step.name), { recursive: true });
      result.artifacts[`${step.name}.${key}`] = artifactPath(options.artifactsDir, step.name, key);
    }
    options.onStep?.({ step: step.name, phase: "start", argv: cmd.argv });
    const t0 = performance.now();
    await runOne(cmd, options);
    const seconds = (performance.now() - t0) / 1000;
    result.steps.push({ step: step.name, seconds });
    options.onStep?.({ step: step.name, phase: "done", argv: cmd.argv, seconds });
  }
  return result;
}

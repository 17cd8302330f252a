/**
 * A pipeline step written once as typed data: the image, the command and its arguments with
 * references to pipeline parameters, output artifacts and well-known locations. The KFP compiler
 * turns the references into runtime placeholders; the local runner turns them into values, so the
 * cluster and a GPU workbench run the same command lines.
 */
import type { ArtifactTypeSchema, JsonValue, ParameterType, ResourceSpec } from "./spec.js";

/** Places that differ between the step containers and a workbench. */
export type LocationName =
  /** The Node.js binary ("node" in the project image). */
  | "node"
  /** The project's CLI entry (dist/bin/cli.js). */
  | "cli"
  /** The shared working folder of a run (a PVC mount on the cluster). */
  | "workspace"
  /** diffusers' examples/dreambooth at the pinned release. */
  | "examples"
  /** This project's helper scripts (finetuning/containers). */
  | "tools";

export type Ref = { param: string } | { outputArtifact: string } | { location: LocationName };

/** One argument: a literal, a reference, or parts concatenated into one argument. */
export type Arg = string | Ref | (string | Ref)[];

export interface PipelineParameter {
  type: Extract<ParameterType, "STRING" | "NUMBER_INTEGER" | "NUMBER_DOUBLE" | "BOOLEAN">;
  default: JsonValue;
  description: string;
}

export interface SecretEnv {
  secret: string;
  /** Secret key -> environment variable. */
  keys: Record<string, string>;
  optional?: boolean;
}

export interface StepDefinition {
  /** Task name (lower case, digits, '-'): also names the component (`comp-<name>`) and executor (`exec-<name>`). */
  name: string;
  image: string;
  command: Arg[];
  args: Arg[];
  /** Output artifacts the step writes at `{outputArtifact: key}` (a file or a folder). */
  outputs?: Record<string, { type: ArtifactTypeSchema["schemaTitle"]; description: string }>;
  /** Steps that must finish first. */
  after?: string[];
  resources?: ResourceSpec;
  env?: Record<string, string>;
  secretEnv?: SecretEnv[];
  pvcMounts?: { pvc: string; mountPath: string }[];
  tolerations?: { key: string; operator: "Exists" | "Equal"; value?: string; effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
  nodeSelector?: Record<string, string>;
  /** A /dev/shm of this size (PyTorch data loaders need more than the container default). */
  sharedMemory?: string;
  /** KFP caching (default false: training steps must not be skipped silently). */
  cache?: boolean;
}

export interface PipelineDefinition {
  name: string;
  description: string;
  parameters: Record<string, PipelineParameter>;
  steps: StepDefinition[];
}

export function isRef(part: unknown): part is Ref {
  return typeof part === "object" && part !== null && !Array.isArray(part);
}

/** Every parameter a step's command and arguments refer to, in first-use order. */
export function parametersUsed(step: StepDefinition): string[] {
  const seen = new Set<string>();
  for (const arg of [...step.command, ...step.args]) {
    for (const part of Array.isArray(arg) ? arg : [arg]) {
      if (isRef(part) && "param" in part) seen.add(part.param);
    }
  }
  return [...seen];
}

/** Renders one argument, given how each kind of reference is written. */
export function renderArg(arg: Arg, render: (ref: Ref) => string): string {
  return (Array.isArray(arg) ? arg : [arg]).map((p) => (typeof p === "string" ? p : render(p))).join("");
}

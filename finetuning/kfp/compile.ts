/**
 * Compiles a typed pipeline definition into the two documents of a KFP v2 pipeline YAML (the
 * PipelineSpec and the Kubernetes platform spec), the form the KFP SDK's compiler writes and the
 * Data Science Pipelines server accepts.
 */
import { InvalidInputError } from "../../lib/errors.js";
import { isRef, parametersUsed, renderArg, type LocationName, type PipelineDefinition, type Ref, type StepDefinition } from "./step.js";
import type { CompiledPipeline, ComponentSpec, KubernetesExecutorConfig, PipelineContainerSpec, PipelineTaskSpec } from "./spec.js";

export const SCHEMA_VERSION = "2.1.0";
/** Artifact type schemas are at version 0.0.1 in every KFP release so far. */
const ARTIFACT_SCHEMA_VERSION = "0.0.1";
const TASK_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface CompileOptions {
  /** Where each location is inside the step containers. */
  locations: Record<LocationName, string>;
  /** Written as sdkVersion, e.g. "diffusion-workbench-0.1.0". */
  sdkVersion: string;
}

/** KFP's runtime placeholders. */
export function kfpPlaceholder(ref: Ref, locations: Record<LocationName, string>): string {
  if ("param" in ref) return `{{$.inputs.parameters['${ref.param}']}}`;
  if ("outputArtifact" in ref) return `{{$.outputs.artifacts['${ref.outputArtifact}'].path}}`;
  return locations[ref.location];
}

function checkDefinition(def: PipelineDefinition): void {
  const names = new Set<string>();
  for (const step of def.steps) {
    if (!TASK_NAME.test(step.name)) throw new InvalidInputError(`steps.${step.name}`, "is not a valid task name", "lower case letters, digits, '-'");
    if (names.has(step.name)) throw new InvalidInputError(`steps.${step.name}`, "is defined twice", "unique step names");
    for (const dep of step.after ?? []) {
      if (!names.has(dep)) throw new InvalidInputError(`steps.${step.name}.after`, `'${dep}' is not an earlier step`, [...names].join(", ") || "(none)");
    }
    for (const p of parametersUsed(step)) {
      if (!(p in def.parameters)) throw new InvalidInputError(`steps.${step.name}`, `refers to unknown parameter '${p}'`, Object.keys(def.parameters).join(", "));
    }
    for (const arg of [...step.command, ...step.args]) {
      for (const part of Array.isArray(arg) ? arg : [arg]) {
        if (isRef(part) && "outputArtifact" in part && !step.outputs?.[part.outputArtifact]) {
          throw new InvalidInputError(`steps.${step.name}`, `writes undeclared output artifact '${part.outputArtifact}'`, Object.keys(step.outputs ?? {}).join(", ") || "(none)");
        }
      }
    }
    names.add(step.name);
  }
}

function component(def: PipelineDefinition, step: StepDefinition): ComponentSpec {
  const used = parametersUsed(step);
  const spec: ComponentSpec = { executorLabel: `exec-${step.name}` };
  if (used.length > 0) {
    spec.inputDefinitions = { parameters: Object.fromEntries(used.map((p) => [p, { parameterType: def.parameters[p].type }])) };
  }
  if (step.outputs) {
    spec.outputDefinitions = {
      artifacts: Object.fromEntries(
        Object.entries(step.outputs).map(([k, o]) => [k, { artifactType: { schemaTitle: o.type, schemaVersion: ARTIFACT_SCHEMA_VERSION }, description: o.description }]),
      ),
    };
  }
  return spec;
}

function task(step: StepDefinition): PipelineTaskSpec {
  const used = parametersUsed(step);
  const t: PipelineTaskSpec = {
    taskInfo: { name: step.name },
    componentRef: { name: `comp-${step.name}` },
    cachingOptions: { enableCache: step.cache ?? false },
  };
  if (used.length > 0) t.inputs = { parameters: Object.fromEntries(used.map((p) => [p, { componentInputParameter: p }])) };
  if (step.after?.length) t.dependentTasks = [...step.after];
  return t;
}

function container(step: StepDefinition, locations: Record<LocationName, string>): PipelineContainerSpec {
  const render = (r: Ref) => kfpPlaceholder(r, locations);
  const c: PipelineContainerSpec = {
    image: step.image,
    command: step.command.map((a) => renderArg(a, render)),
    args: step.args.map((a) => renderArg(a, render)),
  };
  if (step.env && Object.keys(step.env).length > 0) c.env = Object.entries(step.env).map(([name, value]) => ({ name, value }));
  if (step.resources) c.resources = step.resources;
  return c;
}

function kubernetes(step: StepDefinition): KubernetesExecutorConfig | undefined {
  const k: KubernetesExecutorConfig = {};
  if (step.secretEnv?.length) {
    k.secretAsEnv = step.secretEnv.map((s) => ({
      secretName: s.secret,
      secretNameParameter: { runtimeValue: { constant: s.secret } },
      keyToEnv: Object.entries(s.keys).map(([secretKey, envVar]) => ({ secretKey, envVar })),
      optional: s.optional ?? false,
    }));
  }
  if (step.pvcMounts?.length) {
    k.pvcMount = step.pvcMounts.map((m) => ({ constant: m.pvc, pvcNameParameter: { runtimeValue: { constant: m.pvc } }, mountPath: m.mountPath }));
  }
  if (step.nodeSelector && Object.keys(step.nodeSelector).length > 0) k.nodeSelector = { labels: { ...step.nodeSelector } };
  if (step.tolerations?.length) k.tolerations = step.tolerations.map((t) => ({ ...t }));
  // A memory-backed emptyDir at /dev/shm: the backend's driver implements emptyDirMounts, while the
  // proto's enabledSharedMemory field is not read by it (kubeflow/pipelines backend/src/v2/driver/k8s.go).
  if (step.sharedMemory) k.emptyDirMounts = [{ volumeName: "shm", mountPath: "/dev/shm", medium: "Memory", sizeLimit: step.sharedMemory }];
  return Object.keys(k).length > 0 ? k : undefined;
}

export function compilePipeline(def: PipelineDefinition, options: CompileOptions): CompiledPipeline {
  checkDefinition(def);
  const components: Record<string, ComponentSpec> = {};
  const executors: Record<string, { container: PipelineContainerSpec }> = {};
  const tasks: Record<string, PipelineTaskSpec> = {};
  const platform: Record<string, KubernetesExecutorConfig> = {};
  for (const step of def.steps) {
    components[`comp-${step.name}`] = component(def, step);
    executors[`exec-${step.name}`] = { container: container(step, options.locations) };
    tasks[step.name] = task(step);
    const k = kubernetes(step);
    if (k) platform[`exec-${step.name}`] = k;
  }
  const root: ComponentSpec = {
    dag: { tasks },
    inputDefinitions: {
      parameters: Object.fromEntries(
        Object.entries(def.parameters).map(([name, p]) => [name, { parameterType: p.type, defaultValue: p.default, isOptional: true, description: p.description }]),
      ),
    },
  };
  return {
    pipelineSpec: {
      pipelineInfo: { name: def.name, description: def.description },
      root,
      components,
      deploymentSpec: { executors },
      schemaVersion: SCHEMA_VERSION,
      sdkVersion: options.sdkVersion,
    },
    platformSpec: { platforms: { kubernetes: { deploymentSpec: { executors: platform } } } },
  };
}

/**
 * Where a run's step logs and output artifacts are, from what the v2beta1 REST API returns.
 *
 * The API has no log or artifact-URI route for v2 runs: the URIs live in ML Metadata (MLMD, a gRPC
 * service) and the logs in the step pods. What the REST API does give:
 * - `run_details.task_details[]`: each task's `display_name` and `state`, its `pod_name` (proto: "name
 *   of the corresponding pod assigned by the orchestration engine, also known as node_id") and its
 *   `child_tasks[].pod_name`; `outputs` holds MLMD artifact ids only (and the Argo-backed server
 *   leaves it empty).
 * - the layout the KFP v2 driver writes outputs to (backend/src/v2/driver `provisionOutputs` and
 *   metadata `GenerateOutputURI`): `<pipeline root>/<pipelineInfo.name>/<run id>/<task name>/<uuid>/<output name>`,
 *   where `<uuid>` is a fresh salt per execution. So the folder up to `<task name>/` is known from the
 *   run and the compiled spec, and the artifact is the object(s) under it whose path continues with
 *   `<uuid>/<output name>`: `artifactLocations` returns that folder, `artifactUrisIn` picks the
 *   artifact out of an S3 listing of it.
 */
import { parseAllDocuments } from "yaml";
import { InvalidInputError } from "../errors.js";
import type { PipelineTaskDetail, Run } from "./pipelines-types.js";

/** A step's pod, to read its log with the Kubernetes API. */
export interface TaskPod {
  /** The task's display name (the pipeline task name, or the engine's node name). */
  task: string;
  podName: string;
  /** The task's RuntimeState ("RUNNING", "FAILED", ...); for a child pod, its task's state. */
  state: string;
}

/**
 * The pods the server reports for a run's tasks, in task order, each pod once: a task's own
 * `pod_name`, else its `child_tasks[].pod_name`. Empty while the run has no run_details yet.
 */
export function taskPods(run: Run): TaskPod[] {
  const seen = new Set<string>();
  const pods: TaskPod[] = [];
  const add = (t: PipelineTaskDetail, podName: string | undefined): void => {
    if (!podName || seen.has(podName)) return;
    seen.add(podName);
    pods.push({ task: t.display_name ?? t.task_id ?? podName, podName, state: t.state ?? "RUNTIME_STATE_UNSPECIFIED" });
  };
  for (const t of run.run_details?.task_details ?? []) {
    if (t.pod_name) add(t, t.pod_name);
    else for (const c of t.child_tasks ?? []) add(t, c.pod_name);
  }
  return pods;
}

/** An output artifact of a run's task and the object-store folder it is written under. */
export interface ArtifactLocation {
  /** The pipeline task name (a key of a DAG's `tasks` in the spec). */
  task: string;
  /** The output artifact name (a key of the component's `outputDefinitions.artifacts`). */
  name: string;
  /**
   * `<pipeline root>/<pipeline name>/<run id>/<task>/`: the artifact is `<uriPrefix><uuid>/<name>`
   * (one uuid per execution of the task); `artifactUrisIn` finds it in a listing of this prefix.
   */
  uriPrefix: string;
  /** MLMD artifact ids, when the server reports them in `run_details.task_details[].outputs`. */
  artifactIds: string[];
}

type DagTasks = Record<string, { componentRef?: { name?: string } }>;

/** The parts of a compiled PipelineSpec (pipeline_spec.proto, as JSON/YAML) read here. */
export interface SpecLike {
  pipelineInfo?: { name?: string };
  defaultPipelineRoot?: string;
  root?: { dag?: { tasks?: DagTasks } };
  components?: Record<string, { dag?: { tasks?: DagTasks }; outputDefinitions?: { artifacts?: Record<string, unknown> } }>;
}

/**
 * The PipelineSpec part of a compiled pipeline, in the forms it comes in: YAML text with the spec
 * and, when the pipeline has Kubernetes settings, a second document with the platform spec; or the
 * server's JSON, which wraps the two as `{pipeline_spec, platform_spec}` when both are there
 * (api_util.go `YamlStringToPipelineSpecStruct`), else is the spec itself.
 */
export function pipelineSpecOf(raw: object | string): SpecLike {
  if (typeof raw === "string") {
    const docs = parseAllDocuments(raw).map((d) => d.toJS() as unknown);
    const spec = docs.find((d): d is SpecLike => d !== null && typeof d === "object" && "pipelineInfo" in d);
    return spec ?? ((docs[0] ?? {}) as SpecLike);
  }
  const wrapped = (raw as { pipeline_spec?: unknown }).pipeline_spec;
  return (wrapped !== null && typeof wrapped === "object" ? wrapped : raw) as SpecLike;
}

export interface ArtifactLocationsOptions {
  /**
   * The compiled PipelineSpec (object or YAML text) the run ran; default the run's own
   * `pipeline_spec` (the server returns it only for runs created from a spec, not from a version).
   */
  spec?: object | string;
  /**
   * The pipeline root; default the run's `runtime_config.pipeline_root`, else the spec's
   * `defaultPipelineRoot`. A DSPA's default comes from `pipelineRootFromDspa`.
   */
  pipelineRoot?: string;
}

/**
 * The output artifacts of every container task of the spec (sub-DAGs included) and the folder each is
 * written under for this run. Throws naming the option when the spec or the pipeline root is unknown.
 */
export function artifactLocations(run: Run, opts: ArtifactLocationsOptions = {}): ArtifactLocation[] {
  const rawSpec = opts.spec ?? run.pipeline_spec;
  if (rawSpec === undefined) {
    throw new InvalidInputError("spec", `run "${run.run_id}" carries no pipeline_spec (it was created from a pipeline version): pass the compiled spec`);
  }
  const spec = pipelineSpecOf(rawSpec);
  const pipelineName = spec.pipelineInfo?.name;
  if (!pipelineName) throw new InvalidInputError("spec.pipelineInfo.name", "missing: is this a compiled KFP v2 PipelineSpec?");
  const root = opts.pipelineRoot ?? (run.runtime_config?.pipeline_root || undefined) ?? spec.defaultPipelineRoot;
  if (!root) {
    throw new InvalidInputError("pipelineRoot", `run "${run.run_id}" has no runtime_config.pipeline_root and the spec no defaultPipelineRoot: pass the pipeline root (pipelineRootFromDspa gives a DSPA's)`);
  }
  // The driver drops the root's query string from output URIs and joins with single slashes.
  const runRoot = `${root.split("?")[0].replace(/\/+$/, "")}/${pipelineName}/${run.run_id}`;
  const idsByTask = new Map<string, Record<string, { artifact_ids?: (string | number)[] }>>();
  for (const t of run.run_details?.task_details ?? []) {
    if (t.display_name && t.outputs) idsByTask.set(t.display_name, t.outputs);
  }
  const out: ArtifactLocation[] = [];
  const walk = (tasks: DagTasks, depth: number): void => {
    for (const [task, def] of Object.entries(tasks)) {
      const component = spec.components?.[def.componentRef?.name ?? ""];
      if (component === undefined) continue;
      // A sub-DAG's own outputs are its inner tasks' artifacts, listed there; depth guards a cyclic spec.
      if (component.dag?.tasks !== undefined) {
        if (depth < 32) walk(component.dag.tasks, depth + 1);
        continue;
      }
      for (const name of Object.keys(component.outputDefinitions?.artifacts ?? {})) {
        const ids = idsByTask.get(task)?.[name]?.artifact_ids ?? [];
        out.push({ task, name, uriPrefix: `${runRoot}/${task}/`, artifactIds: ids.map(String) });
      }
    }
  };
  walk(spec.root?.dag?.tasks ?? {}, 0);
  return out;
}

/**
 * The artifact's URIs among the object URIs listed under its `uriPrefix` (e.g. an S3 ListObjectsV2 of
 * the prefix, each written as `s3://bucket/key`): `<uriPrefix><uuid>/<name>`, the object itself or,
 * for a directory artifact, the folder that holds the objects. Empty when the task has not written it
 * yet; more than one when the task ran more than once (a retry), in listing order.
 */
export function artifactUrisIn(location: ArtifactLocation, uris: string[]): string[] {
  const found = new Set<string>();
  for (const uri of uris) {
    if (!uri.startsWith(location.uriPrefix)) continue;
    const [salt, name] = uri.slice(location.uriPrefix.length).split("/");
    if (salt && name === location.name) found.add(`${location.uriPrefix}${salt}/${location.name}`);
  }
  return [...found];
}

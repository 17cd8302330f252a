/**
 * Launching and following the pipeline on Data Science Pipelines: publish the compiled YAML (a new
 * pipeline, or a new version of the pipeline of that name), start a run with parameters, and report
 * the run's and its steps' state changes until it ends.
 */
import { WorkbenchError } from "../../lib/errors.js";
import type { PipelinesClient } from "../../lib/cluster/pipelines.js";
import type { Run, RunParameter } from "../../lib/cluster/pipelines-types.js";

/** A run ended in another state than SUCCEEDED. */
export class RunFailedError extends WorkbenchError {
  override name = "RunFailedError";
  constructor(
    readonly runId: string,
    readonly state: string,
    detail?: string,
  ) {
    super(`run ${runId} ended ${state}${detail ? `: ${detail}` : ""}`);
  }
}

export interface SubmitOptions {
  /** The compiled pipeline (finetune compile). */
  yaml: string;
  /** The pipeline's name on the server. */
  pipelineName: string;
  description?: string;
  /** Name of the new version when the pipeline exists already. */
  versionName: string;
  runName: string;
  /** Run parameters; the pipeline's defaults fill the rest. */
  parameters: Record<string, RunParameter>;
  experimentId?: string;
}

export interface SubmitResult {
  pipelineId: string;
  versionId: string;
  /** True when the pipeline was new (else a version was added). */
  created: boolean;
  run: Run;
}

export async function submitPipeline(client: Pick<PipelinesClient, "publishPipeline" | "createRun">, o: SubmitOptions): Promise<SubmitResult> {
  const { version, created } = await client.publishPipeline({ name: o.pipelineName, versionName: o.versionName, yaml: o.yaml, description: o.description });
  const run = await client.createRun({
    displayName: o.runName,
    pipelineId: version.pipeline_id,
    pipelineVersionId: version.pipeline_version_id,
    parameters: o.parameters,
    ...(o.experimentId ? { experimentId: o.experimentId } : {}),
  });
  return { pipelineId: version.pipeline_id, versionId: version.pipeline_version_id, created, run };
}

/**
 * A function that, given each polled run, returns the lines worth printing: the run's state when it
 * changes, and each step's (run_details.task_details; the engine's own driver/root tasks skipped).
 */
export function progressReporter(): (run: Run) => string[] {
  let runState: string | undefined;
  const tasks = new Map<string, string>();
  return (run) => {
    const lines: string[] = [];
    const state = run.state ?? "PENDING";
    if (state !== runState) lines.push(`run ${run.run_id}: ${state}`);
    runState = state;
    for (const t of run.run_details?.task_details ?? []) {
      const name = t.display_name ?? t.task_id;
      if (!name || name.endsWith("-driver") || name === "root" || name.startsWith("executor")) continue;
      const s = t.state ?? "PENDING";
      if (tasks.get(name) !== s) lines.push(`  ${name}: ${s}${t.error?.message ? ` (${t.error.message})` : ""}`);
      tasks.set(name, s);
    }
    return lines;
  };
}

export interface WatchOptions {
  onLine?: (line: string) => void;
  intervalMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Follows a run to its end; a run that does not succeed is a RunFailedError. */
export async function watchRun(client: Pick<PipelinesClient, "waitForRun">, runId: string, o: WatchOptions = {}): Promise<Run> {
  const report = progressReporter();
  const run = await client.waitForRun(runId, {
    ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    signal: o.signal,
    onProgress: (r) => report(r).forEach((l) => o.onLine?.(l)),
  });
  if (run.state !== "SUCCEEDED") throw new RunFailedError(runId, run.state ?? "RUNTIME_STATE_UNSPECIFIED", run.error?.message);
  return run;
}

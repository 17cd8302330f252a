/**
 * Wire types of the Kubeflow Pipelines v2beta1 REST API, as Data Science Pipelines serves it.
 *
 * Field names are the proto names (snake_case): the API server's grpc-gateway marshals with
 * `UseProtoNames: true` and `EmitUnpopulated: false` (backend/src/apiserver/common/utils.go
 * `CustomMarshaler`), and the multipart upload handler does the same. So absent fields are left out,
 * enums are their names ("RUNNING"), timestamps RFC 3339 strings and int64 values strings.
 * Sources: backend/api/v2beta1/{pipeline,run,runtime_config,filter}.proto in kubeflow/pipelines.
 *
 * The schemas check only what the client relies on (ids, state) and keep every other field
 * (`looseObject`), so a newer server's additions come through untouched.
 */
import { z } from "zod";

/** Every `RuntimeState` of run.proto, in proto order. */
export const RUNTIME_STATES = [
  "RUNTIME_STATE_UNSPECIFIED",
  "PENDING",
  "RUNNING",
  "SUCCEEDED",
  "SKIPPED",
  "FAILED",
  "CANCELING",
  "CANCELED",
  "PAUSED",
] as const;
export type RuntimeState = (typeof RUNTIME_STATES)[number];

/** States after which a run does not change any more (waitForRun stops there). */
export const TERMINAL_RUN_STATES: readonly RuntimeState[] = ["SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"];

/** google.rpc.Status as the gateway writes it (also the body of every gateway error answer). */
export const RpcStatusSchema = z.looseObject({
  code: z.number().optional(),
  message: z.string().optional(),
  details: z.array(z.unknown()).optional(),
});
export type RpcStatus = z.infer<typeof RpcStatusSchema>;

export const PipelineSchema = z.looseObject({
  pipeline_id: z.string(),
  display_name: z.string().optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  created_at: z.string().optional(),
  namespace: z.string().optional(),
  error: RpcStatusSchema.optional(),
});
export type Pipeline = z.infer<typeof PipelineSchema>;

export const PipelineVersionSchema = z.looseObject({
  pipeline_id: z.string(),
  pipeline_version_id: z.string(),
  display_name: z.string().optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  created_at: z.string().optional(),
  /** The compiled PipelineSpec (pipelineInfo, root, components, ...) as JSON. */
  pipeline_spec: z.record(z.string(), z.unknown()).optional(),
  error: RpcStatusSchema.optional(),
});
export type PipelineVersion = z.infer<typeof PipelineVersionSchema>;

const ArtifactListSchema = z.looseObject({ artifact_ids: z.array(z.union([z.string(), z.number()])).optional() });

/** PipelineTaskDetail.ChildTask: a oneof, so exactly one of the two is set. */
const ChildTaskSchema = z.looseObject({ task_id: z.string().optional(), pod_name: z.string().optional() });

export const RuntimeStatusSchema = z.looseObject({
  update_time: z.string().optional(),
  state: z.string().optional(),
  error: RpcStatusSchema.optional(),
});

export const PipelineTaskDetailSchema = z.looseObject({
  run_id: z.string().optional(),
  task_id: z.string().optional(),
  display_name: z.string().optional(),
  create_time: z.string().optional(),
  start_time: z.string().optional(),
  end_time: z.string().optional(),
  /** A RuntimeState name; kept a plain string so a state a newer server adds does not fail the parse. */
  state: z.string().optional(),
  /** MLMD execution id (int64, so a string in JSON). */
  execution_id: z.union([z.string(), z.number()]).optional(),
  error: RpcStatusSchema.optional(),
  inputs: z.record(z.string(), ArtifactListSchema).optional(),
  /** Output name -> MLMD artifact ids (ids only: the URIs live in ML Metadata). */
  outputs: z.record(z.string(), ArtifactListSchema).optional(),
  parent_task_id: z.string().optional(),
  state_history: z.array(RuntimeStatusSchema).optional(),
  /** "Name of the corresponding pod assigned by the orchestration engine. Also known as node_id." */
  pod_name: z.string().optional(),
  child_tasks: z.array(ChildTaskSchema).optional(),
});
export type PipelineTaskDetail = z.infer<typeof PipelineTaskDetailSchema>;

export const RunSchema = z.looseObject({
  run_id: z.string(),
  experiment_id: z.string().optional(),
  display_name: z.string().optional(),
  description: z.string().optional(),
  storage_state: z.string().optional(),
  pipeline_version_reference: z.looseObject({ pipeline_id: z.string().optional(), pipeline_version_id: z.string().optional() }).optional(),
  pipeline_spec: z.record(z.string(), z.unknown()).optional(),
  runtime_config: z
    .looseObject({ parameters: z.record(z.string(), z.unknown()).optional(), pipeline_root: z.string().optional() })
    .optional(),
  service_account: z.string().optional(),
  created_at: z.string().optional(),
  scheduled_at: z.string().optional(),
  finished_at: z.string().optional(),
  /**
   * A RuntimeState name; absent while the server has nothing to report (EmitUnpopulated is off and
   * 0 is RUNTIME_STATE_UNSPECIFIED). A plain string so a state a newer server adds is no parse error.
   */
  state: z.string().optional(),
  error: RpcStatusSchema.optional(),
  run_details: z
    .looseObject({
      pipeline_context_id: z.union([z.string(), z.number()]).optional(),
      pipeline_run_context_id: z.union([z.string(), z.number()]).optional(),
      task_details: z.array(PipelineTaskDetailSchema).optional(),
    })
    .optional(),
  state_history: z.array(RuntimeStatusSchema).optional(),
});
export type Run = z.infer<typeof RunSchema>;

export const ListRunsResponseSchema = z.looseObject({
  runs: z.array(RunSchema).optional(),
  total_size: z.number().optional(),
  next_page_token: z.string().optional(),
});

export const ListPipelinesResponseSchema = z.looseObject({
  pipelines: z.array(PipelineSchema).optional(),
  total_size: z.number().optional(),
  next_page_token: z.string().optional(),
});

export const ListPipelineVersionsResponseSchema = z.looseObject({
  pipeline_versions: z.array(PipelineVersionSchema).optional(),
  total_size: z.number().optional(),
  next_page_token: z.string().optional(),
});

/** A run parameter: runtime_config.parameters is a map of google.protobuf.Value. */
export type RunParameter = string | number | boolean;

/**
 * A filter for list calls (filter.proto), sent JSON-serialized in the `filter` query parameter.
 * Example: `{predicates: [{key: "display_name", operation: "EQUALS", string_value: "x"}]}`.
 */
export interface ListFilter {
  predicates: Array<{
    key: string;
    operation: "EQUALS" | "NOT_EQUALS" | "GREATER_THAN" | "GREATER_THAN_EQUALS" | "LESS_THAN" | "LESS_THAN_EQUALS" | "IN" | "IS_SUBSTRING";
    string_value?: string;
    int_value?: number;
    long_value?: string;
    timestamp_value?: string;
    string_values?: { values: string[] };
    int_values?: { values: number[] };
    long_values?: { values: string[] };
  }>;
}

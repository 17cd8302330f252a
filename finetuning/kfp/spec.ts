/**
 * The Kubeflow Pipelines v2 IR as it is written in a compiled pipeline YAML: the PipelineSpec
 * document and the Kubernetes platform document. Field names are the protobuf JSON names of
 * kubeflow/pipelines api/v2alpha1/pipeline_spec.proto and
 * kubernetes_platform/proto/kubernetes_executor_config.proto; only the fields this project writes.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** ParameterType.ParameterTypeEnum. */
export type ParameterType = "STRING" | "NUMBER_INTEGER" | "NUMBER_DOUBLE" | "BOOLEAN" | "LIST" | "STRUCT";

/** ComponentInputsSpec.ParameterSpec. */
export interface ParameterSpec {
  parameterType: ParameterType;
  defaultValue?: JsonValue;
  isOptional?: boolean;
  description?: string;
}

/** ArtifactTypeSchema (schema_title form). */
export interface ArtifactTypeSchema {
  schemaTitle: "system.Artifact" | "system.Model" | "system.Dataset" | "system.Metrics" | "system.HTML" | "system.Markdown";
  schemaVersion: string;
}

export interface ComponentInputsSpec {
  parameters?: Record<string, ParameterSpec>;
}

export interface ComponentOutputsSpec {
  artifacts?: Record<string, { artifactType: ArtifactTypeSchema; description?: string }>;
}

/** TaskInputsSpec.InputParameterSpec (the kinds used here). */
export type InputParameterSpec =
  | { componentInputParameter: string }
  | { runtimeValue: { constant: JsonValue } }
  | { taskOutputParameter: { producerTask: string; outputParameterKey: string } };

/** PipelineTaskSpec. */
export interface PipelineTaskSpec {
  taskInfo: { name: string };
  componentRef: { name: string };
  inputs?: { parameters?: Record<string, InputParameterSpec> };
  dependentTasks?: string[];
  cachingOptions?: { enableCache?: boolean };
}

/** DagOutputsSpec: pipeline-level artifacts selected from tasks. */
export interface DagOutputsSpec {
  artifacts?: Record<string, { artifactSelectors: { producerSubtask: string; outputArtifactKey: string }[] }>;
}

export interface DagSpec {
  tasks: Record<string, PipelineTaskSpec>;
  outputs?: DagOutputsSpec;
}

/** ComponentSpec: either a DAG (the root) or an executor label. */
export interface ComponentSpec {
  inputDefinitions?: ComponentInputsSpec;
  outputDefinitions?: ComponentOutputsSpec;
  dag?: DagSpec;
  executorLabel?: string;
}

/** PipelineContainerSpec.ResourceSpec: quantities as strings (the non-deprecated fields). */
export interface ResourceSpec {
  resourceCpuRequest?: string;
  resourceCpuLimit?: string;
  resourceMemoryRequest?: string;
  resourceMemoryLimit?: string;
  accelerator?: { resourceType: string; resourceCount: string };
}

/** PipelineDeploymentConfig.PipelineContainerSpec. */
export interface PipelineContainerSpec {
  image: string;
  command: string[];
  args: string[];
  env?: { name: string; value: string }[];
  resources?: ResourceSpec;
}

export interface PipelineDeploymentConfig {
  executors: Record<string, { container: PipelineContainerSpec }>;
}

/** PipelineSpec: the first YAML document. */
export interface PipelineSpec {
  pipelineInfo: { name: string; displayName?: string; description?: string };
  root: ComponentSpec;
  components: Record<string, ComponentSpec>;
  deploymentSpec: PipelineDeploymentConfig;
  schemaVersion: "2.1.0";
  sdkVersion: string;
}

/** kubernetes_executor_config.proto: KubernetesExecutorConfig (the fields used here). */
export interface KubernetesExecutorConfig {
  secretAsEnv?: {
    /** Deprecated in the proto but still read by older DSP backends; written beside secretNameParameter as kfp-kubernetes does. */
    secretName: string;
    secretNameParameter: InputParameterSpec;
    keyToEnv: { secretKey: string; envVar: string }[];
    optional?: boolean;
  }[];
  pvcMount?: {
    /** Deprecated oneof field, written for older backends as kfp-kubernetes does. */
    constant: string;
    pvcNameParameter: InputParameterSpec;
    mountPath: string;
    subPath?: string;
  }[];
  nodeSelector?: { labels: Record<string, string> };
  tolerations?: { key: string; operator: "Exists" | "Equal"; value?: string; effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
  /** emptyDir volumes; medium "Memory" at /dev/shm gives PyTorch's data loaders shared memory. */
  emptyDirMounts?: { volumeName: string; mountPath: string; medium?: "Memory"; sizeLimit?: string }[];
}

/** The second YAML document. */
export interface PlatformSpec {
  platforms: { kubernetes: { deploymentSpec: { executors: Record<string, KubernetesExecutorConfig> } } };
}

/** A compiled pipeline: both documents. */
export interface CompiledPipeline {
  pipelineSpec: PipelineSpec;
  platformSpec: PlatformSpec;
}

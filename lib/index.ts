/**
 * The public API of diffusion-workbench. Every export is named here; notebooks, servers, the CLI
 * and tests use this surface.
 */

// Errors and logging
export {
  WorkbenchError,
  InvalidInputError,
  ModelNotFoundError,
  ModelLoadError,
  ModelNotReadyError,
  InferenceError,
  CancelledError,
} from "./errors.js";
export { consoleLogger, silentLogger, type Logger } from "./logger.js";

// Text-to-image
export {
  GenerateOptionsSchema,
  parseGenerateOptions,
  LIMITS,
  FAMILY_SPECIFIC_FIELDS,
  type GenerateOptions,
  type GenerateOptionsInput,
} from "./diffusion/options.js";
export {
  StableDiffusionPipeline,
  type GenerateResult,
  type GeneratedImage,
  type RunOptions,
  type StepProgress,
  type Timings,
  DEFAULT_STRENGTH,
  LCM_DEFAULTS,
} from "./diffusion/stable-diffusion.js";
export { img2imgSchedule, lcmImg2imgSchedule, sd3Img2ImgSchedule, type Img2ImgSchedule } from "./diffusion/img2img.js";
export { guidanceScaleEmbedding } from "./diffusion/guidance-embedding.js";
export {
  readInitImage,
  prepareInitImage,
  initImageSize,
  INIT_IMAGE_FORMATS,
  type DecodedInitImage,
  type InitImage,
} from "./images/init-image.js";
export { StableDiffusionXLPipeline, SDXL_DEFAULT_STRENGTH } from "./diffusion/stable-diffusion-xl.js";
export { StableDiffusion3Pipeline, SD3_DEFAULTS, SD3_DEFAULT_STRENGTH } from "./diffusion/stable-diffusion-3.js";
export { saveImages, imageMetadata } from "./diffusion/save-images.js";
export { loadPipeline } from "./diffusion/load-pipeline.js";
export type { TextToImagePipeline, PipelineDescription } from "./diffusion/pipeline.js";
export { TorchGenerator, randomSeed } from "./diffusion/generator.js";
export type { Latents } from "./diffusion/latents.js";

// Schedulers and tokenizers
export { createScheduler, SCHEDULER_NAMES, SCHEDULER_CLASSES } from "./schedulers/index.js";
export type { Scheduler, StepOptions, StepResult } from "./schedulers/scheduler.js";
export { CLIPTokenizer } from "./tokenizers/clip.js";
export { T5Tokenizer, T5_DEFAULT_MAX_LENGTH, type T5CallOptions, type T5BatchEncoding } from "./tokenizers/t5.js";
export { FlowMatchEulerDiscreteScheduler } from "./schedulers/flow-match-euler-discrete.js";

// Images
export { encodePng, readPngText, addPngText } from "./images/png.js";
export type { RgbImage } from "./images/postprocess.js";

// ONNX Runtime: providers, precision, runtime switches, the tiny-model builder
export {
  EXECUTION_PROVIDERS,
  detectProviders,
  parseProviderRequest,
  type ExecutionProviderName,
  type ProviderRequest,
  type ProviderAvailability,
} from "./onnx/providers.js";
export { DTYPES, parseDtype, resolveDtype, type DtypeRequest, type DtypeChoice } from "./onnx/dtype.js";
export { findPrecisionVariants, type PrecisionVariant } from "./onnx/variants.js";
export { runtimeOptionsFromEnv, type RuntimeOptions } from "./onnx/runtime-options.js";
export {
  buildModelFolder,
  PRESETS,
  type BuildModelFolderOptions,
  type BuiltModelFolder,
  type ModelFamily,
  type PresetName,
  PIPELINE_KINDS,
  PRECISIONS,
  type PipelineKind,
  type Precision,
} from "./onnx/builder/model-folder.js";
export {
  buildShapesModelFolder,
  SHAPES_VOCAB_WORDS,
  type BuildShapesModelFolderOptions,
} from "./onnx/builder/shapes/model-folder.js";
export {
  buildSdxlModelFolder,
  type BuildSdxlModelFolderOptions,
  type BuiltSdxlModelFolder,
} from "./onnx/builder/sdxl/model-folder.js";
export { SDXL_PRESETS, SDXL_PRESET_NAMES, type SdxlPresetName, type SdxlSizes } from "./onnx/builder/sdxl/presets.js";
export {
  buildSd3ModelFolder,
  type BuildSd3ModelFolderOptions,
  type BuiltSd3ModelFolder,
} from "./onnx/builder/sd3/model-folder.js";
export { SD3_PRESETS, SD3_PRESET_NAMES, T5_XXL, type Sd3PresetName, type Sd3Sizes } from "./onnx/builder/sd3/presets.js";
export { shapesTarget, shapesGuidedTarget } from "./onnx/builder/shapes/target.js";

// Model folders
export { readModelIndex, FAMILIES, PIPELINE_CLASSES, type ModelIndex, type Family } from "./models/model-index.js";
export { resolveModel, DEFAULT_BUILTIN_MODEL, type ResolvedModel } from "./models/resolve.js";
export { ensureBuiltinModel, BUILTIN_MODELS, type BuiltinModelName } from "./models/builtin.js";
export { cacheRoot, listCachedModels, type CachedModel } from "./models/cache.js";

// Model sources (local, PVC, S3, Hugging Face Hub), the download cache, pushes to S3
export { cachedModelDir, type ResolveModelOptions } from "./models/resolve.js";
export { parseModelId, describeSource, MODEL_ID_FORMS, type ModelSource } from "./models/sources/model-id.js";
export { isPipelineFile } from "./models/sources/pipeline-files.js";
export { hubConnectionFromEnv, DEFAULT_HF_ENDPOINT, type HubConnection } from "./models/sources/hub-http.js";
export { resolvePvc, pvcCandidates, KSERVE_MODEL_DIR, type PvcMountOptions } from "./models/sources/pvc.js";
export { pushModel, modelPrefix, isTrainingArtifact, type PushModelOptions, type PushResult } from "./models/push.js";
export { MANIFEST_FILE, ModelManifestSchema, type ModelManifest } from "./models/manifest.js";

// S3 data connections and transfers
export {
  dataConnection,
  dataConnectionFromEnv,
  dataConnectionFromSecret,
  describeConnection,
  DATA_CONNECTION_KEYS,
  type DataConnection,
  type DataConnectionFields,
  type SecretLike,
} from "./storage/data-connection.js";
export { createS3Client, s3ClientOptionsFromEnv, type S3ClientOptions, type S3Context } from "./storage/s3-client.js";
export { parseS3Url, formatS3Url, type S3Location } from "./storage/s3-url.js";
export { listPrefix, type S3Object } from "./storage/list.js";
export { downloadObject, downloadPrefix, type DownloadObjectOptions, type DownloadPrefixOptions } from "./storage/download.js";
export { uploadFile, uploadFolder, listLocalFiles, DEFAULT_PART_SIZE, type UploadFileOptions, type UploadFolderOptions, type LocalFile } from "./storage/upload.js";
export type { TransferProgress, ProgressListener } from "./storage/progress.js";
export type { RetryPolicy } from "./storage/retry.js";
export { StorageAccessError, StorageTransferError, IntegrityError } from "./storage/errors.js";

// KServe: V1 and Open Inference Protocol V2 wire types, the binary-data extension, the client
export {
  KServeClient,
  parseRetryAfter,
  decodeInferResponse,
  type KServeClientOptions,
  type CallOptions,
  type GeneratedImages,
  type DecodedInferenceResponse,
  type DecodedOutput,
} from "./kserve/client.js";
export { KServeError } from "./kserve/errors.js";
export {
  V1InstanceSchema,
  V1_INSTANCE_FIELDS,
  OUTPUT_FORMATS,
  DEFAULT_OUTPUT_FORMAT,
  parseV1Instance,
  parseV1Envelope,
  parseOutputFormat,
  type OutputFormat,
  type V1Instance,
  type V1PredictRequest,
  type V1PredictResponse,
  type V1Prediction,
  type V1Image,
  type V1Timings,
  type V1ModelReady,
  type ParsedInstance,
} from "./kserve/v1.js";
export {
  InferenceRequestSchema,
  RequestInputSchema,
  RequestOutputSchema,
  ParametersSchema,
  V2_INPUTS,
  V2_PROMPT_INPUTS,
  V2_IMAGE_OUTPUT,
  type InferenceRequest,
  type InferenceResponse,
  type RequestInput,
  type RequestOutput,
  type ResponseOutput,
  type Parameters,
  type ModelMetadataResponse,
  type ServerMetadataResponse,
  type MetadataTensor,
} from "./kserve/v2.js";
export {
  encodeBytesTensor,
  decodeBytesTensor,
  splitBinaryBody,
  INFERENCE_HEADER_CONTENT_LENGTH,
  BINARY_CONTENT_TYPE,
} from "./kserve/binary.js";

// Notebook display helpers (tslab)
export { escapeHtml, type Display } from "./notebook/display.js";
export { imageGridHtml, showGrid, showImages, type GridCell, type GridOptions } from "./notebook/images.js";
export { plotHtml, plotlyLoaderHtml, showPlot, type PlotTrace, type PlotLayout } from "./notebook/plot.js";
export { stepProgress, taskProgress } from "./notebook/progress.js";
export { denoisingFilmStrip, showFilmStrip, filmStripSteps, type FilmFrame, type FilmStripOptions } from "./notebook/film-strip.js";
export { connectMcp, mcpImages, mcpText, type McpConnection, type McpToolInfo, type McpToolResult, type McpContent, type McpCallOptions } from "./mcp/client.js";
export { startLocalServer, startLocalRuntime, startLocalMcpServer, type LocalServer, type StartLocalServerOptions } from "./notebook/local-services.js";

// Fine-tuning (Dreambooth): data preparation, the KFP v2 pipeline builder, the local runner
export { prepareData, dataPrefix, type PrepareDataOptions, type PrepareDataResult } from "../finetuning/data/prepare.js";
export { DataManifestSchema, type DataManifest } from "../finetuning/data/manifest.js";
export { compilePipeline, type CompileOptions } from "../finetuning/kfp/compile.js";
export { pipelineToYaml, pipelineFromYaml } from "../finetuning/kfp/yaml.js";
export type { StepDefinition, PipelineDefinition, PipelineParameter, Arg, Ref, LocationName } from "../finetuning/kfp/step.js";
export type { CompiledPipeline, PipelineSpec, PlatformSpec, KubernetesExecutorConfig } from "../finetuning/kfp/spec.js";
export {
  DreamboothParametersSchema,
  dreamboothParameters,
  familyDefaults,
  familyOfModel,
  parametersFromEnv,
  FAMILIES as DREAMBOOTH_FAMILIES,
  type DreamboothParameters,
  type DreamboothParametersInput,
  type ModelFamily as DreamboothFamily,
  type TrainingMode,
} from "../finetuning/dreambooth/parameters.js";
export { dreamboothPipeline, CONTAINER_LOCATIONS, TRAINING_SCRIPTS, type DreamboothPipelineOptions } from "../finetuning/dreambooth/pipeline.js";
export { TRAIN_STACK } from "../finetuning/dreambooth/versions.js";
export { uploadRunOutput, type UploadRunOptions, type UploadRunResult } from "../finetuning/dreambooth/upload.js";
export { readScalars, lossCsv } from "../finetuning/dreambooth/loss-log.js";
export { runLocal, localCommand, StepFailedError, type LocalRunOptions, type LocalRunResult } from "../finetuning/local/runner.js";
export { workbenchLocations, type WorkbenchLocationOptions } from "../finetuning/local/locations.js";
export { submitPipeline, watchRun, progressReporter, RunFailedError, type SubmitOptions, type SubmitResult, type WatchOptions } from "../finetuning/dreambooth/submit.js";
export { deployFineTunedModel, fineTunedInferenceService, servedModelPath, type DeployModelOptions } from "../finetuning/dreambooth/deploy.js";

// Cluster objects: typed builders for the data science project, the runtime, the MCP server, pipelines, workbenches
export {
  projectNamespace,
  dataConnectionSecret,
  servingRuntime,
  inferenceService,
  STORAGE_TYPES,
  mcpServer,
  dspa,
  pvc,
  ACCESS_MODES,
  notebook,
  workbenchDeployerRole,
  WORKBENCH_DEPLOYER_RULES,
  type WorkbenchDeployerOptions,
  NOTEBOOK_PORT,
  WORKBENCH_HOME,
  MANAGED_LABELS,
  type ObjectOptions,
  type ProjectNamespaceOptions,
  type DataConnectionSecretOptions,
  type ServingRuntimeOptions,
  type InferenceServiceOptions,
  type ModelStorage,
  type McpServerOptions,
  type DspaOptions,
  type PvcOptions,
  type AccessMode,
  type NotebookOptions,
  type CustomResource,
  type ServingRuntime,
  type InferenceService,
  type DataSciencePipelinesApplication,
  type Notebook,
  type Route,
} from "./cluster/objects/index.js";
export { loadClusterConfig, clusterConfigFor, SERVICE_ACCOUNT_DIR, type ClusterConfig, type ClusterConfigSource, type LoadClusterConfigOptions } from "./cluster/config.js";
export { applyObjects, parseObjects, sortForApply, FIELD_MANAGER, APPLY_ORDER, type ApplyOptions } from "./cluster/apply.js";
export {
  waitFor,
  inferenceServiceReady,
  deploymentAvailable,
  jobComplete,
  dspaReady,
  findCondition,
  DEFAULT_WAIT_TIMEOUT_MS,
  type WaitCondition,
  type WaitOptions,
  type WaitProgress,
  type ConditionResult,
} from "./cluster/wait.js";
export {
  getObject,
  inferenceServiceUrl,
  inferenceServiceUrls,
  routeHost,
  routeUrl,
  pipelinesApiUrl,
  dspaApiUrls,
  type InferenceServiceUrls,
} from "./cluster/discover.js";
export { podLogs, jobLogs, listPods, type LogOptions } from "./cluster/logs.js";
export { deleteObjects, listManaged, MANAGED_SELECTOR, MANAGED_KINDS, type DeleteOptions, type DeleteResult } from "./cluster/delete.js";
export { deployedObjects, describeDeployed, type DeployedObject } from "./cluster/status.js";
export { deployRuntime, deployMcp, parseModelLocation, DEFAULT_RUNTIME_NAME, DEFAULT_SERVING_RUNTIME, DEFAULT_MCP_NAME, type DeployOptions, type Deployed } from "./cluster/deploy.js";
export {
  ClusterError,
  ClusterTimeoutError,
  ClusterConditionFailedError,
  type ObjectRef,
  type ClusterVerb,
  type MissingPermission,
} from "./cluster/errors.js";
export {
  PipelinesClient,
  type PipelinesClientOptions,
  type TokenSource,
  type UploadPipelineOptions,
  type UploadPipelineVersionOptions,
  type PublishPipelineOptions,
  type CreateRunOptions,
  type ListRunsOptions,
  type ListPipelineVersionsOptions,
  type WaitForRunOptions,
} from "./cluster/pipelines.js";
export { PipelinesApiError, PipelinesWaitTimeoutError, type PipelinesTarget } from "./cluster/pipelines-errors.js";
// The KFP wire types get a Kfp prefix here: plain "Pipeline" or "Run" would read as the diffusion ones.
export {
  RUNTIME_STATES,
  TERMINAL_RUN_STATES,
  type RuntimeState as KfpRuntimeState,
  type Pipeline as KfpPipeline,
  type PipelineVersion as KfpPipelineVersion,
  type Run as KfpRun,
  type PipelineTaskDetail as KfpTaskDetail,
  type RunParameter,
  type ListFilter as KfpListFilter,
} from "./cluster/pipelines-types.js";
export { taskPods, artifactLocations, artifactUrisIn, pipelineSpecOf, type TaskPod, type ArtifactLocation, type ArtifactLocationsOptions } from "./cluster/pipelines-run-details.js";
export { pipelinesApiFromDspa, pipelineRootFromDspa, defaultToken, SERVICE_ACCOUNT_TOKEN_FILE, type PipelinesApiFromDspaOptions, type DefaultTokenOptions } from "./cluster/pipelines-dspa.js";

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
} from "./diffusion/stable-diffusion.js";
export { saveImages, imageMetadata } from "./diffusion/save-images.js";
export { loadPipeline } from "./diffusion/load-pipeline.js";
export type { TextToImagePipeline, PipelineDescription } from "./diffusion/pipeline.js";
export { TorchGenerator, randomSeed } from "./diffusion/generator.js";
export type { Latents } from "./diffusion/latents.js";

// Schedulers and tokenizers
export { createScheduler, SCHEDULER_NAMES, SCHEDULER_CLASSES } from "./schedulers/index.js";
export type { Scheduler, StepOptions, StepResult } from "./schedulers/scheduler.js";
export { CLIPTokenizer } from "./tokenizers/clip.js";

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
export { runtimeOptionsFromEnv, type RuntimeOptions } from "./onnx/runtime-options.js";
export {
  buildModelFolder,
  PRESETS,
  type BuildModelFolderOptions,
  type BuiltModelFolder,
  type ModelFamily,
  type PresetName,
} from "./onnx/builder/model-folder.js";
export {
  buildShapesModelFolder,
  SHAPES_VOCAB_WORDS,
  type BuildShapesModelFolderOptions,
} from "./onnx/builder/shapes/model-folder.js";
export { shapesTarget, shapesGuidedTarget } from "./onnx/builder/shapes/target.js";

// Model folders
export { readModelIndex, FAMILIES, PIPELINE_CLASSES, type ModelIndex, type Family } from "./models/model-index.js";
export { resolveModel, DEFAULT_BUILTIN_MODEL, type ResolvedModel } from "./models/resolve.js";
export { ensureBuiltinModel, BUILTIN_MODELS, type BuiltinModelName } from "./models/builtin.js";
export { cacheRoot } from "./models/cache.js";

// Notebook display helpers (tslab)
export { escapeHtml, type Display } from "./notebook/display.js";
export { imageGridHtml, showGrid, showImages, type GridCell, type GridOptions } from "./notebook/images.js";
export { plotHtml, plotlyLoaderHtml, showPlot, type PlotTrace, type PlotLayout } from "./notebook/plot.js";
export { stepProgress, taskProgress } from "./notebook/progress.js";

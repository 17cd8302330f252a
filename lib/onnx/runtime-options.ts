/**
 * How components are opened and run: providers, precision and the four memory switches of the seed
 * runtime, each mapped to what it honestly means with ONNX Runtime (README, "Memory switches").
 */
import { envFlag, envInt } from "../env.js";
import type { Logger } from "../logger.js";
import { parseDtype, type DtypeRequest } from "./dtype.js";
import { parseProviderRequest, type ProviderRequest } from "./providers.js";
import { GRAPH_OPTIMIZATION_LEVELS, type GraphOptimizationLevel } from "./session.js";
import { InvalidInputError } from "../errors.js";

export interface RuntimeOptions {
  /** Execution providers in order of preference; default ["auto"]. */
  providers?: readonly ProviderRequest[];
  /** DTYPE: auto | bfloat16 | float16 | float32 | native. */
  dtype?: DtypeRequest;
  /** ENABLE_CPU_OFFLOAD: open a component's session only while it runs and release it after. */
  cpuOffload?: boolean;
  /** ENABLE_VAE_SLICING: decode one image at a time instead of the whole batch. */
  vaeSlicing?: boolean;
  /** ENABLE_ATTENTION_SLICING: run the guided batch through the UNet as two half batches. */
  attentionSlicing?: boolean;
  /** ENABLE_LOW_CPU_MEM: no memory arena, no memory patterns, no weight pre-packing. */
  lowCpuMem?: boolean;
  /** ORT_THREADS: intra-op threads per session (default: ONNX Runtime's choice). */
  threads?: number;
  /** ORT_GRAPH_OPTIMIZATION: disabled | basic | extended | all (default all). */
  graphOptimization?: GraphOptimizationLevel;
  logger?: Logger;
}

/** The runtime switches from the environment (names as the seed runtime used them). */
export function runtimeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
  const threads = envInt(env, "ORT_THREADS", 0, 0, 1024);
  const level = env.ORT_GRAPH_OPTIMIZATION?.trim().toLowerCase();
  if (level && !(GRAPH_OPTIMIZATION_LEVELS as readonly string[]).includes(level)) {
    throw new InvalidInputError("ORT_GRAPH_OPTIMIZATION", `unknown level '${env.ORT_GRAPH_OPTIMIZATION}'`, GRAPH_OPTIMIZATION_LEVELS.join(", "));
  }
  return {
    providers: parseProviderRequest(env.EXECUTION_PROVIDER),
    dtype: parseDtype(env.DTYPE),
    cpuOffload: envFlag(env, "ENABLE_CPU_OFFLOAD"),
    vaeSlicing: envFlag(env, "ENABLE_VAE_SLICING"),
    attentionSlicing: envFlag(env, "ENABLE_ATTENTION_SLICING"),
    lowCpuMem: envFlag(env, "ENABLE_LOW_CPU_MEM"),
    ...(threads ? { threads } : {}),
    ...(level ? { graphOptimization: level as GraphOptimizationLevel } : {}),
  };
}

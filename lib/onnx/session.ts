/**
 * The one module that imports onnxruntime-node. A `ModelSession` is a component's graph opened on an
 * execution provider, with typed input/output metadata and `run` on the library's own tensors.
 */
import { stat } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { InferenceError, ModelLoadError, ModelNotFoundError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { providerOrder, type ExecutionProviderName, type ProviderRequest } from "./providers.js";
import type { DataType, Tensor } from "./tensor.js";

export interface ValueInfo {
  name: string;
  /** ONNX Runtime's element type name, e.g. "float32", "int64", "float16". */
  type: string;
  /** Static sizes as numbers, symbolic ones as their names; `[]` for a rank-0 value. */
  shape: readonly (number | string)[];
}

export interface SessionOptions {
  /** Providers in order of preference (default `auto`: a usable GPU provider, then cpu). */
  providers?: readonly ProviderRequest[];
  /**
   * ENABLE_LOW_CPU_MEM: no CPU memory arena, no memory-pattern planning and no weight pre-packing
   * (pre-packing keeps a second, re-laid-out copy of MatMul/Conv weights). Slower, less resident memory.
   */
  lowCpuMem?: boolean;
  /** Intra-op threads; default: ONNX Runtime's choice (one per physical core). */
  threads?: number;
  /** ONNX Runtime graph optimisation level (default "all"). */
  graphOptimization?: GraphOptimizationLevel;
  logger?: Logger;
}

export const GRAPH_OPTIMIZATION_LEVELS = ["disabled", "basic", "extended", "all"] as const;
export type GraphOptimizationLevel = (typeof GRAPH_OPTIMIZATION_LEVELS)[number];

export interface RunStats {
  /** Number of `run` calls and the milliseconds spent inside onnxruntime's `run`. */
  calls: number;
  runMs: number;
}

export class ModelSession {
  readonly stats: RunStats = { calls: 0, runMs: 0 };
  private constructor(
    readonly component: string,
    readonly file: string,
    readonly provider: ExecutionProviderName,
    private readonly session: ort.InferenceSession,
  ) {}

  get inputs(): ValueInfo[] {
    return this.session.inputMetadata.map((m) => toValueInfo(m));
  }
  get outputs(): ValueInfo[] {
    return this.session.outputMetadata.map((m) => toValueInfo(m));
  }
  input(name: string): ValueInfo | undefined {
    return this.inputs.find((i) => i.name === name);
  }

  /** Open `file` (path-based, so external data next to it is found) on the first provider that works. */
  static async open(component: string, file: string, options: SessionOptions = {}): Promise<ModelSession> {
    const logger = options.logger ?? consoleLogger;
    try {
      await stat(file);
    } catch {
      throw new ModelNotFoundError(`${component}: model file not found: ${file}`, file);
    }
    const order = providerOrder(options.providers ?? ["auto"]);
    const failures: string[] = [];
    for (const provider of order) {
      try {
        const session = await ort.InferenceSession.create(file, sessionOptions(provider, options));
        if (failures.length) logger.warn(`${component}: using ${provider} (${failures.join("; ")})`);
        return new ModelSession(component, file, provider, session);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const classified = classifyLoadError(component, file, provider, message, err);
        // A broken file fails on every provider: say so once instead of trying the rest.
        if (classified.final) throw classified.error;
        failures.push(`[${provider}] ${classified.error.message}`);
      }
    }
    throw new ModelLoadError(`no execution provider could open ${file}: ${failures.join("; ")}`, component);
  }

  async run(feeds: Record<string, Tensor>, signal?: AbortSignal): Promise<Record<string, Tensor>> {
    signal?.throwIfAborted();
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(t);
    const start = performance.now();
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(ortFeeds);
    } catch (err) {
      throw new InferenceError(err instanceof Error ? err.message : String(err), this.component, { cause: err });
    } finally {
      this.stats.calls++;
      this.stats.runMs += performance.now() - start;
    }
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(results)) {
      out[name] = { type: value.type as DataType, data: halfBits(value.type, value.data) as Tensor["data"], dims: [...value.dims] };
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * onnxruntime-common wraps float16 data in a Float16Array where the runtime has one (Node 24), but
 * onnxruntime-node's native binding (1.30) cannot read a Float16Array ("not enough space: expected
 * N, got 0"), so the tensor is handed the same half bits as a Uint16Array view.
 */
function toOrtTensor(t: Tensor): ort.Tensor {
  const value = new ort.Tensor(t.type, t.data, t.dims as number[]);
  if (t.type === "float16") (value as unknown as { cpuData: Uint16Array }).cpuData = halfBits("float16", t.data) as Uint16Array;
  return value;
}

/** float16 data as the library's Uint16Array of half bits (outputs arrive as Float16Array on Node 24). */
function halfBits(type: string, data: unknown): unknown {
  if (type !== "float16" || data instanceof Uint16Array) return data;
  const view = data as ArrayBufferView & { length: number };
  return new Uint16Array(view.buffer, view.byteOffset, view.length);
}

function toValueInfo(m: ort.InferenceSession.ValueMetadata): ValueInfo {
  if (!m.isTensor) return { name: m.name, type: "non-tensor", shape: [] };
  return { name: m.name, type: m.type, shape: [...m.shape] };
}

function sessionOptions(provider: ExecutionProviderName, options: SessionOptions): ort.InferenceSession.SessionOptions {
  const low = options.lowCpuMem === true;
  return {
    executionProviders: [provider],
    // "all" adds layout transforms (NCHWc blocked convolutions on CPU): slower to open, faster to run.
    graphOptimizationLevel: options.graphOptimization ?? "all",
    // Memory-pattern planning makes the SD UNet's second run ~60% slower and raises its peak by
    // ~3 GiB on CPU (measured, DESIGN.md section 6); it only pays off for fixed-shape repeated runs.
    enableMemPattern: false,
    enableCpuMemArena: !low,
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    ...(low ? { extra: { session: { disable_prepacking: "1" } } } : {}),
    logSeverityLevel: 3,
  };
}

function classifyLoadError(
  component: string,
  file: string,
  provider: ExecutionProviderName,
  message: string,
  cause: unknown,
): { final: boolean; error: Error } {
  if (/protobuf parsing failed|ModelProto does not have a graph|Invalid model|No graph was found/i.test(message)) {
    return {
      final: true,
      error: new ModelLoadError(`${file} is corrupted or not an ONNX model (${message})`, component, { cause }),
    };
  }
  if (/doesn't exist|No such file|external data/i.test(message) && /exist|No such file/i.test(message)) {
    return {
      final: true,
      error: new ModelNotFoundError(`${component}: a file the graph needs is missing: ${message}`, file),
    };
  }
  const op =
    /Could not find an implementation for (\S+?)\(\d+\) node/.exec(message) ??
    /(\S+?)\(-?\d+\) is not a registered function\/op/.exec(message);
  if (op && provider === "cpu") {
    return {
      final: true,
      error: new ModelLoadError(
        `the graph uses operator '${op[1]}', which the cpu execution provider does not implement: this looks like a ` +
          `GPU-optimised export (fused contrib ops); run it with a GPU provider (EXECUTION_PROVIDER=cuda) or use a CPU export`,
        component,
        { cause },
      ),
    };
  }
  return { final: false, error: new ModelLoadError(message.split("\n")[0], undefined, { cause }) };
}

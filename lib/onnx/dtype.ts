/**
 * DTYPE semantics of the seed runtime, mapped onto what ONNX Runtime can honestly do. ONNX Runtime
 * runs the precision the graph was exported in; it cannot convert weights when a session opens. So
 * "dtype" picks between the precisions a model folder holds, and falls back, saying why.
 */
import { InvalidInputError } from "../errors.js";
import type { FloatType } from "./contracts.js";
import type { ExecutionProviderName } from "./providers.js";

export const DTYPES = ["auto", "bfloat16", "float16", "float32", "native"] as const;
export type DtypeRequest = (typeof DTYPES)[number];

export function parseDtype(value: string | undefined, field = "DTYPE"): DtypeRequest {
  const v = (value ?? "auto").trim().toLowerCase();
  const alias: Record<string, DtypeRequest> = { fp16: "float16", fp32: "float32", bf16: "bfloat16", half: "float16" };
  const d = alias[v] ?? v;
  if (!(DTYPES as readonly string[]).includes(d)) {
    throw new InvalidInputError(field, `unknown dtype '${value}'`, DTYPES.join(", "));
  }
  return d as DtypeRequest;
}

export interface DtypeChoice {
  dtype: FloatType;
  /** One sentence for the log: what was asked, what is used, and why. */
  reason: string;
}

/**
 * @param available precisions present in the model folder (one for a plain export; fp16 and fp32
 *   variants side by side give two)
 */
export function resolveDtype(
  requested: DtypeRequest,
  provider: ExecutionProviderName,
  available: readonly FloatType[],
): DtypeChoice {
  if (available.length === 0) throw new RangeError("resolveDtype: the model folder holds no precision");
  const gpu = provider !== "cpu";
  const has = (d: FloatType) => available.includes(d);
  const native = available[0];
  switch (requested) {
    case "native":
      return { dtype: native, reason: `native: the model folder holds ${native}` };
    case "float32":
      return has("float32")
        ? { dtype: "float32", reason: "float32 as requested" }
        : { dtype: native, reason: `float32 requested, but the folder holds only ${native} (weights are not converted at load time)` };
    case "float16":
      if (!has("float16")) {
        return { dtype: native, reason: `float16 requested, but the folder holds only ${native} (weights are not converted at load time)` };
      }
      return {
        dtype: "float16",
        reason: gpu
          ? "float16 as requested"
          : "float16 as requested; note the cpu provider has few float16 kernels and runs it slower than float32",
      };
    case "bfloat16": {
      // ONNX Runtime's cpu, cuda and webgpu providers have no bfloat16 kernels for convolution,
      // group norm and attention; the nearest honest choice is float16 on a GPU, float32 on CPU.
      const pick: FloatType = gpu && has("float16") ? "float16" : has("float32") ? "float32" : native;
      return { dtype: pick, reason: `bfloat16 requested; ONNX Runtime's ${provider} provider cannot run SD graphs in bfloat16, using ${pick}` };
    }
    case "auto": {
      const pick: FloatType = gpu ? (has("float16") ? "float16" : native) : has("float32") ? "float32" : native;
      return { dtype: pick, reason: `auto: ${pick} on ${provider}` };
    }
  }
}

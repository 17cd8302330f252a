/**
 * Tensor contracts of real exports (DESIGN.md section 3), recognised from `inputMetadata`, and the
 * feeds built from them. Exporters disagree (int32 vs int64 ids, rank-0 vs [B] timesteps, float vs
 * int64 timesteps, latent_parameters vs latent_sample), so nothing here assumes one of them.
 */
import { ModelLoadError } from "../errors.js";
import { float16BitsToFloat32, float32ToFloat16Bits } from "./float16.js";
import type { ModelSession, ValueInfo } from "./session.js";
import { tensor, type Tensor } from "./tensor.js";

export type FloatType = "float32" | "float16";

function describe(v: ValueInfo): string {
  return `${v.type} [${v.shape.join(", ")}]`;
}

function requireInput(s: ModelSession, name: string, types: readonly string[], ranks: readonly number[]): ValueInfo {
  const v = s.input(name);
  if (!v) {
    throw new ModelLoadError(
      `input '${name}' is missing (the graph has: ${s.inputs.map((i) => `${i.name} ${describe(i)}`).join("; ")})`,
      s.component,
    );
  }
  if (!types.includes(v.type) || !ranks.includes(v.shape.length)) {
    throw new ModelLoadError(
      `input '${name}' is ${describe(v)}; known contracts use ${types.join(" or ")} of rank ${ranks.join(" or ")}`,
      s.component,
    );
  }
  return v;
}

function rejectUnknownInputs(s: ModelSession, known: readonly string[]): void {
  const extra = s.inputs.filter((i) => !known.includes(i.name));
  if (extra.length) {
    throw new ModelLoadError(
      `inputs ${extra.map((i) => `'${i.name}' ${describe(i)}`).join(", ")} match no known contract (expected: ${known.join(", ")})`,
      s.component,
    );
  }
}

function requireOutput(s: ModelSession, names: readonly string[]): string {
  const found = names.find((n) => s.outputs.some((o) => o.name === n));
  if (!found) {
    throw new ModelLoadError(
      `none of the outputs ${names.join(", ")} found (the graph has: ${s.outputs.map((o) => o.name).join(", ")})`,
      s.component,
    );
  }
  return found;
}

/** Float data in the graph's float type. */
export function floatTensor(type: FloatType, data: Float32Array, dims: readonly number[]): Tensor {
  return type === "float16" ? tensor("float16", float32ToFloat16Bits(data), dims) : tensor("float32", data, dims);
}

/** Any float output back to float32. */
export function toFloat32(t: Tensor): Float32Array {
  if (t.type === "float32") return t.data as Float32Array;
  if (t.type === "float16") return float16BitsToFloat32(t.data as Uint16Array);
  throw new TypeError(`expected a float tensor, got ${t.type}`);
}

// ---------------------------------------------------------------- text encoder (CLIP)

export interface TextEncoderContract {
  idsType: "int32" | "int64";
  hiddenOutput: string;
  pooledOutput?: string;
}

export function textEncoderContract(s: ModelSession): TextEncoderContract {
  const ids = requireInput(s, "input_ids", ["int32", "int64"], [2]);
  rejectUnknownInputs(s, ["input_ids"]);
  const hiddenOutput = requireOutput(s, ["last_hidden_state"]);
  const pooled = ["pooler_output", "text_embeds"].find((n) => s.outputs.some((o) => o.name === n));
  return { idsType: ids.type as "int32" | "int64", hiddenOutput, pooledOutput: pooled };
}

export function inputIdsTensor(c: TextEncoderContract, ids: readonly (readonly number[])[]): Tensor {
  const b = ids.length;
  const seq = ids[0]?.length ?? 0;
  const flat = ids.flat();
  return c.idsType === "int64"
    ? tensor("int64", BigInt64Array.from(flat, (x) => BigInt(x)), [b, seq])
    : tensor("int32", Int32Array.from(flat), [b, seq]);
}

// ---------------------------------------------------------------- UNet

export interface UNetContract {
  sampleType: FloatType;
  hiddenType: FloatType;
  /** rank-0 (optimum >= 1.24), [B] (optimum 1.6-1.23 int64, legacy float) or a static [1]. */
  timestep: { type: "float32" | "float16" | "int64"; rank: 0 | 1; staticLength?: number };
  /**
   * Guidance-distilled UNets (LCM): `timestep_cond` [B, dim], the guidance-scale embedding; `dim` is
   * the static size when the graph declares one.
   */
  timestepCond?: { type: FloatType; dim?: number };
  output: string;
}

export const UNET_INPUTS = ["sample", "timestep", "encoder_hidden_states"] as const;
/** Inputs a UNet may have beyond UNET_INPUTS. */
export const UNET_OPTIONAL_INPUTS = ["timestep_cond"] as const;

export function unetContract(s: ModelSession): UNetContract {
  const sample = requireInput(s, "sample", ["float32", "float16"], [4]);
  const t = requireInput(s, "timestep", ["float32", "float16", "int64"], [0, 1]);
  const ehs = requireInput(s, "encoder_hidden_states", ["float32", "float16"], [3]);
  const cond = s.input("timestep_cond") ? requireInput(s, "timestep_cond", ["float32", "float16"], [2]) : undefined;
  rejectUnknownInputs(s, [...UNET_INPUTS, ...UNET_OPTIONAL_INPUTS]);
  const output = requireOutput(s, ["out_sample"]);
  const len = t.shape[0];
  const condDim = cond?.shape[1];
  return {
    sampleType: sample.type as FloatType,
    hiddenType: ehs.type as FloatType,
    timestep: {
      type: t.type as UNetContract["timestep"]["type"],
      rank: t.shape.length as 0 | 1,
      ...(typeof len === "number" ? { staticLength: len } : {}),
    },
    ...(cond ? { timestepCond: { type: cond.type as FloatType, ...(typeof condDim === "number" ? { dim: condDim } : {}) } } : {}),
    output,
  };
}

/** The timestep feed: diffusers' ONNX pipeline passes `np.array([t], dtype=timestep_dtype)`. */
export function timestepTensor(c: UNetContract, t: number, batch: number): Tensor {
  const n = c.timestep.rank === 0 ? 1 : (c.timestep.staticLength ?? batch);
  const dims = c.timestep.rank === 0 ? [] : [n];
  if (c.timestep.type === "int64") return tensor("int64", new BigInt64Array(n).fill(BigInt(Math.round(t))), dims);
  return floatTensor(c.timestep.type, new Float32Array(n).fill(t), dims);
}

// ---------------------------------------------------------------- VAE

export interface VaeDecoderContract {
  inputType: FloatType;
  output: string;
}

export function vaeDecoderContract(s: ModelSession): VaeDecoderContract {
  const v = requireInput(s, "latent_sample", ["float32", "float16"], [4]);
  rejectUnknownInputs(s, ["latent_sample"]);
  return { inputType: v.type as FloatType, output: requireOutput(s, ["sample"]) };
}

export interface VaeEncoderContract {
  inputType: FloatType;
  /** `latent_parameters`: mean and logvar stacked on channels (current optimum); `latent_sample`: a sample (older). */
  output: "latent_parameters" | "latent_sample";
}

export function vaeEncoderContract(s: ModelSession): VaeEncoderContract {
  const v = requireInput(s, "sample", ["float32", "float16"], [4]);
  rejectUnknownInputs(s, ["sample"]);
  return {
    inputType: v.type as FloatType,
    output: requireOutput(s, ["latent_parameters", "latent_sample"]) as VaeEncoderContract["output"],
  };
}

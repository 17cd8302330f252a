/**
 * Tensor contracts of SD3 exports (DESIGN.md section 3), recognised from `inputMetadata`:
 * - text_encoder / text_encoder_2: CLIPTextModelWithProjection with `input_ids` int64 or int32,
 *   outputs `text_embeds` (pooled, projected) and `hidden_states.0..N` (SD3 uses the penultimate);
 * - text_encoder_3: T5EncoderModel, `input_ids` -> `last_hidden_state`;
 * - transformer: `hidden_states` [B, 16, h, w], `encoder_hidden_states` [B, S, 4096],
 *   `pooled_projections` [B, 2048], `timestep` [B] (float; a rank-0 or int64 one is accepted too)
 *   -> `out_hidden_states`.
 */
import { ModelLoadError } from "../errors.js";
import { floatTensor, type FloatType } from "./contracts.js";
import type { ModelSession, ValueInfo } from "./session.js";
import { tensor, type Tensor } from "./tensor.js";

function describe(v: ValueInfo): string {
  return `${v.type} [${v.shape.join(", ")}]`;
}

function requireInput(s: ModelSession, name: string, types: readonly string[], ranks: readonly number[]): ValueInfo {
  const v = s.input(name);
  if (!v) {
    throw new ModelLoadError(`input '${name}' is missing (the graph has: ${s.inputs.map((i) => `${i.name} ${describe(i)}`).join("; ")})`, s.component);
  }
  if (!types.includes(v.type) || !ranks.includes(v.shape.length)) {
    throw new ModelLoadError(`input '${name}' is ${describe(v)}; known contracts use ${types.join(" or ")} of rank ${ranks.join(" or ")}`, s.component);
  }
  return v;
}

function onlyInputs(s: ModelSession, known: readonly string[]): void {
  const extra = s.inputs.filter((i) => !known.includes(i.name));
  if (extra.length) {
    throw new ModelLoadError(`inputs ${extra.map((i) => `'${i.name}' ${describe(i)}`).join(", ")} match no known SD3 contract (expected: ${known.join(", ")})`, s.component);
  }
}

function hasOutput(s: ModelSession, name: string): boolean {
  return s.outputs.some((o) => o.name === name);
}

// ---------------------------------------------------------------- CLIP with projection

export interface Sd3ClipContract {
  idsType: "int32" | "int64";
  /** `text_embeds`: the projected pooled state. */
  pooledOutput: string;
  /** `hidden_states.{N-1}`: the penultimate layer's output, which SD3 conditions on (clip_skip none). */
  penultimateOutput: string;
  /** N, the number of layers (hidden_states.0 is the embeddings). */
  layers: number;
}

export function sd3ClipContract(s: ModelSession): Sd3ClipContract {
  const ids = requireInput(s, "input_ids", ["int32", "int64"], [2]);
  onlyInputs(s, ["input_ids"]);
  if (!hasOutput(s, "text_embeds")) {
    throw new ModelLoadError(
      `output 'text_embeds' is missing (outputs: ${s.outputs.map((o) => o.name).join(", ")}); SD3 needs CLIPTextModelWithProjection exports`,
      s.component,
    );
  }
  const indices = s.outputs.flatMap((o) => {
    const m = /^hidden_states\.(\d+)$/.exec(o.name);
    return m ? [Number(m[1])] : [];
  });
  const layers = indices.length ? Math.max(...indices) : -1;
  if (layers < 1 || !hasOutput(s, `hidden_states.${layers - 1}`)) {
    throw new ModelLoadError("outputs 'hidden_states.0..N' are missing: SD3 conditions on the penultimate layer (export with output_hidden_states)", s.component);
  }
  return { idsType: ids.type as "int32" | "int64", pooledOutput: "text_embeds", penultimateOutput: `hidden_states.${layers - 1}`, layers };
}

// ---------------------------------------------------------------- T5

export interface T5Contract {
  idsType: "int32" | "int64";
  /** Some exports take `attention_mask`; SD3 pipelines pass none, i.e. all ones. */
  attentionMask: boolean;
  output: string;
}

export function t5Contract(s: ModelSession): T5Contract {
  const ids = requireInput(s, "input_ids", ["int32", "int64"], [2]);
  onlyInputs(s, ["input_ids", "attention_mask"]);
  if (!hasOutput(s, "last_hidden_state")) {
    throw new ModelLoadError(`output 'last_hidden_state' is missing (outputs: ${s.outputs.map((o) => o.name).join(", ")})`, s.component);
  }
  const mask = s.input("attention_mask") ? requireInput(s, "attention_mask", [ids.type], [2]) : undefined;
  return { idsType: ids.type as "int32" | "int64", attentionMask: mask !== undefined, output: "last_hidden_state" };
}

/** `input_ids` [B, S] in the contract's integer type. */
export function idsTensor(idsType: "int32" | "int64", ids: readonly (readonly number[])[]): Tensor {
  const flat = ids.flat();
  const dims = [ids.length, ids[0]?.length ?? 0];
  return idsType === "int64" ? tensor("int64", BigInt64Array.from(flat, (x) => BigInt(x)), dims) : tensor("int32", Int32Array.from(flat), dims);
}

// ---------------------------------------------------------------- transformer

export const SD3_TRANSFORMER_INPUTS = ["hidden_states", "encoder_hidden_states", "pooled_projections", "timestep"] as const;

export interface Sd3TransformerContract {
  sampleType: FloatType;
  hiddenType: FloatType;
  pooledType: FloatType;
  /** float [B] (optimum); rank 0 or int64 also accepted, as the UNet's exporters vary. */
  timestep: { type: "float32" | "float16" | "int64"; rank: 0 | 1 };
  output: string;
}

export function sd3TransformerContract(s: ModelSession): Sd3TransformerContract {
  const sample = requireInput(s, "hidden_states", ["float32", "float16"], [4]);
  const hidden = requireInput(s, "encoder_hidden_states", ["float32", "float16"], [3]);
  const pooled = requireInput(s, "pooled_projections", ["float32", "float16"], [2]);
  const t = requireInput(s, "timestep", ["float32", "float16", "int64"], [0, 1]);
  onlyInputs(s, SD3_TRANSFORMER_INPUTS);
  const output = ["out_hidden_states", "sample"].find((n) => hasOutput(s, n));
  if (!output) throw new ModelLoadError(`output 'out_hidden_states' is missing (outputs: ${s.outputs.map((o) => o.name).join(", ")})`, s.component);
  return {
    sampleType: sample.type as FloatType,
    hiddenType: hidden.type as FloatType,
    pooledType: pooled.type as FloatType,
    timestep: { type: t.type as Sd3TransformerContract["timestep"]["type"], rank: t.shape.length as 0 | 1 },
    output,
  };
}

/** diffusers passes `t.expand(batch)`: the step's timestep once per batch entry. */
export function sd3TimestepTensor(c: Sd3TransformerContract, t: number, batch: number): Tensor {
  const n = c.timestep.rank === 0 ? 1 : batch;
  const dims = c.timestep.rank === 0 ? [] : [n];
  if (c.timestep.type === "int64") return tensor("int64", new BigInt64Array(n).fill(BigInt(Math.round(t))), dims);
  return floatTensor(c.timestep.type, new Float32Array(n).fill(t), dims);
}

/**
 * SDXL's tensor contracts (optimum's export, DESIGN.md section 3), on top of the SD ones in
 * contracts.ts: text encoders that also output `hidden_states.0..N` (the pipeline reads the
 * penultimate) and a UNet with the micro-conditioning inputs `text_embeds` [B, D] and `time_ids` [B, n].
 */
import { ModelLoadError } from "../errors.js";
import { floatTensor, textEncoderContract, unetContract, type FloatType, type TextEncoderContract, type UNetContract } from "./contracts.js";
import type { ModelSession } from "./session.js";
import type { Tensor } from "./tensor.js";

export interface SdxlTextEncoderContract extends TextEncoderContract {
  /** `hidden_states.{N-1}`: the output of the second-to-last layer (diffusers' `hidden_states[-2]`). */
  penultimateOutput: string;
  /** Number of layers N (the graph outputs hidden_states.0..N). */
  layers: number;
  /** Size of the pooled output when the graph declares it statically. */
  pooledDim?: number;
}

/** A text encoder of an SDXL export; `pooled` says whether the pooled output is required (text_encoder_2's is). */
export function sdxlTextEncoderContract(s: ModelSession, options: { pooled: boolean }): SdxlTextEncoderContract {
  const base = textEncoderContract(s);
  const indices = s.outputs.map((o) => /^hidden_states\.(\d+)$/.exec(o.name)).filter((m) => m !== null).map((m) => Number(m[1]));
  const layers = indices.length ? Math.max(...indices) : -1;
  if (layers < 1 || !indices.includes(layers - 1)) {
    throw new ModelLoadError(
      `SDXL pipelines read the penultimate hidden state, but the graph has no hidden_states.N outputs to take it from ` +
        `(outputs: ${s.outputs.map((o) => o.name).join(", ")}); export it with output_hidden_states, as optimum does for SDXL`,
      s.component,
    );
  }
  if (options.pooled && !base.pooledOutput) {
    throw new ModelLoadError(`no pooled output (text_embeds or pooler_output) for the UNet's text_embeds`, s.component);
  }
  const pooledDim = s.outputs.find((o) => o.name === base.pooledOutput)?.shape[1];
  return { ...base, penultimateOutput: `hidden_states.${layers - 1}`, layers, ...(typeof pooledDim === "number" ? { pooledDim } : {}) };
}

export interface SdxlUNetContract extends UNetContract {
  textEmbeds: { type: FloatType; dim?: number };
  timeIds: { type: FloatType; count?: number };
}

export const SDXL_UNET_INPUTS = ["text_embeds", "time_ids"] as const;

function conditioningInput(s: ModelSession, name: string): { type: FloatType; size?: number } {
  const v = s.input(name);
  if (!v) {
    throw new ModelLoadError(
      `input '${name}' is missing: an SDXL UNet (addition_embed_type "text_time") takes text_embeds and time_ids ` +
        `(the graph has: ${s.inputs.map((i) => i.name).join(", ")})`,
      s.component,
    );
  }
  if ((v.type !== "float32" && v.type !== "float16") || v.shape.length !== 2) {
    throw new ModelLoadError(`input '${name}' is ${v.type} [${v.shape.join(", ")}]; known contracts use float32 or float16 of rank 2`, s.component);
  }
  const size = v.shape[1];
  return { type: v.type, ...(typeof size === "number" ? { size } : {}) };
}

/**
 * The SDXL UNet's contract: the SD one (timestep variants, precision) read from a view of the
 * session without the two SDXL inputs, which contracts.ts does not know, plus those two.
 */
export function sdxlUNetContract(s: ModelSession): SdxlUNetContract {
  const textEmbeds = conditioningInput(s, "text_embeds");
  const timeIds = conditioningInput(s, "time_ids");
  const withoutSdxlInputs = Object.create(s, {
    inputs: { get: () => s.inputs.filter((i) => !(SDXL_UNET_INPUTS as readonly string[]).includes(i.name)) },
  }) as ModelSession;
  return {
    ...unetContract(withoutSdxlInputs),
    textEmbeds: { type: textEmbeds.type, ...(textEmbeds.size !== undefined ? { dim: textEmbeds.size } : {}) },
    timeIds: { type: timeIds.type, ...(timeIds.size !== undefined ? { count: timeIds.size } : {}) },
  };
}

/** The `text_embeds` and `time_ids` feeds for `batch` rows ([B, D] and [B, n] row-major). */
export function sdxlConditioningTensors(
  c: SdxlUNetContract,
  textEmbeds: Float32Array,
  timeIds: Float32Array,
  batch: number,
): { text_embeds: Tensor; time_ids: Tensor } {
  return {
    text_embeds: floatTensor(c.textEmbeds.type, textEmbeds, [batch, textEmbeds.length / batch]),
    time_ids: floatTensor(c.timeIds.type, timeIds, [batch, timeIds.length / batch]),
  };
}

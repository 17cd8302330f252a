/**
 * SDXL prompt encoding (diffusers' StableDiffusionXLPipeline.encode_prompt): each prompt goes
 * through both CLIP text encoders, each with its own tokenizer (the second pads with "!"); the
 * UNet's context is the two encoders' penultimate hidden states concatenated on the feature axis,
 * and its `text_embeds` is text_encoder_2's pooled, projected output.
 */
import { inputIdsTensor, toFloat32 } from "../onnx/contracts.js";
import type { SdxlTextEncoderContract } from "../onnx/contracts-sdxl.js";
import type { Components } from "../onnx/components.js";
import type { CLIPTokenizer } from "../tokenizers/clip.js";
import { tokenize } from "./encode-prompt.js";
import { withComponent } from "./with-component.js";

export interface XLTextEncoder {
  /** Component folder name: text_encoder or text_encoder_2. */
  name: string;
  tokenizer: CLIPTokenizer;
  contract: SdxlTextEncoderContract;
}

export interface XLPromptEmbeddings {
  /** [B, seq, dim]: penultimate hidden states of both encoders, side by side. */
  hidden: Float32Array;
  seq: number;
  dim: number;
  /** [B, pooledDim]: text_encoder_2's pooled output (`text_embeds`). */
  pooled: Float32Array;
  pooledDim: number;
  /** The token ids each encoder saw. */
  inputIds: [number[][], number[][]];
  tokenizeMs: number;
}

interface EncoderOutput {
  hidden: Float32Array;
  dims: number[];
  pooled?: Float32Array;
  pooledDim?: number;
  ids: number[][];
  tokenizeMs: number;
}

async function encodeWith(components: Components, encoder: XLTextEncoder, prompts: readonly string[], signal?: AbortSignal): Promise<EncoderOutput> {
  const t = performance.now();
  const ids = tokenize(encoder.tokenizer, prompts);
  const tokenizeMs = performance.now() - t;
  const c = encoder.contract;
  const out = await withComponent(components, encoder.name, (s) => s.run({ input_ids: inputIdsTensor(c, ids) }, signal));
  const hidden = out[c.penultimateOutput];
  const pooled = c.pooledOutput ? out[c.pooledOutput] : undefined;
  return {
    hidden: toFloat32(hidden),
    dims: [...hidden.dims],
    pooled: pooled && toFloat32(pooled),
    pooledDim: pooled?.dims[1],
    ids,
    tokenizeMs,
  };
}

/** Encode `prompts` (for the first encoder) and `prompts2` (same length, for the second). */
export async function encodePromptXL(
  components: Components,
  encoders: readonly [XLTextEncoder, XLTextEncoder],
  prompts: readonly string[],
  prompts2: readonly string[],
  signal?: AbortSignal,
): Promise<XLPromptEmbeddings> {
  const a = await encodeWith(components, encoders[0], prompts, signal);
  const b = await encodeWith(components, encoders[1], prompts2, signal);
  const [batch, seq, d1] = a.dims;
  const d2 = b.dims[2];
  const hidden = new Float32Array(batch * seq * (d1 + d2));
  for (let row = 0; row < batch * seq; row++) {
    hidden.set(a.hidden.subarray(row * d1, (row + 1) * d1), row * (d1 + d2));
    hidden.set(b.hidden.subarray(row * d2, (row + 1) * d2), row * (d1 + d2) + d1);
  }
  // diffusers keeps `prompt_embeds[0]` of the last encoder in its loop: text_encoder_2's text_embeds.
  return { hidden, seq, dim: d1 + d2, pooled: b.pooled!, pooledDim: b.pooledDim!, inputIds: [a.ids, b.ids], tokenizeMs: a.tokenizeMs + b.tokenizeMs };
}

/** The negative branch when force_zeros_for_empty_prompt applies: zeros shaped like the positive embeddings. */
export function zeroEmbeddings(like: XLPromptEmbeddings): XLPromptEmbeddings {
  return { ...like, hidden: new Float32Array(like.hidden.length), pooled: new Float32Array(like.pooled.length), inputIds: [[], []], tokenizeMs: 0 };
}

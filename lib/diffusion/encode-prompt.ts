/** Prompt encoding: CLIP tokens -> text encoder -> hidden states the UNet cross-attends to. */
import { inputIdsTensor, toFloat32, type TextEncoderContract } from "../onnx/contracts.js";
import type { ModelSession } from "../onnx/session.js";
import type { CLIPTokenizer } from "../tokenizers/clip.js";

export interface PromptEmbeddings {
  /** [B, seq, hidden] */
  data: Float32Array;
  dims: [number, number, number];
  /** The token ids that were encoded (padded/truncated to the tokenizer's max length). */
  inputIds: number[][];
}

export function tokenize(tokenizer: CLIPTokenizer, prompts: readonly string[]): number[][] {
  return tokenizer.call([...prompts], { padding: "max_length", truncation: true }).inputIds;
}

export async function encodeTokens(
  encoder: ModelSession,
  contract: TextEncoderContract,
  inputIds: number[][],
  signal?: AbortSignal,
): Promise<PromptEmbeddings> {
  const out = await encoder.run({ input_ids: inputIdsTensor(contract, inputIds) }, signal);
  const hidden = out[contract.hiddenOutput];
  const [b, s, h] = hidden.dims;
  return { data: toFloat32(hidden), dims: [b, s, h], inputIds };
}

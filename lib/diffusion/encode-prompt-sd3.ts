/**
 * SD3's prompt encoding (diffusers' StableDiffusion3Pipeline.encode_prompt): the penultimate hidden
 * states of CLIP-L and CLIP-G side by side, zero-padded to T5's width, then T5's last hidden state
 * along the sequence ([B, 77 + T, 4096]); the pooled conditioning is both CLIPs' projected pooled
 * states side by side ([B, 768 + 1280]). Without T5 its part is zeros of CLIP's length (77), as
 * diffusers does for a pipeline loaded with text_encoder_3=None.
 */
import { idsTensor, type Sd3ClipContract, type T5Contract } from "../onnx/contracts-sd3.js";
import { toFloat32 } from "../onnx/contracts.js";
import type { Components } from "../onnx/components.js";
import type { CLIPTokenizer } from "../tokenizers/clip.js";
import type { T5Tokenizer } from "../tokenizers/t5.js";
import { withComponent } from "./with-component.js";

export interface Sd3ClipEncoder {
  name: "text_encoder" | "text_encoder_2";
  tokenizer: CLIPTokenizer;
  contract: Sd3ClipContract;
}

export interface Sd3T5Encoder {
  tokenizer: T5Tokenizer;
  contract: T5Contract;
}

export interface Sd3Encoders {
  clip: readonly [Sd3ClipEncoder, Sd3ClipEncoder];
  /** Absent for folders without text_encoder_3. */
  t5?: Sd3T5Encoder;
  /** The transformer's joint_attention_dim (T5's width, 4096). */
  jointDim: number;
}

export interface Sd3PromptEmbeddings {
  /** [B, seq, dim] */
  hidden: Float32Array;
  seq: number;
  dim: number;
  /** [B, pooledDim] */
  pooled: Float32Array;
  pooledDim: number;
  /** The T5 input ids ([] without T5). */
  t5Ids: number[][];
  tokenizeMs: number;
}

export async function encodePromptSd3(
  components: Components,
  encoders: Sd3Encoders,
  prompts: { clipL: readonly string[]; clipG: readonly string[]; t5: readonly string[] },
  maxSequenceLength: number,
  signal?: AbortSignal,
): Promise<Sd3PromptEmbeddings> {
  const batch = prompts.clipL.length;
  let tokenizeMs = 0;
  const tokens = <T>(f: () => T): T => {
    const t = performance.now();
    const r = f();
    tokenizeMs += performance.now() - t;
    return r;
  };

  // CLIP-L and CLIP-G: penultimate hidden states [B, 77, H_i] and text_embeds [B, P_i].
  const clipOut: { hidden: Float32Array; seq: number; width: number; pooled: Float32Array; pooledDim: number }[] = [];
  for (const [i, e] of encoders.clip.entries()) {
    const texts = i === 0 ? prompts.clipL : prompts.clipG;
    const ids = tokens(() => e.tokenizer.call([...texts], { padding: "max_length", truncation: true }).inputIds);
    const out = await withComponent(components, e.name, (s) => s.run({ input_ids: idsTensor(e.contract.idsType, ids) }, signal));
    const hidden = out[e.contract.penultimateOutput];
    const pooled = out[e.contract.pooledOutput];
    clipOut.push({ hidden: toFloat32(hidden), seq: hidden.dims[1], width: hidden.dims[2], pooled: toFloat32(pooled), pooledDim: pooled.dims[1] });
  }
  const clipSeq = clipOut[0].seq;

  // T5 [B, T, joint], or zeros [B, 77, joint].
  let t5Ids: number[][] = [];
  let t5: { data: Float32Array; seq: number };
  if (encoders.t5) {
    const { tokenizer, contract } = encoders.t5;
    t5Ids = tokens(() => tokenizer.call(prompts.t5, { maxLength: maxSequenceLength }).inputIds);
    const feeds = {
      input_ids: idsTensor(contract.idsType, t5Ids),
      ...(contract.attentionMask ? { attention_mask: idsTensor(contract.idsType, t5Ids.map((row) => row.map(() => 1))) } : {}),
    };
    const out = await withComponent(components, "text_encoder_3", (s) => s.run(feeds, signal));
    const h = out[contract.output];
    t5 = { data: toFloat32(h), seq: h.dims[1] };
  } else {
    t5 = { data: new Float32Array(batch * clipSeq * encoders.jointDim), seq: clipSeq };
  }

  // [CLIP-L | CLIP-G | zeros] per token, then the T5 tokens.
  const D = encoders.jointDim;
  const seq = clipSeq + t5.seq;
  const hidden = new Float32Array(batch * seq * D);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < clipSeq; s++) {
      let offset = (b * seq + s) * D;
      for (const c of clipOut) {
        // a negative pad in torch crops: only the first D channels of the concatenation are kept
        const row = c.hidden.subarray((b * clipSeq + s) * c.width, (b * clipSeq + s + 1) * c.width);
        const room = Math.max(0, (b * seq + s + 1) * D - offset);
        hidden.set(row.subarray(0, Math.min(c.width, room)), offset);
        offset += Math.min(c.width, room);
      }
    }
    hidden.set(t5.data.subarray(b * t5.seq * D, (b + 1) * t5.seq * D), (b * seq + clipSeq) * D);
  }
  const pooledDim = clipOut[0].pooledDim + clipOut[1].pooledDim;
  const pooled = new Float32Array(batch * pooledDim);
  for (let b = 0; b < batch; b++) {
    pooled.set(clipOut[0].pooled.subarray(b * clipOut[0].pooledDim, (b + 1) * clipOut[0].pooledDim), b * pooledDim);
    pooled.set(clipOut[1].pooled.subarray(b * clipOut[1].pooledDim, (b + 1) * clipOut[1].pooledDim), b * pooledDim + clipOut[0].pooledDim);
  }
  return { hidden, seq, dim: D, pooled, pooledDim, t5Ids, tokenizeMs };
}

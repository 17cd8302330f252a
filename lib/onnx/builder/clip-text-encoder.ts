/**
 * transformers' CLIPTextModel (v4.34) as an ONNX graph: token + position embeddings, pre-LN causal
 * self-attention layers, final layer norm. Outputs `last_hidden_state` [B, S, H], `pooler_output`
 * [B, H] (the hidden state at the argmax of input_ids: the end-of-text token has the highest id,
 * which is what SD 1.x/2.x configs with `eos_token_id: 2` select) and optionally `hidden_states.0..N`
 * (embeddings, then each layer's output before the final norm; SDXL pipelines use the penultimate).
 * With `projection`, it is CLIPTextModelWithProjection (SDXL's text_encoder_2): the pooled state goes
 * through `text_projection` (no bias) and is output as `text_embeds`, first, in place of pooler_output,
 * as optimum's CLIPTextWithProjectionOnnxConfig orders them.
 *
 * Initializers carry the state_dict keys (`text_model.encoder.layers.0.self_attn.q_proj.weight`, ...)
 * in the layouts listed in layers.ts (Linear weights transposed to [in, out]).
 */
import { InvalidInputError } from "../../errors.js";
import { GraphBuilder, type Value } from "./graph.js";
import { attention, layerNorm, linear } from "./layers.js";
import { uniformWithStd } from "./random-weights.js";
import type { AxisNames, InputIdsType } from "./contract.js";

export interface ClipTextConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  maxPositionEmbeddings: number;
  /** quick_gelu for SD 1.x (OpenAI CLIP-L), gelu for SD 2.x (OpenCLIP-H). */
  hiddenAct: "quick_gelu" | "gelu";
  layerNormEps: number;
  /** Only written to config.json (CLIPTextModel has no projection). */
  projectionDim: number;
}

export interface ClipTextGraphOptions {
  inputIds: InputIdsType;
  axes: AxisNames;
  /** Also output `hidden_states.0..N`. */
  outputHiddenStates: boolean;
  seed: number;
  /** CLIPTextModelWithProjection: output `text_embeds` of this size instead of `pooler_output`. */
  projection?: number;
}

/** transformers' `finfo(float32).min`, the value its causal mask puts above the diagonal. */
const MASKED = -3.4028234663852886e38;

export function validateClipTextConfig(config: ClipTextConfig): void {
  if (config.hiddenSize % config.numAttentionHeads !== 0) {
    throw new InvalidInputError("textEncoder.hiddenSize", `${config.hiddenSize} is not divisible by ${config.numAttentionHeads} heads`, "a multiple of numAttentionHeads");
  }
  for (const key of ["vocabSize", "hiddenSize", "intermediateSize", "numHiddenLayers", "maxPositionEmbeddings"] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) throw new InvalidInputError(`textEncoder.${key}`, `got ${config[key]}`, "a positive integer");
  }
}

export function buildClipTextEncoder(config: ClipTextConfig, options: ClipTextGraphOptions): GraphBuilder {
  validateClipTextConfig(config);
  const H = config.hiddenSize;
  const heads = config.numAttentionHeads;
  const { axes } = options;
  const model = options.projection === undefined ? "CLIPTextModel" : "CLIPTextModelWithProjection";
  const g = new GraphBuilder({ name: model, seed: options.seed, docString: `transformers ${model} (diffusion-workbench builder, random weights)` });
  const inputIds = g.input("input_ids", options.inputIds, [axes.batch, axes.sequence]);

  // Embeddings: token lookup plus the first S rows of the position table (position_ids = arange(S)).
  const tokenTable = g.weight("text_model.embeddings.token_embedding.weight", [config.vocabSize, H], uniformWithStd(0.02));
  const positionTable = g.weight("text_model.embeddings.position_embedding.weight", [config.maxPositionEmbeddings, H], uniformWithStd(0.01));
  const seqLen = g.shape(inputIds, 1, 2);
  let hidden = g.scope("text_model/embeddings", () =>
    g.add(g.gather(tokenTable, inputIds, 0), g.slice(positionTable, [0], seqLen, [0])),
  );

  // Causal mask [S, S]: 0 on and below the diagonal, float32 min above.
  const P = config.maxPositionEmbeddings;
  const maskTable = g.initializer("/text_model/causal_attention_mask", "float32", [P, P], () => {
    const m = new Float32Array(P * P);
    for (let i = 0; i < P; i++) for (let j = i + 1; j < P; j++) m[i * P + j] = MASKED;
    return m;
  });
  const mask = g.slice(maskTable, [0, 0], g.concat([seqLen, seqLen], 0), [0, 1]);

  const hiddenStates: Value[] = [hidden];
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const p = `text_model.encoder.layers.${i}`;
    hidden = g.scope(p, () => {
      const normed = layerNorm(g, `${p}.layer_norm1`, hidden, H, config.layerNormEps);
      const q = linear(g, `${p}.self_attn.q_proj`, normed, H, H);
      const k = linear(g, `${p}.self_attn.k_proj`, normed, H, H);
      const v = linear(g, `${p}.self_attn.v_proj`, normed, H, H);
      const attended = attention(g, q, k, v, heads, H / heads, mask);
      const afterAttention = g.add(hidden, linear(g, `${p}.self_attn.out_proj`, attended, H, H));
      const normed2 = layerNorm(g, `${p}.layer_norm2`, afterAttention, H, config.layerNormEps);
      const fc1 = linear(g, `${p}.mlp.fc1`, normed2, H, config.intermediateSize);
      const act = config.hiddenAct === "gelu" ? g.gelu(fc1) : g.quickGelu(fc1);
      return g.add(afterAttention, linear(g, `${p}.mlp.fc2`, act, config.intermediateSize, H));
    });
    hiddenStates.push(hidden);
  }
  const last = layerNorm(g, "text_model.final_layer_norm", hidden, H, config.layerNormEps);

  // Pooling at the end-of-text token: ArgMax over ids (int32, as transformers casts for ONNX), then
  // GatherND with one index per batch row.
  const ids32 = options.inputIds === "int32" ? inputIds : g.cast(inputIds, "int32");
  const eosIndex = g.argMax(ids32, -1, true);
  const pooled = g.gatherND(last, eosIndex, 1);

  if (options.projection === undefined) {
    g.output(last, "last_hidden_state", "float32", [axes.batch, axes.sequence, H]);
    g.output(pooled, "pooler_output", "float32", [axes.batch, H]);
  } else {
    const projected = linear(g, "text_projection", pooled, H, options.projection, false);
    g.output(projected, "text_embeds", "float32", [axes.batch, options.projection]);
    g.output(last, "last_hidden_state", "float32", [axes.batch, axes.sequence, H]);
  }
  if (options.outputHiddenStates) {
    hiddenStates.forEach((h, i) => g.output(h, `hidden_states.${i}`, "float32", [axes.batch, axes.sequence, H]));
  }
  return g;
}

/** text_encoder/config.json as transformers writes it for CLIPTextModel. */
export function clipTextConfigJson(config: ClipTextConfig, ids: { bos: number; eos: number; pad: number }): Record<string, unknown> {
  return {
    _name_or_path: "diffusion-workbench/tiny-model-builder",
    architectures: ["CLIPTextModel"],
    attention_dropout: 0.0,
    bos_token_id: ids.bos,
    dropout: 0.0,
    eos_token_id: ids.eos,
    hidden_act: config.hiddenAct,
    hidden_size: config.hiddenSize,
    initializer_factor: 1.0,
    initializer_range: 0.02,
    intermediate_size: config.intermediateSize,
    layer_norm_eps: config.layerNormEps,
    max_position_embeddings: config.maxPositionEmbeddings,
    model_type: "clip_text_model",
    num_attention_heads: config.numAttentionHeads,
    num_hidden_layers: config.numHiddenLayers,
    pad_token_id: ids.pad,
    projection_dim: config.projectionDim,
    torch_dtype: "float32",
    transformers_version: "4.34.0",
    vocab_size: config.vocabSize,
  };
}

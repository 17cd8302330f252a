/**
 * transformers' T5EncoderModel (v4.34, T5 v1.1 as SD3's text_encoder_3) as an ONNX graph: token
 * embedding, pre-norm blocks of self-attention with a learned relative position bias (computed once,
 * by the first block, and shared by all) and a gated-GELU feed-forward (wi_0 through gelu_new, times
 * wi_1, then wo), RMS layer norms without mean subtraction or bias, and a final RMS norm. T5 does not
 * scale attention scores by 1/sqrt(d_kv) and its linears have no bias. Input `input_ids` [B, S],
 * output `last_hidden_state` [B, S, d_model]; no attention mask (SD3 pipelines pass none).
 *
 * Initializer names are the T5EncoderModel state_dict keys (`encoder.block.0.layer.0.SelfAttention.q.weight`,
 * `shared.weight` for the tied token embedding), layouts as in layers.ts.
 */
import { InvalidInputError } from "../../../errors.js";
import { GraphBuilder, type Value } from "../graph.js";
import { linear } from "../layers.js";
import { uniformWithStd } from "../random-weights.js";
import type { InputIdsType } from "../contract.js";
import { geluTanh, headAttention, mergeHeads, rmsNormWeighted, splitHeads } from "./ops.js";

export interface T5EncoderConfig {
  vocabSize: number;
  dModel: number;
  dKv: number;
  dFf: number;
  numLayers: number;
  numHeads: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  layerNormEpsilon: number;
}

export interface T5EncoderGraphOptions {
  inputIds: InputIdsType;
  axes: { batch: string; sequence: string };
  seed: number;
}

export function validateT5Config(config: T5EncoderConfig): void {
  for (const key of ["vocabSize", "dModel", "dKv", "dFf", "numLayers", "numHeads", "relativeAttentionNumBuckets", "relativeAttentionMaxDistance"] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) throw new InvalidInputError(`textEncoder3.${key}`, `got ${config[key]}`, "a positive integer");
  }
  if (config.relativeAttentionNumBuckets % 4 !== 0) {
    throw new InvalidInputError("textEncoder3.relativeAttentionNumBuckets", `got ${config.relativeAttentionNumBuckets}`, "a multiple of 4 (bidirectional buckets, half exact)");
  }
}

/**
 * T5's bidirectional relative-position bucket of `k - q` for |k - q| <= maxDistance (beyond it the
 * bucket no longer changes): half the buckets for k > q; in each half, exact buckets for distances
 * below a quarter of the buckets, then logarithmic ones up to maxDistance. Float32 steps as torch.
 */
export function relativePositionBucket(relative: number, numBuckets: number, maxDistance: number): number {
  const f = Math.fround;
  const half = numBuckets / 2;
  const maxExact = half / 2;
  const offset = relative > 0 ? half : 0;
  const n = Math.abs(relative);
  if (n < maxExact) return offset + n;
  const large = maxExact + Math.trunc(f(f(f(Math.log(f(n / maxExact))) / f(Math.log(maxDistance / maxExact))) * (half - maxExact)));
  return offset + Math.min(large, half - 1);
}

/** [1, heads, S, S] position bias: buckets of k - q (clipped to +-maxDistance) looked up in the learned table. */
function positionBias(g: GraphBuilder, config: T5EncoderConfig, seqLen: Value): Value {
  const D = config.relativeAttentionMaxDistance;
  const table = g.weight("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", [config.relativeAttentionNumBuckets, config.numHeads], uniformWithStd(1));
  const buckets = g.constant(
    "int64",
    Array.from({ length: 2 * D + 1 }, (_, i) => relativePositionBucket(i - D, config.relativeAttentionNumBuckets, D)),
  );
  return g.scope("encoder/block.0/layer.0/SelfAttention/position_bias", () => {
    const positions = g.op("Range", [g.constant("int64", [0], []), g.reshape(seqLen, []), g.constant("int64", [1], [])]);
    const relative = g.sub(g.unsqueeze(positions, [0]), g.unsqueeze(positions, [1])); // [q, k] = k - q
    const clipped = g.op("Clip", [relative, g.constant("int64", [-D], []), g.constant("int64", [D], [])]);
    const bucket = g.gather(buckets, g.add(clipped, g.constant("int64", [D], [])), 0); // [S, S]
    return g.unsqueeze(g.transpose(g.gather(table, bucket, 0), [2, 0, 1]), [0]); // [1, heads, S, S]
  });
}

export function buildT5Encoder(config: T5EncoderConfig, options: T5EncoderGraphOptions): GraphBuilder {
  validateT5Config(config);
  const { dModel: H, dKv, numHeads: heads, dFf } = config;
  const inner = heads * dKv;
  const eps = config.layerNormEpsilon;
  const g = new GraphBuilder({ name: "T5EncoderModel", seed: options.seed, docString: "transformers T5EncoderModel (diffusion-workbench builder, random weights)" });
  const inputIds = g.input("input_ids", options.inputIds, [options.axes.batch, options.axes.sequence]);

  const embedding = g.weight("shared.weight", [config.vocabSize, H], uniformWithStd(1));
  let hidden = g.scope("encoder/embed_tokens", () => g.gather(embedding, inputIds, 0));
  const bias = positionBias(g, config, g.shape(inputIds, 1, 2));

  for (let i = 0; i < config.numLayers; i++) {
    const p = `encoder.block.${i}.layer`;
    hidden = g.scope(`encoder.block.${i}`, () => {
      const normed = rmsNormWeighted(g, `${p}.0.layer_norm`, hidden, H, eps);
      const a = `${p}.0.SelfAttention`;
      const q = splitHeads(g, linear(g, `${a}.q`, normed, H, inner, false), heads, dKv);
      const k = splitHeads(g, linear(g, `${a}.k`, normed, H, inner, false), heads, dKv);
      const v = splitHeads(g, linear(g, `${a}.v`, normed, H, inner, false), heads, dKv);
      const attended = mergeHeads(g, headAttention(g, q, k, v, 1, bias), heads, dKv);
      const afterAttention = g.add(hidden, linear(g, `${a}.o`, attended, inner, H, false));
      const normed2 = rmsNormWeighted(g, `${p}.1.layer_norm`, afterAttention, H, eps);
      const f = `${p}.1.DenseReluDense`;
      const gate = geluTanh(g, linear(g, `${f}.wi_0`, normed2, H, dFf, false));
      const up = linear(g, `${f}.wi_1`, normed2, H, dFf, false);
      return g.add(afterAttention, linear(g, `${f}.wo`, g.mul(gate, up), dFf, H, false));
    });
  }
  const last = rmsNormWeighted(g, "encoder.final_layer_norm", hidden, H, eps);
  g.output(last, "last_hidden_state", "float32", [options.axes.batch, options.axes.sequence, H]);
  return g;
}

/** text_encoder_3/config.json as transformers writes it for google/t5-v1_1-xxl's T5EncoderModel. */
export function t5ConfigJson(config: T5EncoderConfig): Record<string, unknown> {
  return {
    _name_or_path: "diffusion-workbench/tiny-model-builder",
    architectures: ["T5EncoderModel"],
    classifier_dropout: 0.0,
    d_ff: config.dFf,
    d_kv: config.dKv,
    d_model: config.dModel,
    decoder_start_token_id: 0,
    dense_act_fn: "gelu_new",
    dropout_rate: 0.1,
    eos_token_id: 1,
    feed_forward_proj: "gated-gelu",
    initializer_factor: 1.0,
    is_encoder_decoder: true,
    is_gated_act: true,
    layer_norm_epsilon: config.layerNormEpsilon,
    model_type: "t5",
    num_decoder_layers: config.numLayers,
    num_heads: config.numHeads,
    num_layers: config.numLayers,
    output_past: true,
    pad_token_id: 0,
    relative_attention_max_distance: config.relativeAttentionMaxDistance,
    relative_attention_num_buckets: config.relativeAttentionNumBuckets,
    tie_word_embeddings: false,
    torch_dtype: "float32",
    transformers_version: "4.34.0",
    use_cache: true,
    vocab_size: config.vocabSize,
  };
}

/**
 * The shapes model's text encoder: token ids -> per-token attribute features (attributes.ts HIDDEN
 * layout), with colour words routed to the shape or the background by the next noun after them.
 *
 * Routing without a loop: with noun_j = 1 for shape words and "background" and C its cumulative sum
 * along the sequence, the first noun after token i is the j with C_j - C_i = 1 and noun_j = 1, so
 * "the next noun is background" = sum_j relu(1 - |C_j - C_i - 1|) * background_j (an [S, S] matrix
 * times a vector; background words are nouns, so noun_j needs no separate factor).
 */
import { GraphBuilder, attr, type Value } from "../graph.js";
import type { AxisNames, InputIdsType } from "../contract.js";
import { HIDDEN_SIZE, HIDDEN_USED, TOKEN_FEATURES, TOKEN_FEATURE_COUNT, shapesVocabSize, tokenFeatureTable } from "./attributes.js";

function reduceSum(g: GraphBuilder, x: Value, axis: number, keepdims: boolean): Value {
  return g.op("ReduceSum", [x, g.ints([axis])], { keepdims: attr.int(keepdims ? 1 : 0) });
}

/** [HIDDEN_USED, HIDDEN_SIZE]: places the routed features in the first channels, zeros after. */
function padMatrix(): Float32Array {
  const m = new Float32Array(HIDDEN_USED * HIDDEN_SIZE);
  for (let i = 0; i < HIDDEN_USED; i++) m[i * HIDDEN_SIZE + i] = 1;
  return m;
}

export function buildShapesTextEncoder(options: { inputIds: InputIdsType; axes: AxisNames }): GraphBuilder {
  const { axes } = options;
  const g = new GraphBuilder({ name: "ShapesTextEncoder", seed: 0, docString: "diffusion-workbench shapes model: analytic prompt reader (CLIPTextModel contract)" });
  const ids = g.input("input_ids", options.inputIds, [axes.batch, axes.sequence]);
  const table = g.initializer("shapes.token_features", "float32", [shapesVocabSize(), TOKEN_FEATURE_COUNT], tokenFeatureTable());
  const f = g.gather(table, ids); // [B, S, F]
  const cols = (start: number, count: number) => g.slice(f, [start], [start + count], [2]);

  const hidden = g.scope("route_colours", () => {
    const noun = reduceSum(g, cols(TOKEN_FEATURES.shapes, 7), 2, true); // 6 shapes + background, [B, S, 1]
    const counted = g.op("CumSum", [noun, g.constant("int64", [1], [])]);
    const diff = g.sub(g.sub(g.transpose(counted, [0, 2, 1]), counted), g.scalar(1)); // [B, S, S]: C_j - C_i - 1
    const nextIs = g.op("Relu", [g.sub(g.scalar(1), g.op("Abs", [diff]))]);
    const onBackground = g.matmul(nextIs, cols(TOKEN_FEATURES.background, 1)); // [B, S, 1]
    const colour = cols(TOKEN_FEATURES.rgb, 4); // rgb + colour count
    const fg = g.mul(colour, g.sub(g.scalar(1), onBackground));
    const bg = g.mul(colour, onBackground);
    const rest = cols(TOKEN_FEATURES.shapes, TOKEN_FEATURE_COUNT - TOKEN_FEATURES.shapes);
    const routed = g.concat([fg, bg, rest], 2); // HIDDEN layout, HIDDEN_USED channels
    return g.matmul(routed, g.initializer("shapes.pad", "float32", [HIDDEN_USED, HIDDEN_SIZE], padMatrix()));
  });
  // The attribute vector is the sum over the sequence; the UNet sums again, so padding carries nothing.
  const pooled = reduceSum(g, hidden, 1, false);
  g.output(hidden, "last_hidden_state", "float32", [axes.batch, axes.sequence, HIDDEN_SIZE]);
  g.output(pooled, "pooler_output", "float32", [axes.batch, HIDDEN_SIZE]);
  return g;
}


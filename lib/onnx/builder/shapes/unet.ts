/**
 * The shapes model's UNet: the ideal denoiser of a one-point data distribution. From the prompt's
 * attribute vector (the hidden states summed over the sequence) it builds the target latent x0
 * (target.ts is the same computation in TypeScript) and returns the noise that takes x0 to the
 * sample at this timestep:
 *
 *   x_t = sqrt(abar) x0 + sqrt(1 - abar) eps  =>  eps = (x_t - sqrt(abar) x0) / sqrt(1 - abar)
 *                                                    = (x_t sqrt(1 + sigma^2) - x0) / sigma,
 *
 * with abar = 1 / (1 + sigma^2). v-prediction returns v = sqrt(abar) eps - sqrt(1 - abar) x0
 * = (eps - sigma x0) / sqrt(1 + sigma^2). sigma comes from a 1000-entry log-sigma table,
 * interpolated linearly between the neighbouring integer timesteps: exactly how the Karras-sigma
 * schedulers turn a sigma into a fractional timestep (diffusers' `_sigma_to_t`), so the model
 * recovers their sigma.
 *
 * The target: the union of the named shape masks (constants, MASK_SIZE^2), scaled and moved onto
 * the h x w latent grid with GridSample (placement.ts), colours mixed as bg + m (fg - bg) and
 * mapped to latent channels (latent-map.ts).
 */
import { GraphBuilder, attr, type Value } from "../graph.js";
import type { AxisNames, TimestepContract } from "../contract.js";
import { HIDDEN, HIDDEN_SIZE } from "./attributes.js";
import { LATENT_CHANNELS, LATENT_GAIN, RGB_TO_LATENT } from "./latent-map.js";
import { MASK_SIZE, shapeMasks } from "./masks.js";
import { MEDIUM_SIDE, SIDE_PER_SIZE_STEP } from "./placement.js";
import { SHAPES_SCHEDULE, logSigmaTable } from "./schedule.js";
import { DEFAULT_BACKGROUND, DEFAULT_FOREGROUND, SHAPE_NAMES, type Rgb } from "./vocabulary.js";

export type ShapesPredictionType = "epsilon" | "v_prediction";

export interface ShapesUNetOptions {
  timestep: TimestepContract;
  axes: AxisNames;
  predictionType: ShapesPredictionType;
}

/** [3, 4]: [-1, 1] RGB row vector times this = scaled latent. */
function rgbToLatentMatrix(): Float32Array {
  const m = new Float32Array(3 * LATENT_CHANNELS);
  RGB_TO_LATENT.forEach((row, k) => row.forEach((q, c) => (m[c * LATENT_CHANNELS + k] = LATENT_GAIN * q)));
  return m;
}

const signed = (rgb: Rgb) => rgb.map((v) => 2 * v - 1);

class ShapesUNetGraph {
  readonly g = new GraphBuilder({ name: "ShapesUNet", seed: 0, docString: "diffusion-workbench shapes model: analytic ideal denoiser (UNet2DConditionModel contract)" });

  constructor(private readonly options: ShapesUNetOptions) {}

  private columns(v: Value, start: number, count: number): Value {
    return this.g.slice(v, [start], [start + count], [1]);
  }

  /** A part's colour in [-1, 1] RGB, [B, 3]: the average of its colour words, or `fallback` when none. */
  private colour(attributes: Value, rgbAt: number, countAt: number, fallback: Rgb): Value {
    const g = this.g;
    const sum = this.columns(attributes, rgbAt, 3);
    const count = this.columns(attributes, countAt, 1);
    const none = g.cast(g.op("Less", [count, g.scalar(0.5)]), "float32");
    const withDefault = g.add(sum, g.mul(none, g.constant("float32", signed(fallback))));
    return g.div(withDefault, g.op("Max", [count, g.scalar(1)]));
  }

  /** Sampling grid [B, h, w, 2] that puts the mask square where size and position say. */
  private grid(sample: Value, attributes: Value): Value {
    const g = this.g;
    const clamped = (at: number) => g.clip(this.columns(attributes, at, 1), -1, 1); // [B, 1]
    const hw = g.cast(g.shape(sample, 2, 4), "float32");
    const h = g.slice(hw, [0], [1], [0]);
    const w = g.slice(hw, [1], [2], [0]);
    const shorter = g.op("Min", [h, w]);
    const halfSide = g.mul(g.add(g.scalar(MEDIUM_SIDE), g.mul(clamped(HIDDEN.size), g.scalar(SIDE_PER_SIZE_STEP))), g.scalar(0.5));
    // One axis: normalized cell centres (2i + 1) / n - 1, then (u - centre) / extent per batch item, [B, n].
    const axis = (n: Value, position: Value) => {
      const half = g.div(g.mul(halfSide, shorter), n);
      const centre = g.mul(position, g.sub(g.scalar(1), g.mul(half, g.scalar(2))));
      const extent = g.mul(half, g.scalar(2));
      const index = g.op("Range", [g.scalar(0), g.reshape(n, []), g.scalar(1)]);
      const u = g.sub(g.div(g.add(g.mul(index, g.scalar(2)), g.scalar(1)), n), g.scalar(1));
      return g.div(g.sub(g.unsqueeze(u, [0]), centre), extent);
    };
    const xs = axis(w, clamped(HIDDEN.x));
    const ys = axis(h, clamped(HIDDEN.y));
    const gridShape = g.concat([g.shape(sample, 0, 1), g.shape(sample, 2, 4), g.ints([1])], 0);
    const gx = g.expand(g.unsqueeze(xs, [1, 3]), gridShape);
    const gy = g.expand(g.unsqueeze(ys, [2, 3]), gridShape);
    return g.concat([gx, gy], 3);
  }

  /** x0 in the pipeline's scaled latent space, [B, 4, h, w]. */
  private target(sample: Value, hiddenStates: Value): Value {
    const g = this.g;
    const attributes = g.op("ReduceSum", [hiddenStates, g.ints([1])], { keepdims: attr.int(0) }); // [B, HIDDEN_SIZE]
    const toLatent = g.initializer("shapes.rgb_to_latent", "float32", [3, LATENT_CHANNELS], rgbToLatentMatrix());
    const latentColour = (rgb: Value) => g.reshape(g.matmul(rgb, toLatent), [-1, LATENT_CHANNELS, 1, 1]);
    const fg = latentColour(this.colour(attributes, HIDDEN.fgRgb, HIDDEN.fgCount, DEFAULT_FOREGROUND));
    const bg = latentColour(this.colour(attributes, HIDDEN.bgRgb, HIDDEN.bgCount, DEFAULT_BACKGROUND));

    const masks = g.initializer("shapes.masks", "float32", [1, SHAPE_NAMES.length, MASK_SIZE, MASK_SIZE], shapeMasks());
    const present = g.reshape(g.clip(this.columns(attributes, HIDDEN.shapes, SHAPE_NAMES.length), 0, 1), [-1, SHAPE_NAMES.length, 1, 1]);
    const union = g.op("ReduceMax", [g.mul(present, masks)], { axes: attr.ints([1]), keepdims: attr.int(1) }); // [B, 1, M, M]
    const coverage = g.op("GridSample", [union, this.grid(sample, attributes)], {
      mode: attr.string("bilinear"),
      padding_mode: attr.string("zeros"),
      align_corners: attr.int(0),
    });
    return g.add(bg, g.mul(coverage, g.sub(fg, bg)));
  }

  /** sigma at (possibly fractional) timestep t, shaped to broadcast over [B, 4, h, w]. */
  private sigma(timestep: Value): Value {
    const g = this.g;
    const last = SHAPES_SCHEDULE.num_train_timesteps - 1;
    const table = g.initializer("shapes.log_sigmas", "float32", [SHAPES_SCHEDULE.num_train_timesteps], logSigmaTable());
    const t = g.clip(this.options.timestep === "int64-batch" ? g.cast(timestep, "float32") : timestep, 0, last);
    const low = g.op("Floor", [t]);
    const high = g.op("Min", [g.add(low, g.scalar(1)), g.scalar(last)]);
    const frac = g.sub(t, low);
    const a = g.gather(table, g.cast(low, "int64"));
    const b = g.gather(table, g.cast(high, "int64"));
    return g.reshape(g.exp(g.add(a, g.mul(frac, g.sub(b, a)))), [-1, 1, 1, 1]);
  }

  build(): GraphBuilder {
    const { g } = this;
    const { axes } = this.options;
    const sample = g.input("sample", "float32", [axes.batch, axes.unetChannels(LATENT_CHANNELS), axes.unetHeight, axes.unetWidth]);
    const timestep = g.input("timestep", this.options.timestep === "int64-batch" ? "int64" : "float32", axes.timestep);
    const hiddenStates = g.input("encoder_hidden_states", "float32", [axes.batch, axes.sequence, axes.featureDim(HIDDEN_SIZE)]);

    const x0 = g.scope("target", () => this.target(sample, hiddenStates));
    const out = g.scope("ideal_denoiser", () => {
      const sigma = this.sigma(timestep);
      const root = g.op("Sqrt", [g.add(g.scalar(1), g.mul(sigma, sigma))]);
      const eps = g.div(g.sub(g.mul(sample, root), x0), sigma);
      return this.options.predictionType === "epsilon" ? eps : g.div(g.sub(eps, g.mul(sigma, x0)), root);
    });
    g.output(out, "out_sample", "float32", [axes.batch, axes.unetChannels(LATENT_CHANNELS), axes.unetHeight, axes.unetWidth]);
    return g;
  }
}

export function buildShapesUNet(options: ShapesUNetOptions): GraphBuilder {
  return new ShapesUNetGraph(options).build();
}

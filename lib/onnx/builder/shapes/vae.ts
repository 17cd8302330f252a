/**
 * The shapes model's VAE: exact per-pixel linear maps between the 4 latent channels and RGB.
 * - decoder: `latent_sample` z (the pipeline has divided by scaling_factor) -> image in [-1, 1]
 *   = (scaling_factor / LATENT_GAIN) Q^T z, a 1x1 conv, then nearest x8 upsampling;
 * - encoder: 8x8 average pooling, then the 1x1 conv (LATENT_GAIN / scaling_factor) Q; outputs
 *   `latent_parameters` = [mean, logvar] with logvar -30 (the distribution is a point).
 * Q^T Q = I, so decode(encode(image)) = image for images constant on 8x8 blocks.
 */
import { GraphBuilder, attr, type Value } from "../graph.js";
import type { AxisNames } from "../contract.js";
import { LATENT_CHANNELS, LATENT_GAIN, RGB_TO_LATENT } from "./latent-map.js";

/** Image size / latent size. */
export const SHAPES_VAE_FACTOR = 8;
/** logvar of the encoder's output: exp(-30 / 2) ~ 3e-7, a point mass for any sampler. */
const POINT_LOGVAR = -30;

/** A 1x1 convolution without bias, weight [out, in] given element by element. */
function conv1x1(g: GraphBuilder, name: string, x: Value, out: number, inp: number, weight: (o: number, i: number) => number): Value {
  const w = new Float32Array(out * inp);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) w[o * inp + i] = weight(o, i);
  return g.conv(x, g.initializer(name, "float32", [out, inp, 1, 1], w), null, { kernel: 1 });
}

export function buildShapesVaeDecoder(options: { axes: AxisNames; scalingFactor: number }): GraphBuilder {
  const { axes } = options;
  const g = new GraphBuilder({ name: "ShapesVaeDecoder", seed: 0, docString: "diffusion-workbench shapes model: linear latent -> RGB (AutoencoderKL decoder contract)" });
  const z = g.input("latent_sample", "float32", [axes.batch, axes.latent.channels(LATENT_CHANNELS), axes.latent.height, axes.latent.width]);
  const scale = options.scalingFactor / LATENT_GAIN;
  const rgb = conv1x1(g, "shapes.latent_to_rgb", z, 3, LATENT_CHANNELS, (c, k) => scale * RGB_TO_LATENT[k][c]);
  const image = g.resizeNearest(rgb, [1, 1, SHAPES_VAE_FACTOR, SHAPES_VAE_FACTOR]);
  const f = SHAPES_VAE_FACTOR;
  g.output(image, "sample", "float32", [axes.batch, axes.image.channels(3), axes.decodedHeight(f), axes.decodedWidth(f)]);
  return g;
}

export function buildShapesVaeEncoder(options: { axes: AxisNames; scalingFactor: number }): GraphBuilder {
  const { axes } = options;
  const g = new GraphBuilder({ name: "ShapesVaeEncoder", seed: 0, docString: "diffusion-workbench shapes model: linear RGB -> latent (AutoencoderKL encoder contract)" });
  const image = g.input("sample", "float32", [axes.batch, axes.image.channels(3), axes.image.height, axes.image.width]);
  const f = SHAPES_VAE_FACTOR;
  const pooled = g.op("AveragePool", [image], { kernel_shape: attr.ints([f, f]), strides: attr.ints([f, f]) });
  const scale = LATENT_GAIN / options.scalingFactor;
  const mean = conv1x1(g, "shapes.rgb_to_latent", pooled, LATENT_CHANNELS, 3, (k, c) => scale * RGB_TO_LATENT[k][c]);
  const logvar = g.expand(g.scalar(POINT_LOGVAR), g.shape(mean));
  g.output(g.concat([mean, logvar], 1), "latent_parameters", "float32", [axes.batch, axes.latent.channels(2 * LATENT_CHANNELS), axes.encodedHeight(f), axes.encodedWidth(f)]);
  return g;
}

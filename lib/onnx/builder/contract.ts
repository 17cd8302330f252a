/**
 * The tensor-contract variants real Stable Diffusion ONNX exports come in, and the dynamic-axis
 * names each exporter writes (names as in optimum's `model_configs.py` / diffusers' legacy
 * `convert_stable_diffusion_checkpoint_to_onnx.py`). Loaders must build feeds from
 * `session.inputMetadata`; the built models exercise every variant.
 */
import type { Dim } from "./graph.js";

/** `input_ids` element type: int64 (optimum) or int32 (legacy diffusers script, Olive/AMD). */
export type InputIdsType = "int64" | "int32";

/**
 * UNet `timestep`: rank-0 float32 (optimum >= 1.24), int64 [B] (optimum 1.6-1.23) or float32 [B]
 * (legacy diffusers script). The dynamic-axis names follow the same exporter.
 */
export type TimestepContract = "float-scalar" | "int64-batch" | "float-batch";

/** VAE encoder output: `latent_parameters` (mean and logvar; current optimum) or a sampled `latent_sample`. */
export type VaeEncoderOutput = "latent_parameters" | "latent_sample";

export interface TensorContract {
  inputIds: InputIdsType;
  timestep: TimestepContract;
  vaeEncoderOutput: VaeEncoderOutput;
}

export const TIMESTEP_CONTRACTS = ["float-scalar", "int64-batch", "float-batch"] as const satisfies readonly TimestepContract[];
export const INPUT_IDS_TYPES = ["int64", "int32"] as const satisfies readonly InputIdsType[];
export const VAE_ENCODER_OUTPUTS = ["latent_parameters", "latent_sample"] as const satisfies readonly VaeEncoderOutput[];

/** Dims of each component's inputs and outputs, given static channel counts. */
export interface AxisNames {
  batch: string;
  sequence: string;
  /** UNet sample channels: static in current optimum, symbolic in older exports. */
  unetChannels: (channels: number) => Dim;
  unetHeight: string;
  unetWidth: string;
  timestep: readonly Dim[];
  /** encoder_hidden_states feature axis. */
  featureDim: (dim: number) => Dim;
  image: { channels: (c: number) => Dim; height: string; width: string };
  latent: { channels: (c: number) => Dim; height: string; width: string };
  /** VAE decoder output size in terms of the latent axes, and encoder latent size in terms of the image axes. */
  decodedHeight: (factor: number) => string;
  decodedWidth: (factor: number) => string;
  encodedHeight: (factor: number) => string;
  encodedWidth: (factor: number) => string;
}

const staticDim = (c: number): Dim => c;

/** Axis names written by the exporter that produces the given timestep contract. */
export function axisNames(timestep: TimestepContract): AxisNames {
  switch (timestep) {
    case "float-scalar": // optimum >= 1.24
      return {
        batch: "batch_size",
        sequence: "sequence_length",
        unetChannels: staticDim,
        unetHeight: "height",
        unetWidth: "width",
        timestep: [],
        featureDim: staticDim,
        image: { channels: staticDim, height: "sample_height", width: "sample_width" },
        latent: { channels: staticDim, height: "latent_height", width: "latent_width" },
        decodedHeight: (f) => `latent_height * ${f}`,
        decodedWidth: (f) => `latent_width * ${f}`,
        encodedHeight: (f) => `sample_height / ${f}`,
        encodedWidth: (f) => `sample_width / ${f}`,
      };
    case "int64-batch": // optimum 1.6 - 1.23
      return {
        batch: "batch_size",
        sequence: "sequence_length",
        unetChannels: () => "num_channels",
        unetHeight: "height",
        unetWidth: "width",
        timestep: ["steps"],
        featureDim: () => "feature_dim",
        image: { channels: () => "num_channels", height: "height", width: "width" },
        latent: { channels: () => "num_channels_latent", height: "height_latent", width: "width_latent" },
        decodedHeight: () => "height",
        decodedWidth: () => "width",
        encodedHeight: () => "height_latent",
        encodedWidth: () => "width_latent",
      };
    case "float-batch": // diffusers' legacy conversion script
      return {
        batch: "batch",
        sequence: "sequence",
        unetChannels: () => "channels",
        unetHeight: "height",
        unetWidth: "width",
        timestep: ["batch"],
        featureDim: staticDim,
        image: { channels: () => "channels", height: "height", width: "width" },
        latent: { channels: () => "channels", height: "height", width: "width" },
        decodedHeight: () => "decoded_height",
        decodedWidth: () => "decoded_width",
        encodedHeight: () => "latent_height",
        encodedWidth: () => "latent_width",
      };
  }
}

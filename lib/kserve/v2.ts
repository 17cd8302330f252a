/**
 * Open Inference Protocol (KServe V2) REST wire types of the text-to-image runtime, as zod schemas
 * (validation) with inferred types (client). The model's tensors:
 *
 * - inputs: `prompt` BYTES [N] (required); `negative_prompt`, `prompt_2`, `negative_prompt_2`,
 *   `prompt_3`, `negative_prompt_3` BYTES [N] or [1]; `image` BYTES [1] (image-to-image init image).
 * - parameters (request level): the scalar generation options (`num_inference_steps`, `seed`, ...),
 *   `output_format`, and the binary extension's `binary_data_output`.
 * - outputs: `image` BYTES [N * num_images_per_prompt]: base64 in JSON, raw bytes with the binary extension.
 */
import { z } from "zod";

/** Parameter values are scalars in the protocol. */
export const ParameterValueSchema = z.union([z.string(), z.number(), z.boolean()]);
export const ParametersSchema = z.record(z.string(), ParameterValueSchema);
export type Parameters = z.infer<typeof ParametersSchema>;

export const DATATYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"] as const;

export const RequestInputSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().min(0)),
  datatype: z.string(),
  parameters: ParametersSchema.optional(),
  /** Row-major, possibly nested; absent when the tensor travels in the binary tail. */
  data: z.array(z.unknown()).optional(),
});
export type RequestInput = z.infer<typeof RequestInputSchema>;

export const RequestOutputSchema = z.object({
  name: z.string().min(1),
  parameters: ParametersSchema.optional(),
});
export type RequestOutput = z.infer<typeof RequestOutputSchema>;

export const InferenceRequestSchema = z.object({
  id: z.string().optional(),
  parameters: ParametersSchema.optional(),
  inputs: z.array(RequestInputSchema).min(1),
  outputs: z.array(RequestOutputSchema).optional(),
});
export type InferenceRequest = z.infer<typeof InferenceRequestSchema>;

export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  /** Absent when the tensor is in the binary tail (`parameters.binary_data_size`). */
  data?: unknown[];
}

export interface InferenceResponse {
  model_name: string;
  model_version?: string | null;
  id: string;
  parameters?: Parameters;
  outputs: ResponseOutput[];
}

export interface MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadataResponse {
  name: string;
  versions?: string[];
  platform: string;
  inputs: MetadataTensor[];
  outputs: MetadataTensor[];
}

export interface ServerMetadataResponse {
  name: string;
  version: string;
  extensions: string[];
}

/** Tensor names the model reads; every one is BYTES. */
export const V2_PROMPT_INPUTS = ["prompt", "negative_prompt", "prompt_2", "negative_prompt_2", "prompt_3", "negative_prompt_3"] as const;
export const V2_INPUTS = [...V2_PROMPT_INPUTS, "image"] as const;
export type V2InputName = (typeof V2_INPUTS)[number];
export const V2_IMAGE_OUTPUT = "image";

/** Request parameters that are not generation options. */
export const V2_EXTRA_PARAMETERS = ["output_format", "binary_data_output"] as const;

/**
 * KServe V1 wire format of the text-to-image runtime, compatible with the seed's diffusers runtime
 * (`POST /v1/models/{name}:predict`, `{"instances": [...]}` -> `{"predictions": [...]}`). An instance
 * is the library's request (`GenerateOptionsSchema`, one prompt) plus `output_format`; the same
 * declarations type the client and validate on the server.
 */
import { z } from "zod";
import { InvalidInputError } from "../errors.js";
import { GenerateOptionsSchema, LIMITS, parseGenerateOptions, type GenerateOptions } from "../diffusion/options.js";

export const OUTPUT_FORMATS = ["PNG", "JPEG", "WEBP"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export const DEFAULT_OUTPUT_FORMAT: OutputFormat = "PNG";

/** One V1 instance: every generation option, one prompt per instance (one prediction each), and the image format. */
export const V1InstanceSchema = z.strictObject({
  ...GenerateOptionsSchema.shape,
  prompt: z.string().max(LIMITS.maxPromptChars),
  /** Image-to-image init image: base64 (or a data: URL) of a PNG, JPEG or WebP. */
  image: z.string().min(1).optional(),
  /** Encoding of the returned image(s); case-insensitive on the wire. */
  output_format: z.enum(OUTPUT_FORMATS).optional(),
});
export type V1Instance = z.input<typeof V1InstanceSchema>;

export const V1_INSTANCE_FIELDS: readonly string[] = Object.keys(V1InstanceSchema.shape);

export interface V1PredictRequest {
  instances: V1Instance[];
}

export interface V1Image {
  format: OutputFormat;
  b64: string;
}

/** Per-stage milliseconds of one prediction (its batch's stages when it ran in a batch). */
export interface V1Timings {
  queue_ms: number;
  text_encoding_ms: number;
  denoising_ms: number;
  decoding_ms: number;
  encoding_ms: number;
  total_ms: number;
  /** Requests that shared the denoiser batch (1 when it ran alone). */
  batch_size: number;
}

export interface V1Prediction {
  model_name: string;
  prompt: string;
  /** The (first) image, as the seed returned it. */
  image: V1Image;
  /** Every image when `num_images_per_prompt` > 1 (the first is also `image`). */
  images?: V1Image[];
  seed: number;
  scheduler: string;
  width: number;
  height: number;
  num_inference_steps: number;
  guidance_scale: number;
  timings: V1Timings;
}

export interface V1PredictResponse {
  predictions: V1Prediction[];
}

export interface V1ModelReady {
  name: string;
  ready: boolean;
}

/** The same error under a field path (`instances[2].width`), keeping its message and allowed values. */
export function withFieldPrefix(err: InvalidInputError, prefix: string): InvalidInputError {
  const head = `${err.field}: `;
  const tail = err.allowed === undefined ? "" : ` (allowed: ${err.allowed})`;
  let message = err.message.startsWith(head) ? err.message.slice(head.length) : err.message;
  if (tail && message.endsWith(tail)) message = message.slice(0, -tail.length);
  return new InvalidInputError(`${prefix}${err.field}`, message, err.allowed);
}

export interface ParsedInstance {
  options: GenerateOptions;
  outputFormat: OutputFormat;
}

/** Parse an output format name (png, jpeg/jpg, webp; any case). */
export function parseOutputFormat(value: unknown, field = "output_format"): OutputFormat {
  const v = typeof value === "string" ? value.trim().toUpperCase() : undefined;
  const name = v === "JPG" ? "JPEG" : v;
  if (name === undefined || !(OUTPUT_FORMATS as readonly string[]).includes(name)) {
    throw new InvalidInputError(field, `unknown output format ${JSON.stringify(value)}`, OUTPUT_FORMATS.join(", "));
  }
  return name as OutputFormat;
}

/** Validate instance `index` of a V1 request; errors name the field as `instances[i].field` and what is allowed. */
export function parseV1Instance(raw: unknown, index: number): ParsedInstance {
  const prefix = `instances[${index}].`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new InvalidInputError(`instances[${index}]`, "must be an object", `an object with fields ${V1_INSTANCE_FIELDS.join(", ")}`);
  }
  const { output_format, ...rest } = raw as Record<string, unknown>;
  const unknown = Object.keys(rest).filter((k) => !V1_INSTANCE_FIELDS.includes(k));
  if (unknown.length) {
    throw new InvalidInputError(
      `${prefix}${unknown.join(", ")}`,
      `unknown field${unknown.length > 1 ? "s" : ""}`,
      V1_INSTANCE_FIELDS.join(", "),
    );
  }
  if (rest.prompt === undefined) throw new InvalidInputError(`${prefix}prompt`, "is required", "a string");
  if (typeof rest.prompt !== "string") {
    throw new InvalidInputError(`${prefix}prompt`, "must be one string per instance", "a string; send one instance per prompt");
  }
  if (rest.image !== undefined && typeof rest.image !== "string") {
    throw new InvalidInputError(`${prefix}image`, "must be a base64 string", "base64 of a PNG, JPEG or WebP image");
  }
  try {
    return {
      options: parseGenerateOptions(rest),
      outputFormat: output_format === undefined ? DEFAULT_OUTPUT_FORMAT : parseOutputFormat(output_format),
    };
  } catch (err) {
    throw err instanceof InvalidInputError ? withFieldPrefix(err, prefix) : err;
  }
}

/** Validate the envelope: an object with a non-empty `instances` array (at most `maxInstances`). */
export function parseV1Envelope(body: unknown, maxInstances: number): unknown[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new InvalidInputError("request", "must be a JSON object", '{"instances": [{"prompt": "..."}, ...]}');
  }
  const { instances, ...others } = body as Record<string, unknown>;
  const extra = Object.keys(others);
  if (extra.length) throw new InvalidInputError(extra.join(", "), "unknown field", "instances");
  if (!Array.isArray(instances) || instances.length === 0) {
    throw new InvalidInputError("instances", "must be a non-empty array", `1 to ${maxInstances} instance objects`);
  }
  if (instances.length > maxInstances) {
    throw new InvalidInputError("instances", `${instances.length} instances in one request`, `1 to ${maxInstances}`);
  }
  return instances;
}

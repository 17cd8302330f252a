/**
 * Between HTTP bodies and the model: decoding V1 and V2 requests into typed generation requests,
 * encoding results into V1 predictions and V2 responses (JSON or the binary-data extension), as
 * KServe's DataPlane `decode` / `encode` do. No HTTP framework here: bytes and headers in and out.
 */
import { randomUUID } from "node:crypto";
import { GenerateOptionsSchema, InvalidInputError, parseGenerateOptions, type GenerateOptions } from "../../lib/index.js";
import {
  BINARY_CONTENT_TYPE,
  BinaryTailReader,
  INFERENCE_HEADER_CONTENT_LENGTH,
  decodeBytesTensor,
  encodeBytesTensor,
  splitBinaryBody,
} from "../../lib/kserve/binary.js";
import { DEFAULT_OUTPUT_FORMAT, parseOutputFormat, parseV1Envelope, parseV1Instance, withFieldPrefix, type OutputFormat, type ParsedInstance, type V1Prediction } from "../../lib/kserve/v1.js";
import {
  InferenceRequestSchema,
  V2_EXTRA_PARAMETERS,
  V2_IMAGE_OUTPUT,
  V2_INPUTS,
  V2_PROMPT_INPUTS,
  type InferenceResponse,
  type Parameters,
} from "../../lib/kserve/v2.js";
import { CONTENT_TYPES } from "./encode-image.js";
import { UnsupportedMediaTypeError } from "./errors.js";
import type { JobResult } from "./queue.js";
import type { ResolvedOptions } from "./worker-protocol.js";

export type Headers = Record<string, string | string[] | undefined>;

const JSON_TYPES = "application/json, application/cloudevents+json, application/ld+json, or none";

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** JSON content types KServe's dataplane reads (and none at all, which clients such as curl -T send). */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(";")[0].trim().toLowerCase();
  return type === "" || type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

export function parseJsonBody(body: Buffer | undefined, headers: Headers): unknown {
  const contentType = header(headers, "content-type");
  if (!isJson(contentType)) throw new UnsupportedMediaTypeError(contentType!, JSON_TYPES);
  if (!body || body.length === 0) throw new InvalidInputError("request", "the body is empty", "a JSON object");
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new InvalidInputError("request", `Unrecognized request format: ${(err as Error).message}`, "a JSON object");
  }
}

// --- V1 ----------------------------------------------------------------------------------------

export function decodeV1(body: Buffer | undefined, headers: Headers, maxInstances: number): ParsedInstance[] {
  return parseV1Envelope(parseJsonBody(body, headers), maxInstances).map((raw, i) => parseV1Instance(raw, i));
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export function encodeV1(modelName: string, options: ResolvedOptions, format: OutputFormat, r: JobResult): V1Prediction {
  const images = r.output.images.map((bytes) => ({ format, b64: Buffer.from(bytes).toString("base64") }));
  return {
    model_name: modelName,
    prompt: Array.isArray(options.prompt) ? options.prompt.join("\n") : options.prompt,
    image: images[0],
    ...(images.length > 1 ? { images } : {}),
    seed: r.output.seed,
    scheduler: r.output.scheduler,
    width: options.width,
    height: options.height,
    num_inference_steps: options.num_inference_steps,
    guidance_scale: options.guidance_scale,
    timings: {
      queue_ms: round(r.queueMs),
      text_encoding_ms: round(r.timings.textEncodingMs),
      denoising_ms: round(r.timings.denoisingMs),
      decoding_ms: round(r.timings.decodingMs),
      encoding_ms: round(r.timings.encodingMs),
      total_ms: round(r.queueMs + r.timings.totalMs),
      batch_size: r.batchSize,
    },
  };
}

// --- V2 ----------------------------------------------------------------------------------------

export interface DecodedV2 {
  id: string;
  options: GenerateOptions;
  outputFormat: OutputFormat;
  binaryOutput: boolean;
}

const GENERATION_FIELDS = Object.keys(GenerateOptionsSchema.shape);
/** Options that travel as input tensors, not parameters. */
const TENSOR_FIELDS: readonly string[] = V2_INPUTS;
const PARAMETER_FIELDS = [...GENERATION_FIELDS.filter((f) => !TENSOR_FIELDS.includes(f)), ...V2_EXTRA_PARAMETERS];

/** Generation options arrive as input tensors (prompts, image) or as request parameters (the rest). */
export function v2FieldPrefix(field: string): string {
  return TENSOR_FIELDS.includes(field.split(/[.[]/)[0]) ? "inputs." : "parameters.";
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Decode a V2 infer body (JSON, or JSON header + binary tail) into one generation request. */
export function decodeV2(body: Buffer | undefined, headers: Headers, maxPrompts: number): DecodedV2 {
  const headerLength = header(headers, INFERENCE_HEADER_CONTENT_LENGTH);
  let raw: unknown;
  let tail: BinaryTailReader | undefined;
  if (headerLength !== undefined) {
    const parts = splitBinaryBody(body ?? Buffer.alloc(0), headerLength);
    tail = new BinaryTailReader(parts.tail);
    raw = parseJsonBody(parts.json, { "content-type": "application/json" });
  } else {
    const contentType = header(headers, "content-type");
    if (contentType?.split(";")[0].trim().toLowerCase() === BINARY_CONTENT_TYPE) {
      throw new InvalidInputError(
        "Inference-Header-Content-Length",
        "received byte inputs, but the 'Inference-Header-Content-Length' header is missing",
        "the length of the JSON header of a binary-extension body",
      );
    }
    raw = parseJsonBody(body, headers);
  }
  const parsed = InferenceRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(issue.path.map(String).join(".") || "request", issue.message, "an Open Inference Protocol inference request");
  }
  const req = parsed.data;
  const options: Record<string, unknown> = {};
  let promptCount = 0;
  for (const input of req.inputs) {
    const field = `inputs.${input.name}`;
    if (!(V2_INPUTS as readonly string[]).includes(input.name)) {
      throw new InvalidInputError(field, "unknown input tensor", V2_INPUTS.join(", "));
    }
    if (input.name in options) throw new InvalidInputError(field, "given twice", "each input once");
    if (input.datatype !== "BYTES") throw new InvalidInputError(`${field}.datatype`, `'${input.datatype}' is not BYTES`, "BYTES");
    let elements: Array<Buffer | string>;
    if (input.data !== undefined) {
      elements = input.data.flat(Infinity).map((d) => {
        if (typeof d !== "string") throw new InvalidInputError(`${field}.data`, `element ${JSON.stringify(d)} is not a string`, "strings");
        return d;
      });
    } else if (input.parameters?.binary_data_size !== undefined && tail) {
      elements = decodeBytesTensor(tail.take(input.parameters.binary_data_size, field), field);
    } else {
      throw new InvalidInputError(`${field}.data`, "is missing", "data, or parameters.binary_data_size with the binary extension");
    }
    if (elementCount(input.shape) !== elements.length) {
      throw new InvalidInputError(`${field}.shape`, `[${input.shape.join(", ")}] does not match its ${elements.length} elements`, `[${elements.length}]`);
    }
    if (input.name === "image") {
      if (elements.length !== 1) throw new InvalidInputError(field, `${elements.length} images`, "one init image, shape [1]");
      const [e] = elements;
      // JSON carries base64 text; the binary extension carries the encoded image itself.
      options.image = typeof e === "string" ? e : new Uint8Array(e);
      continue;
    }
    const texts = elements.map((e) => (typeof e === "string" ? e : e.toString("utf8")));
    if (input.name === "prompt") promptCount = texts.length;
    options[input.name] = input.name === "prompt" || texts.length > 1 ? texts : texts[0];
  }
  if (!("prompt" in options)) throw new InvalidInputError("inputs.prompt", "is required", "a BYTES tensor [N] of prompts");
  if (promptCount === 0 || promptCount > maxPrompts) {
    throw new InvalidInputError("inputs.prompt", `${promptCount} prompts`, `1 to ${maxPrompts} (MAX_INSTANCES)`);
  }
  for (const name of V2_PROMPT_INPUTS) {
    const v = options[name];
    if (name !== "prompt" && Array.isArray(v) && v.length !== promptCount) {
      throw new InvalidInputError(`inputs.${name}`, `${v.length} elements for ${promptCount} prompts`, `[1] or [${promptCount}]`);
    }
  }
  const params: Parameters = req.parameters ?? {};
  let outputFormat = DEFAULT_OUTPUT_FORMAT;
  let binaryOutput = false;
  for (const [k, v] of Object.entries(params)) {
    if (k === "output_format") outputFormat = parseOutputFormat(v, "parameters.output_format");
    else if (k === "binary_data_output") {
      if (typeof v !== "boolean") throw new InvalidInputError("parameters.binary_data_output", `'${String(v)}' is not a boolean`, "true, false");
      binaryOutput = v;
    } else if (PARAMETER_FIELDS.includes(k)) options[k] = v;
    else throw new InvalidInputError(`parameters.${k}`, "unknown parameter", PARAMETER_FIELDS.join(", "));
  }
  for (const out of req.outputs ?? []) {
    if (out.name !== V2_IMAGE_OUTPUT) throw new InvalidInputError(`outputs.${out.name}`, "unknown output tensor", V2_IMAGE_OUTPUT);
    const b = out.parameters?.binary_data;
    if (b !== undefined) {
      if (typeof b !== "boolean") throw new InvalidInputError(`outputs.${out.name}.parameters.binary_data`, `'${String(b)}' is not a boolean`, "true, false");
      binaryOutput = b;
    }
  }
  let generate: GenerateOptions;
  try {
    generate = parseGenerateOptions(options);
  } catch (err) {
    if (err instanceof InvalidInputError) throw withFieldPrefix(err, v2FieldPrefix(err.field));
    throw err;
  }
  return { id: req.id ?? randomUUID(), options: generate, outputFormat, binaryOutput };
}

export interface EncodedV2 {
  body: Buffer | InferenceResponse;
  headers: Record<string, string>;
}

export function encodeV2(modelName: string, d: DecodedV2, options: ResolvedOptions, r: JobResult): EncodedV2 {
  const images = r.output.images.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const parameters: Parameters = {
    seed: r.output.seed,
    scheduler: r.output.scheduler,
    width: options.width,
    height: options.height,
    num_inference_steps: options.num_inference_steps,
    guidance_scale: options.guidance_scale,
    output_format: d.outputFormat,
    queue_ms: round(r.queueMs),
    text_encoding_ms: round(r.timings.textEncodingMs),
    denoising_ms: round(r.timings.denoisingMs),
    decoding_ms: round(r.timings.decodingMs),
    encoding_ms: round(r.timings.encodingMs),
    total_ms: round(r.queueMs + r.timings.totalMs),
    batch_size: r.batchSize,
  };
  const outParams: Parameters = { content_type: CONTENT_TYPES[d.outputFormat] };
  const response: InferenceResponse = { model_name: modelName, model_version: null, id: d.id, parameters, outputs: [] };
  if (!d.binaryOutput) {
    response.outputs.push({
      name: V2_IMAGE_OUTPUT,
      shape: [images.length],
      datatype: "BYTES",
      parameters: outParams,
      data: images.map((b) => b.toString("base64")),
    });
    return { body: response, headers: {} };
  }
  const raw = encodeBytesTensor(images);
  response.outputs.push({
    name: V2_IMAGE_OUTPUT,
    shape: [images.length],
    datatype: "BYTES",
    parameters: { ...outParams, binary_data_size: raw.length },
  });
  const json = Buffer.from(JSON.stringify(response));
  return {
    body: Buffer.concat([json, raw]),
    headers: { "content-type": BINARY_CONTENT_TYPE, [INFERENCE_HEADER_CONTENT_LENGTH]: String(json.length) },
  };
}

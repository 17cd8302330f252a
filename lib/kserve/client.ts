/**
 * A typed client for the runtime's two protocols (KServe V1 and the Open Inference Protocol V2), on
 * undici: a timeout per attempt, retries on 503 and 429 honouring `Retry-After` (and on refused
 * connections, where nothing was sent), and an optional bearer token (OpenShift AI puts an
 * oauth-proxy / Authorino in front of protected InferenceServices). The notebooks and the MCP server
 * call the runtime through it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { request, type Dispatcher } from "undici";
import { KServeError } from "./errors.js";
import { BINARY_CONTENT_TYPE, BinaryTailReader, INFERENCE_HEADER_CONTENT_LENGTH, decodeBytesTensor, encodeBytesTensor, splitBinaryBody } from "./binary.js";
import type { OutputFormat, V1Image, V1Instance, V1Prediction, V1PredictResponse } from "./v1.js";
import type {
  InferenceRequest,
  InferenceResponse,
  ModelMetadataResponse,
  Parameters,
  ResponseOutput,
  ServerMetadataResponse,
} from "./v2.js";

export interface KServeClientOptions {
  /** Base URL of the runtime: `http://<isvc>-predictor.<ns>.svc.cluster.local:8080`, or its route. */
  url: string;
  /** The InferenceService name the runtime serves under (its `--model_name`); default "model". */
  modelName?: string;
  /** Bearer token for protected endpoints (e.g. `oc whoami -t`, or a service account token). */
  token?: string;
  /** Limit per attempt, headers and body included; default 10 minutes (a CPU generation takes minutes). */
  timeoutMs?: number;
  /** Extra attempts after a 503/429 or a refused connection; default 3. */
  retries?: number;
  /** First back-off when the server gives no Retry-After (doubles each time); default 500 ms. */
  retryBaseMs?: number;
  /** Longest wait between attempts, Retry-After included; default 30 s. */
  maxRetryDelayMs?: number;
  /** An undici dispatcher (Agent, Pool, MockAgent) instead of the global one. */
  dispatcher?: Dispatcher;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** A V2 output with BYTES elements decoded (strings in JSON mode, Buffers in binary mode). */
export interface DecodedOutput extends ResponseOutput {
  data: unknown[];
}

export interface DecodedInferenceResponse extends Omit<InferenceResponse, "outputs"> {
  outputs: DecodedOutput[];
}

export interface GeneratedImages {
  /** The encoded images, in order. */
  images: Buffer[];
  format: OutputFormat;
  seed: number;
  prediction: V1Prediction;
}

const DEFAULTS = { modelName: "model", timeoutMs: 600_000, retries: 3, retryBaseMs: 500, maxRetryDelayMs: 30_000 };
const RETRY_STATUSES = new Set([429, 503]);
/** Errors where the request cannot have reached the server, so sending it again is safe. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Seconds or an HTTP date, as RFC 9110 section 10.2.3 allows; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === "") return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function errorText(body: Buffer): string {
  const text = body.toString("utf8");
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed?.error === "string") return parsed.error;
  } catch {
    // not JSON: the raw text below
  }
  return text.slice(0, 2000);
}

function header(headers: RawResponse["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class KServeClient {
  readonly url: string;
  readonly modelName: string;
  private readonly o: Required<Omit<KServeClientOptions, "token" | "dispatcher">> & Pick<KServeClientOptions, "token" | "dispatcher">;

  constructor(options: KServeClientOptions) {
    this.o = { ...DEFAULTS, ...options };
    this.url = options.url.replace(/\/+$/, "");
    this.modelName = this.o.modelName;
  }

  // --- health and metadata -------------------------------------------------------------------

  /** `GET /v2/health/live`: the server process answers. */
  async live(call: CallOptions = {}): Promise<boolean> {
    return (await this.send("GET", "/v2/health/live", { ...call, retry: false, accept: [200, 503] })).status === 200;
  }

  /** `GET /v2/health/ready`: the model is loaded and the server takes requests. */
  async ready(call: CallOptions = {}): Promise<boolean> {
    return (await this.send("GET", "/v2/health/ready", { ...call, retry: false, accept: [200, 503] })).status === 200;
  }

  /** `GET /v1/models/{name}`: `{name, ready}`; false while loading. */
  async modelReady(call: CallOptions = {}): Promise<boolean> {
    return (await this.send("GET", `/v1/models/${this.modelName}`, { ...call, retry: false, accept: [200, 503] })).status === 200;
  }

  /** Poll readiness until the model is loaded or `timeoutMs` passes (then a KServeError with status 503). */
  async waitUntilReady(options: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    for (;;) {
      try {
        if (await this.ready({ signal: options.signal })) return;
      } catch (err) {
        if (!(err instanceof KServeError) || err.status !== 0) throw err;
      }
      if (Date.now() > deadline) throw new KServeError(503, `${this.url}: not ready after ${options.timeoutMs ?? 600_000} ms`);
      await sleep(options.intervalMs ?? 1000, undefined, { signal: options.signal });
    }
  }

  async serverMetadata(call: CallOptions = {}): Promise<ServerMetadataResponse> {
    return this.json(await this.send("GET", "/v2", call));
  }

  async modelMetadata(call: CallOptions = {}): Promise<ModelMetadataResponse> {
    return this.json(await this.send("GET", `/v2/models/${this.modelName}`, call));
  }

  async models(call: CallOptions = {}): Promise<string[]> {
    return this.json<{ models: string[] }>(await this.send("GET", "/v1/models", call)).models;
  }

  // --- KServe V1 -----------------------------------------------------------------------------

  /** `POST /v1/models/{name}:predict`: one prediction per instance, in order. */
  async predict(instances: V1Instance[], call: CallOptions = {}): Promise<V1PredictResponse> {
    const body = Buffer.from(JSON.stringify({ instances }));
    return this.json(await this.send("POST", `/v1/models/${this.modelName}:predict`, { ...call, body, contentType: "application/json" }));
  }

  /** One instance through V1, its images decoded from base64. */
  async generate(instance: V1Instance, call: CallOptions = {}): Promise<GeneratedImages> {
    const [prediction] = (await this.predict([instance], call)).predictions;
    const all: V1Image[] = prediction.images ?? [prediction.image];
    return {
      images: all.map((i) => Buffer.from(i.b64, "base64")),
      format: prediction.image.format,
      seed: prediction.seed,
      prediction,
    };
  }

  // --- Open Inference Protocol V2 ------------------------------------------------------------

  /**
   * `POST /v2/models/{name}/infer`. With `binaryInputs`, BYTES inputs whose data are strings or bytes
   * travel in the binary tail; with `binaryOutputs`, outputs come back as raw bytes (`binary_data_output`).
   * BYTES outputs are returned decoded: Buffers in binary mode, strings (base64 images) in JSON mode.
   */
  async infer(
    req: InferenceRequest,
    options: CallOptions & { binaryInputs?: boolean; binaryOutputs?: boolean } = {},
  ): Promise<DecodedInferenceResponse> {
    const parameters: Parameters = { ...req.parameters, ...(options.binaryOutputs ? { binary_data_output: true } : {}) };
    const payload: InferenceRequest = { ...req, ...(Object.keys(parameters).length ? { parameters } : {}) };
    let body: Buffer;
    let extraHeaders: Record<string, string> = {};
    let contentType = "application/json";
    if (options.binaryInputs) {
      const tails: Buffer[] = [];
      payload.inputs = req.inputs.map((input) => {
        if (input.datatype !== "BYTES" || input.data === undefined) return input;
        const raw = encodeBytesTensor(input.data.flat(Infinity).map((d) => (typeof d === "string" ? Buffer.from(d) : (d as Uint8Array))));
        tails.push(raw);
        const { data: _data, ...rest } = input;
        return { ...rest, parameters: { ...input.parameters, binary_data_size: raw.length } };
      });
      const json = Buffer.from(JSON.stringify(payload));
      body = Buffer.concat([json, ...tails]);
      extraHeaders = { [INFERENCE_HEADER_CONTENT_LENGTH]: String(json.length) };
      contentType = BINARY_CONTENT_TYPE;
    } else {
      body = Buffer.from(JSON.stringify(payload));
    }
    const res = await this.send("POST", `/v2/models/${this.modelName}/infer`, { ...options, body, contentType, headers: extraHeaders });
    return decodeInferResponse(res);
  }

  /** Prompts through V2; the images come back as raw bytes (binary extension) unless `binary` is false. */
  async generateV2(
    prompts: string[],
    parameters: Parameters = {},
    options: CallOptions & { negativePrompts?: string[]; binary?: boolean } = {},
  ): Promise<{ images: Buffer[]; parameters: Parameters }> {
    const inputs: InferenceRequest["inputs"] = [{ name: "prompt", datatype: "BYTES", shape: [prompts.length], data: prompts }];
    if (options.negativePrompts) {
      inputs.push({ name: "negative_prompt", datatype: "BYTES", shape: [options.negativePrompts.length], data: options.negativePrompts });
    }
    const binary = options.binary ?? true;
    const res = await this.infer({ inputs, parameters }, { signal: options.signal, binaryOutputs: binary });
    const out = res.outputs.find((o) => o.name === "image");
    if (!out) throw new KServeError(200, "the response has no 'image' output");
    const images = out.data.map((d) => (Buffer.isBuffer(d) ? d : Buffer.from(String(d), "base64")));
    return { images, parameters: res.parameters ?? {} };
  }

  // --- transport -----------------------------------------------------------------------------

  private json<T>(res: RawResponse): T {
    return JSON.parse(res.body.toString("utf8")) as T;
  }

  private async send(
    method: "GET" | "POST",
    path: string,
    o: CallOptions & { body?: Buffer; contentType?: string; headers?: Record<string, string>; retry?: boolean; accept?: number[] },
  ): Promise<RawResponse> {
    const headers: Record<string, string> = { accept: "application/json", ...o.headers };
    if (o.contentType) headers["content-type"] = o.contentType;
    if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
    const attempts = o.retry === false ? 1 : this.o.retries + 1;
    for (let attempt = 1; ; attempt++) {
      let res: RawResponse | undefined;
      let failure: unknown;
      const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(this.o.timeoutMs)]) : AbortSignal.timeout(this.o.timeoutMs);
      try {
        const r = await request(`${this.url}${path}`, {
          method,
          headers,
          body: o.body,
          signal,
          ...(this.o.dispatcher ? { dispatcher: this.o.dispatcher } : {}),
          // The whole-attempt signal above bounds the call; undici's own 300 s idle limits would cut a long generation.
          headersTimeout: 0,
          bodyTimeout: 0,
        });
        res = { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
      } catch (err) {
        if (o.signal?.aborted) throw err;
        failure = err;
      }
      if (res && (res.status < 400 || o.accept?.includes(res.status))) return res;
      const code = (failure as { code?: string } | undefined)?.code ?? (failure as { cause?: { code?: string } } | undefined)?.cause?.code;
      const retryable = res ? RETRY_STATUSES.has(res.status) : code !== undefined && NOT_SENT.has(code);
      if (!retryable || attempt >= attempts) {
        if (res) throw new KServeError(res.status, `${method} ${path}: ${res.status} ${errorText(res.body)}`, errorText(res.body));
        const timedOut = (failure as Error)?.name === "TimeoutError";
        throw new KServeError(
          0,
          `${method} ${path}: ${timedOut ? `no answer within ${this.o.timeoutMs} ms` : ((failure as Error)?.message ?? String(failure))}`,
          undefined,
          { cause: failure },
        );
      }
      const backoff = this.o.retryBaseMs * 2 ** (attempt - 1);
      const wait = Math.min(this.o.maxRetryDelayMs, (res ? parseRetryAfter(res.headers["retry-after"]) : undefined) ?? backoff);
      await sleep(wait, undefined, o.signal ? { signal: o.signal } : undefined);
    }
  }
}

/** A V2 infer answer, JSON or binary-extension, with BYTES outputs decoded. */
export function decodeInferResponse(res: { headers: Record<string, string | string[] | undefined>; body: Buffer }): DecodedInferenceResponse {
  const headerLength = header(res.headers, INFERENCE_HEADER_CONTENT_LENGTH);
  if (headerLength === undefined) {
    const parsed = JSON.parse(res.body.toString("utf8")) as InferenceResponse;
    return { ...parsed, outputs: parsed.outputs.map((o) => ({ ...o, data: o.data ?? [] })) };
  }
  const { json, tail } = splitBinaryBody(res.body, headerLength);
  const parsed = JSON.parse(json.toString("utf8")) as InferenceResponse;
  const reader = new BinaryTailReader(tail);
  const outputs = parsed.outputs.map((o): DecodedOutput => {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) return { ...o, data: o.data ?? [] };
    const raw = reader.take(size, o.name);
    return { ...o, data: o.datatype === "BYTES" ? decodeBytesTensor(raw, o.name) : [raw] };
  });
  return { ...parsed, outputs };
}

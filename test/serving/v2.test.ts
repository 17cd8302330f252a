import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INFERENCE_HEADER_CONTENT_LENGTH,
  decodeBytesTensor,
  decodeInferResponse,
  encodeBytesTensor,
  loadPipeline,
  resolveModel,
  silentLogger,
  type TextToImagePipeline,
} from "../../lib/index.js";
import { raw, startServer, type TestServer } from "./runtime-helpers.js";

let server: TestServer;
let pipe: TextToImagePipeline;
let infer: string;
const PARAMS = { num_inference_steps: 2, width: 64, height: 64 };

beforeAll(async () => {
  server = await startServer();
  infer = `${server.url}/v2/models/model/infer`;
  pipe = await loadPipeline((await resolveModel("shapes")).dir, { providers: ["cpu"], logger: silentLogger });
});
afterAll(async () => {
  await server?.close();
  await pipe?.dispose();
});

const pixels = (png: Buffer) => sharp(png).removeAlpha().raw().toBuffer();

describe("Open Inference Protocol V2 routes", () => {
  it("answers server metadata, liveness, readiness, model metadata and model readiness", async () => {
    const meta = (await raw(`${server.url}/v2`, "GET")).json();
    expect(meta).toMatchObject({ name: "diffusion-workbench", extensions: ["binary_tensor_data"] });
    expect((await raw(`${server.url}/v2/health/live`, "GET")).json()).toEqual({ live: true });
    expect((await raw(`${server.url}/v2/health/ready`, "GET")).json()).toEqual({ ready: true });
    const model = (await raw(`${server.url}/v2/models/model`, "GET")).json();
    expect(model.name).toBe("model");
    expect(model.inputs[0]).toEqual({ name: "prompt", datatype: "BYTES", shape: [-1] });
    expect(model.outputs).toEqual([{ name: "image", datatype: "BYTES", shape: [-1] }]);
    expect((await raw(`${server.url}/v2/models/model/ready`, "GET")).json()).toEqual({ name: "model", ready: true });
    expect((await raw(`${server.url}/v2/models/other/ready`, "GET")).status).toBe(404);
    expect((await raw(`${server.url}/v2/models/other`, "GET")).json()).toEqual({ error: "Model with name other does not exist." });
    expect(await server.client.live()).toBe(true);
    expect(await server.client.ready()).toBe(true);
    expect((await server.client.modelMetadata()).platform).toMatch(/onnxruntime/);
  });

  it("generates a BYTES prompt tensor [N] in JSON: base64 images in order, the same as one library call", async () => {
    const body = {
      id: "req-1",
      inputs: [
        { name: "prompt", datatype: "BYTES", shape: [2], data: ["a red star", "a blue heart"] },
        { name: "negative_prompt", datatype: "BYTES", shape: [1], data: ["green"] },
      ],
      parameters: { ...PARAMS, seed: 5 },
    };
    const res = await raw(infer, "POST", JSON.stringify(body));
    expect(res.status).toBe(200);
    const out = res.json();
    expect(out).toMatchObject({ model_name: "model", id: "req-1", parameters: { seed: 5, width: 64, output_format: "PNG" } });
    expect(out.outputs[0]).toMatchObject({ name: "image", datatype: "BYTES", shape: [2], parameters: { content_type: "image/png" } });
    const direct = await pipe.generate({ prompt: ["a red star", "a blue heart"], negative_prompt: "green", seed: 5, ...PARAMS });
    for (let i = 0; i < 2; i++) {
      expect((await pixels(Buffer.from(out.outputs[0].data[i], "base64"))).equals(Buffer.from(direct.images[i].data))).toBe(true);
    }
  });

  it("returns raw image bytes with the binary-data extension (binary_data_output)", async () => {
    const body = { inputs: [{ name: "prompt", datatype: "BYTES", shape: [1], data: ["a white ring"] }], parameters: { ...PARAMS, seed: 1, binary_data_output: true } };
    const res = await raw(infer, "POST", JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/octet-stream");
    const jsonLength = Number(res.headers[INFERENCE_HEADER_CONTENT_LENGTH]);
    const header = JSON.parse(res.body.subarray(0, jsonLength).toString("utf8"));
    const size = header.outputs[0].parameters.binary_data_size;
    expect(header.outputs[0].data).toBeUndefined();
    expect(jsonLength + size).toBe(res.body.length);
    const [png] = decodeBytesTensor(res.body.subarray(jsonLength), "image");
    expect((await sharp(png).metadata()).format).toBe("png");
  });

  it("reads binary input tensors and honours per-output binary_data", async () => {
    const tensor = encodeBytesTensor([Buffer.from("a black square")]);
    const json = Buffer.from(
      JSON.stringify({
        inputs: [{ name: "prompt", datatype: "BYTES", shape: [1], parameters: { binary_data_size: tensor.length } }],
        outputs: [{ name: "image", parameters: { binary_data: true } }],
        parameters: { ...PARAMS, seed: 2, output_format: "webp" },
      }),
    );
    const res = await raw(infer, "POST", Buffer.concat([json, tensor]), {
      "content-type": "application/octet-stream",
      [INFERENCE_HEADER_CONTENT_LENGTH]: String(json.length),
    });
    expect(res.status).toBe(200);
    const decoded = decodeInferResponse(res);
    expect(decoded.parameters?.seed).toBe(2);
    expect((await sharp(decoded.outputs[0].data[0] as Buffer).metadata()).format).toBe("webp");
  });

  it("is called by the project's client in both forms", async () => {
    const bin = await server.client.generateV2(["a cyan circle", "a magenta star"], { ...PARAMS, seed: 9 });
    const json = await server.client.generateV2(["a cyan circle", "a magenta star"], { ...PARAMS, seed: 9 }, { binary: false });
    expect(bin.images).toHaveLength(2);
    expect(bin.images.map((b) => b.toString("base64"))).toEqual(json.images.map((b) => b.toString("base64")));
    const viaBinaryInputs = await server.client.infer(
      { inputs: [{ name: "prompt", datatype: "BYTES", shape: [1], data: ["a cyan circle"] }], parameters: { ...PARAMS, seed: 9 } },
      { binaryInputs: true, binaryOutputs: true },
    );
    expect((viaBinaryInputs.outputs[0].data[0] as Buffer).equals(bin.images[0])).toBe(true);
  });
});

describe("Open Inference Protocol V2 errors", () => {
  const post = (body: unknown) => raw(infer, "POST", JSON.stringify(body));
  const prompt = { name: "prompt", datatype: "BYTES", shape: [1], data: ["x"] };

  it("answers each bad request with 400 and a message naming the tensor or parameter", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ inputs: [] }, /^inputs: /],
      [{ inputs: [{ ...prompt, name: "text" }] }, /^inputs\.text: unknown input tensor \(allowed: prompt, negative_prompt/],
      [{ inputs: [{ ...prompt, datatype: "FP32" }] }, /^inputs\.prompt\.datatype: 'FP32' is not BYTES/],
      [{ inputs: [{ ...prompt, shape: [2] }] }, /^inputs\.prompt\.shape: \[2\] does not match its 1 elements/],
      [{ inputs: [{ name: "prompt", datatype: "BYTES", shape: [1] }] }, /^inputs\.prompt\.data: is missing/],
      [{ inputs: [{ ...prompt, data: [1] }] }, /^inputs\.prompt\.data: element 1 is not a string/],
      [{ inputs: [{ ...prompt, name: "negative_prompt" }] }, /^inputs\.prompt: is required/],
      [{ inputs: [prompt], parameters: { steps: 3 } }, /^parameters\.steps: unknown parameter \(allowed: num_inference_steps, /],
      [{ inputs: [prompt], parameters: { num_inference_steps: 5000 } }, /^parameters\.num_inference_steps: /],
      [{ inputs: [prompt], parameters: { scheduler: "nope" } }, /^parameters\.scheduler: unknown scheduler/],
      [{ inputs: [prompt], parameters: { binary_data_output: "yes" } }, /^parameters\.binary_data_output: /],
      [{ inputs: [prompt], outputs: [{ name: "latents" }] }, /^outputs\.latents: unknown output tensor \(allowed: image\)/],
      [{ inputs: [prompt, { ...prompt, name: "negative_prompt", shape: [3], data: ["a", "b", "c"] }] }, /^inputs\.negative_prompt: 3 elements for 1 prompts/],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json().error).toMatch(message);
    }
  });

  it("refuses malformed JSON, a binary body without its header length, and a header length past the body", async () => {
    expect((await raw(infer, "POST", "{")).status).toBe(400);
    const noHeader = await raw(infer, "POST", Buffer.from("abc"), { "content-type": "application/octet-stream" });
    expect(noHeader.status).toBe(400);
    expect(noHeader.json().error).toMatch(/Inference-Header-Content-Length/);
    const past = await raw(infer, "POST", Buffer.from("{}"), { [INFERENCE_HEADER_CONTENT_LENGTH]: "99" });
    expect(past.status).toBe(400);
    const json = Buffer.from(JSON.stringify({ inputs: [{ name: "prompt", datatype: "BYTES", shape: [1], parameters: { binary_data_size: 50 } }] }));
    const short = await raw(infer, "POST", Buffer.concat([json, Buffer.alloc(4)]), { [INFERENCE_HEADER_CONTENT_LENGTH]: String(json.length) });
    expect(short.status).toBe(400);
    expect(short.json().error).toMatch(/binary_data_size: 50 bytes asked for, 4 left/);
  });

  it("answers 404 with KServe's message for an unknown model", async () => {
    const res = await raw(`${server.url}/v2/models/other/infer`, "POST", JSON.stringify({ inputs: [prompt] }));
    expect([res.status, res.json()]).toEqual([404, { error: "Model with name other does not exist." }]);
  });
});

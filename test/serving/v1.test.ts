import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPipeline, readPngText, resolveModel, silentLogger, type TextToImagePipeline } from "../../lib/index.js";
import { raw, SMALL, startServer, type TestServer } from "./runtime-helpers.js";

let server: TestServer;
let pipe: TextToImagePipeline;
let predict: string;

beforeAll(async () => {
  server = await startServer({ MAX_BODY_MB: "1" });
  predict = `${server.url}/v1/models/model:predict`;
  pipe = await loadPipeline((await resolveModel("shapes")).dir, { providers: ["cpu"], logger: silentLogger });
});
afterAll(async () => {
  await server?.close();
  await pipe?.dispose();
});

async function pixels(b64: string): Promise<Buffer> {
  return sharp(Buffer.from(b64, "base64")).removeAlpha().raw().toBuffer();
}

describe("KServe V1 routes", () => {
  it("answers liveness, the model list and model readiness as KServe does", async () => {
    expect((await raw(`${server.url}/`, "GET")).json()).toEqual({ status: "alive" });
    expect((await raw(`${server.url}/v1/models`, "GET")).json()).toEqual({ models: ["model"] });
    const ready = await raw(`${server.url}/v1/models/model`, "GET");
    expect([ready.status, ready.json()]).toEqual([200, { name: "model", ready: true }]);
    const unknown = await raw(`${server.url}/v1/models/other`, "GET");
    expect([unknown.status, unknown.json()]).toEqual([404, { error: "Model with name other does not exist." }]);
  });

  it("takes the seed's exact request and returns the seed's response shape, with the library's image for the seed", async () => {
    const body = { instances: [{ prompt: "a red star on a blue background", num_inference_steps: 3, guidance_scale: 7.5, width: 64, height: 64, seed: 42 }] };
    const res = await raw(predict, "POST", JSON.stringify(body));
    expect(res.status).toBe(200);
    const { predictions } = res.json();
    expect(predictions).toHaveLength(1);
    const p = predictions[0];
    expect(Object.keys(p)).toEqual(expect.arrayContaining(["model_name", "prompt", "image", "seed", "timings"]));
    expect(p).toMatchObject({ model_name: "model", prompt: "a red star on a blue background", seed: 42, width: 64, height: 64, num_inference_steps: 3 });
    expect(p.image.format).toBe("PNG");
    expect(p.images).toBeUndefined();
    const direct = await pipe.generate(body.instances[0]);
    expect((await pixels(p.image.b64)).equals(Buffer.from(direct.images[0].data))).toBe(true);
    const text = await readPngText(Buffer.from(p.image.b64, "base64"));
    expect(text.seed).toBe("42");
    expect(text.prompt).toBe("a red star on a blue background");
  });

  it("generates every instance, one prediction each, in order", async () => {
    const prompts = ["a red circle", "a green square", "a blue triangle"];
    const res = await raw(predict, "POST", JSON.stringify({ instances: prompts.map((prompt, i) => ({ prompt, seed: i, ...SMALL })) }));
    const { predictions } = res.json();
    expect(predictions.map((p: { prompt: string }) => p.prompt)).toEqual(prompts);
    expect(predictions.map((p: { seed: number }) => p.seed)).toEqual([0, 1, 2]);
    for (const [i, p] of predictions.entries()) {
      const direct = await pipe.generate({ prompt: prompts[i], seed: i, ...SMALL });
      expect((await pixels(p.image.b64)).equals(Buffer.from(direct.images[0].data))).toBe(true);
    }
  });

  it("returns every image of num_images_per_prompt, a random seed when none is given, and JPEG or WebP on request", async () => {
    const res = await raw(
      predict,
      "POST",
      JSON.stringify({
        instances: [
          { prompt: "a pink heart", num_images_per_prompt: 2, ...SMALL },
          { prompt: "a pink heart", output_format: "jpeg", ...SMALL },
          { prompt: "a pink heart", output_format: "WEBP", ...SMALL },
        ],
      }),
    );
    const [two, jpeg, webp] = res.json().predictions;
    expect(two.images).toHaveLength(2);
    expect(two.image).toEqual(two.images[0]);
    expect(Number.isInteger(two.seed)).toBe(true);
    expect(jpeg.image.format).toBe("JPEG");
    expect((await sharp(Buffer.from(jpeg.image.b64, "base64")).metadata()).format).toBe("jpeg");
    expect((await sharp(Buffer.from(webp.image.b64, "base64")).metadata()).format).toBe("webp");
  });

  it("is called by the project's client", async () => {
    const out = await server.client.generate({ prompt: "a yellow ring", seed: 7, ...SMALL });
    expect(out.seed).toBe(7);
    expect(out.format).toBe("PNG");
    expect((await sharp(out.images[0]).metadata()).width).toBe(64);
    expect(await server.client.modelReady()).toBe(true);
    expect(await server.client.models()).toEqual(["model"]);
  });
});

describe("KServe V1 errors", () => {
  const post = (body: string | Buffer, headers?: Record<string, string>) => raw(predict, "POST", body, headers);

  it("refuses malformed JSON with 400 and KServe's message", async () => {
    const res = await post("{");
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(/^request: Unrecognized request format: /);
  });

  it("refuses a body that is not JSON with 415 naming the types it reads", async () => {
    const res = await post("prompt=x", { "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(415);
    expect(res.json().error).toContain("application/json");
  });

  it("refuses unknown fields, listing the known ones", async () => {
    const res = await post(JSON.stringify({ instances: [{ prompt: "x", promt: "y" }] }));
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(/^instances\[0\]\.promt: unknown field \(allowed: prompt, negative_prompt, .*output_format\)$/);
  });

  it("names the instance and the field of a bad value, with the allowed range", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ prompt: "x", num_inference_steps: 0 }, /^instances\[1\]\.num_inference_steps: .*allowed: an integer from 1 to 1000/],
      [{ prompt: "x", width: 65 }, /^instances\[1\]\.width: must be a multiple of 8/],
      [{ prompt: "x", scheduler: "nope" }, /^instances\[1\]\.scheduler: unknown scheduler "nope" \(allowed: PNDMScheduler/],
      [{ prompt: "x", output_format: "gif" }, /^instances\[1\]\.output_format: unknown output format "gif" \(allowed: PNG, JPEG, WEBP\)/],
      [{ prompt: ["a", "b"] }, /^instances\[1\]\.prompt: must be one string per instance/],
      [{ seed: 1 }, /^instances\[1\]\.prompt: is required/],
      [{ prompt: "x", strength: 0.5 }, /^instances\[1\]\.strength: /],
    ];
    for (const [instance, message] of cases) {
      const res = await post(JSON.stringify({ instances: [{ prompt: "fine", ...SMALL }, instance] }));
      expect(res.status, JSON.stringify(instance)).toBe(400);
      expect(res.json().error).toMatch(message);
    }
  });

  it("refuses an empty or missing instances list and extra top-level fields", async () => {
    for (const body of [{}, { instances: [] }, { instances: {} }, { instances: [{ prompt: "x" }], parameters: {} }, []]) {
      const res = await post(JSON.stringify(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(typeof res.json().error).toBe("string");
    }
  });

  it("answers 404 for an unknown model and an unknown verb", async () => {
    const res = await raw(`${server.url}/v1/models/other:predict`, "POST", JSON.stringify({ instances: [{ prompt: "x" }] }));
    expect([res.status, res.json()]).toEqual([404, { error: "Model with name other does not exist." }]);
    expect((await raw(`${server.url}/v1/models/model:explain`, "POST", "{}")).status).toBe(404);
    expect((await raw(`${server.url}/nowhere`, "GET")).json().error).toMatch(/^Not Found/);
  });

  it("refuses a body over MAX_BODY_MB with 413", async () => {
    const big = JSON.stringify({ instances: [{ prompt: "x", image: "A".repeat(1.5 * 1024 * 1024) }] });
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(typeof res.json().error).toBe("string");
  });

  it("carries a request id, given or generated", async () => {
    const given = await raw(`${server.url}/v1/models`, "GET", undefined, { "x-request-id": "abc-123" });
    expect(given.headers["x-request-id"]).toBe("abc-123");
    expect((await raw(`${server.url}/v1/models`, "GET")).headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});

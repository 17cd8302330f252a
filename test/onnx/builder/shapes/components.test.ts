/** Each ONNX graph of the shapes model against its closed form, run directly with ONNX Runtime. */
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HIDDEN_SIZE, HIDDEN_USED, attributeVector, shapesTokenIds } from "../../../../lib/onnx/builder/shapes/attributes.js";
import { LATENT_GAIN, RGB_TO_LATENT, SCALING_FACTOR } from "../../../../lib/onnx/builder/shapes/latent-map.js";
import { logSigmaTable } from "../../../../lib/onnx/builder/shapes/schedule.js";
import { shapesLatentTarget } from "../../../../lib/onnx/builder/shapes/target.js";
import { TorchGenerator } from "../../../../lib/diffusion/generator.js";
import { maxAbsDiff, shapesModel } from "../../../helpers/shapes.js";

const PROMPTS = [
  "a red star on a blue background",
  "a blue background with a red star",
  "a big yellow circle on the left on a black background",
  "a small green triangle at the top",
  "red and blue heart, ring, top left big",
  "a star, red",
  "a photorealistic zebra",
  "",
];

let dir: string;
const sessions: ort.InferenceSession[] = [];
async function open(component: string, folder = dir): Promise<ort.InferenceSession> {
  const s = await ort.InferenceSession.create(path.join(folder, component, "model.onnx"));
  sessions.push(s);
  return s;
}
beforeAll(async () => {
  dir = await shapesModel();
});
afterAll(async () => {
  for (const s of sessions) await s.release();
});

function randn(n: number, seed: number): Float32Array {
  return new TorchGenerator(seed).randn(n);
}

/** Hidden states [B, 77, H] for prompts, through the text encoder graph. */
async function encode(te: ort.InferenceSession, prompts: string[]): Promise<{ hidden: Float32Array; pooled: Float32Array }> {
  const ids = prompts.flatMap((p) => shapesTokenIds(p));
  const out = await te.run({ input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [prompts.length, 77]) });
  return { hidden: out.last_hidden_state.data as Float32Array, pooled: out.pooler_output.data as Float32Array };
}

describe("shapes text encoder", () => {
  it("outputs hidden states whose sum over the sequence is the prompt's attribute vector, and that sum as pooler_output", async () => {
    const te = await open("text_encoder");
    const { hidden, pooled } = await encode(te, PROMPTS);
    PROMPTS.forEach((p, b) => {
      const expected = attributeVector(shapesTokenIds(p));
      const sum = new Float64Array(HIDDEN_SIZE);
      for (let s = 0; s < 77; s++) for (let c = 0; c < HIDDEN_SIZE; c++) sum[c] += hidden[(b * 77 + s) * HIDDEN_SIZE + c];
      const padded = [...expected, ...new Array(HIDDEN_SIZE - HIDDEN_USED).fill(0)];
      expect(maxAbsDiff(sum, padded), p).toBeLessThan(1e-6);
      expect(maxAbsDiff(pooled.subarray(b * HIDDEN_SIZE, (b + 1) * HIDDEN_SIZE), padded), p).toBeLessThan(1e-6);
    });
  });

  it("gives bos, eos, padding and unknown words all-zero hidden states", async () => {
    const te = await open("text_encoder");
    const { hidden } = await encode(te, ["a photorealistic zebra"]);
    expect(hidden.every((v) => v === 0)).toBe(true);
  });
});

describe("shapes UNet: the ideal denoiser", () => {
  const h = 12;
  const w = 20;
  const prompts = ["an orange heart on a purple background", "a big white ring at the bottom right"];

  /** eps = (x sqrt(1 + sigma^2) - x0) / sigma, sigma interpolated in log space between integer timesteps. */
  function expectedEps(x: Float32Array, x0: Float32Array, t: number): Float64Array {
    const table = logSigmaTable();
    const lo = Math.floor(t);
    const hi = Math.min(lo + 1, 999);
    const sigma = Math.exp(table[lo] + (t - lo) * (table[hi] - table[lo]));
    return Float64Array.from(x, (v, i) => (v * Math.sqrt(1 + sigma * sigma) - x0[i]) / sigma);
  }

  async function run(unet: ort.InferenceSession, timestep: ort.Tensor, x: Float32Array) {
    const te = await open("text_encoder");
    const { hidden } = await encode(te, prompts);
    const out = await unet.run({
      sample: new ort.Tensor("float32", x, [2, 4, h, w]),
      timestep,
      encoder_hidden_states: new ort.Tensor("float32", hidden, [2, 77, HIDDEN_SIZE]),
    });
    return out.out_sample.data as Float32Array;
  }

  it("returns (x_t - sqrt(abar) x0) / sqrt(1 - abar) at integer and fractional timesteps (rank-0 float)", async () => {
    const unet = await open("unet");
    const x0 = new Float32Array([...shapesLatentTarget(prompts[0], h, w), ...shapesLatentTarget(prompts[1], h, w)]);
    for (const t of [999, 500, 1, 0, 37.25, 998.6]) {
      const x = randn(x0.length, 3);
      const eps = await run(unet, new ort.Tensor("float32", new Float32Array([t]), []), x);
      const expected = expectedEps(x, x0, t);
      // relative to the size of eps (up to ~1 / sigma_min = 34 at t = 0)
      const scale = Math.max(...expected.map(Math.abs));
      expect(maxAbsDiff(eps, expected) / scale, `t=${t}`).toBeLessThan(1e-5);
    }
  });

  it("predicts x0 exactly through the pipeline's own formula x0 = (x - sqrt(1 - abar) eps) / sqrt(abar)", async () => {
    const unet = await open("unet");
    const x0 = new Float32Array([...shapesLatentTarget(prompts[0], h, w), ...shapesLatentTarget(prompts[1], h, w)]);
    const t = 400;
    const table = logSigmaTable();
    const sigma = Math.exp(table[t]);
    const abar = 1 / (1 + sigma * sigma);
    const noise = randn(x0.length, 5);
    const x = Float32Array.from(x0, (v, i) => Math.sqrt(abar) * v + Math.sqrt(1 - abar) * noise[i]);
    const eps = await run(unet, new ort.Tensor("float32", new Float32Array([t]), []), x);
    expect(maxAbsDiff(eps, noise)).toBeLessThan(1e-4);
    const predicted = x.map((v, i) => (v - Math.sqrt(1 - abar) * eps[i]) / Math.sqrt(abar));
    expect(maxAbsDiff(predicted, x0)).toBeLessThan(1e-4);
  });

  it("accepts int64 [B] and float [B] timesteps and returns v = sqrt(abar) eps - sqrt(1 - abar) x0 for v-prediction", async () => {
    const x0 = new Float32Array([...shapesLatentTarget(prompts[0], h, w), ...shapesLatentTarget(prompts[1], h, w)]);
    const x = randn(x0.length, 9);
    const t = 250;
    const expected = expectedEps(x, x0, t);
    const int64 = await run(await open("unet", await shapesModel({ timestep: "int64-batch" })), new ort.Tensor("int64", new BigInt64Array([250n, 250n]), [2]), x);
    expect(maxAbsDiff(int64, expected)).toBeLessThan(1e-4);
    const v = await run(await open("unet", await shapesModel({ timestep: "float-batch", predictionType: "v_prediction" })), new ort.Tensor("float32", new Float32Array([t, t]), [2]), x);
    const sigma = Math.exp(logSigmaTable()[t]);
    const abar = 1 / (1 + sigma * sigma);
    const expectedV = expected.map((e, i) => Math.sqrt(abar) * e - Math.sqrt(1 - abar) * x0[i]);
    expect(maxAbsDiff(v, expectedV)).toBeLessThan(1e-4);
  });
});

describe("shapes VAE", () => {
  it("decodes z to (scaling_factor / gain) Q^T z, upsampled x8 by nearest neighbour", async () => {
    const dec = await open("vae_decoder");
    const [h, w] = [3, 5];
    const z = randn(4 * h * w, 11);
    const out = await dec.run({ latent_sample: new ort.Tensor("float32", z, [1, 4, h, w]) });
    expect(out.sample.dims).toEqual([1, 3, 8 * h, 8 * w]);
    const img = out.sample.data as Float32Array;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 8 * h; y++) {
        for (let x = 0; x < 8 * w; x++) {
          const p = Math.floor(y / 8) * w + Math.floor(x / 8);
          const expected = (SCALING_FACTOR / LATENT_GAIN) * RGB_TO_LATENT.reduce((s, row, k) => s + row[c] * z[k * h * w + p], 0);
          expect(img[(c * 8 * h + y) * 8 * w + x]).toBeCloseTo(expected, 6);
        }
      }
    }
  });

  it("encodes to latent_parameters [mean, logvar = -30], and decode(encode(image)) is the image when it is constant on 8x8 blocks", async () => {
    const enc = await open("vae_encoder");
    const dec = await open("vae_decoder");
    const [h, w] = [4, 6];
    const cells = randn(3 * h * w, 13).map((v) => Math.tanh(v));
    const image = new Float32Array(3 * 64 * h * w);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 8 * h; y++) for (let x = 0; x < 8 * w; x++) image[(c * 8 * h + y) * 8 * w + x] = cells[(c * h + Math.floor(y / 8)) * w + Math.floor(x / 8)];
    const params = await enc.run({ sample: new ort.Tensor("float32", image, [1, 3, 8 * h, 8 * w]) });
    expect(params.latent_parameters.dims).toEqual([1, 8, h, w]);
    const data = params.latent_parameters.data as Float32Array;
    expect(data.subarray(4 * h * w).every((v) => v === -30)).toBe(true);
    const mean = data.slice(0, 4 * h * w);
    const back = await dec.run({ latent_sample: new ort.Tensor("float32", mean, [1, 4, h, w]) });
    expect(maxAbsDiff(back.sample.data as Float32Array, image)).toBeLessThan(1e-6);
  });
});

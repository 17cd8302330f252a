/**
 * Architecture cross-check of the SD3 builder: tiny models run by onnxruntime-node against
 * transformers' CLIPTextModelWithProjection / T5EncoderModel and diffusers' SD3Transformer2DModel /
 * AutoencoderKL on the same weights and inputs (fixtures from test/reference/sd3_builder_crosscheck.py,
 * which says how to regenerate them). sd3-tiny is SD3's MMDiT (diffusers v0.29.2), sd35-tiny adds
 * SD3.5's dual attention and q/k RMS norms (diffusers v0.31.0).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crosscheckFixture, runOnce, tensorMaxAbsDiff as maxAbsDiff, type CrosscheckManifest } from "../../../helpers/crosscheck.js";
import { buildSd3ModelFolder, type BuildSd3ModelFolderOptions } from "../../../../lib/onnx/builder/sd3/model-folder.js";
import { SD3_PRESETS } from "../../../../lib/onnx/builder/sd3/presets.js";
import { relativePositionBucket } from "../../../../lib/onnx/builder/sd3/t5-encoder.js";

const loadCase = (name: string) => crosscheckFixture<Manifest>(path.join(FIXTURES, name));
const FIXTURES = path.resolve(import.meta.dirname, "../../../fixtures/sd3-builder");
/** Measured worst max |diff|, 1 thread each side: 4.4e-6 (VAE decoder), 1.3e-6 (CLIP), 9.5e-7 (T5), 7.2e-7 (transformer). */
const TOLERANCE = 2e-5;

const CASES: Record<string, Omit<BuildSd3ModelFolderOptions, "outDir">> = {
  "sd3-tiny": {
    seed: 11,
    inputIds: "int32",
    externalData: true,
    sizes: { transformer: { ...SD3_PRESETS.tiny.transformer, dualAttentionLayers: [], qkNorm: null } },
  },
  "sd35-tiny": { seed: 12 },
};

interface Manifest extends CrosscheckManifest {
  pos_embed_max_abs_diff: number;
}

const ids32 = (t: ort.Tensor) => new ort.Tensor("int32", Int32Array.from(t.data as BigInt64Array, Number), t.dims);

let root: string;
const keep = process.env.SD3_CROSSCHECK_OUT;

beforeAll(async () => {
  root = keep ? path.resolve(keep) : await mkdtemp(path.join(tmpdir(), "sd3-crosscheck-"));
  for (const [name, options] of Object.entries(CASES)) {
    await buildSd3ModelFolder({ ...options, outDir: path.join(root, name), overwrite: true });
  }
});
afterAll(async () => {
  if (!keep) await rm(root, { recursive: true, force: true });
});

describe("SD3 builder models against diffusers/transformers", () => {
  for (const name of Object.keys(CASES)) {
    describe(name, () => {
      const idsFor = (t: ort.Tensor) => (CASES[name].inputIds === "int32" ? ids32(t) : t);

      it("CLIP text encoders match transformers' CLIPTextModelWithProjection (text_embeds, penultimate state)", async () => {
        const { read } = await loadCase(name);
        for (const part of ["text_encoder", "text_encoder_2"]) {
          const out = await runOnce(path.join(root, name, part, "model.onnx"), { input_ids: idsFor(await read(`${part}.input_ids`)) });
          const layers = Object.keys(out).filter((k) => k.startsWith("hidden_states.")).length - 1;
          expect(maxAbsDiff(out.text_embeds, await read(`${part}.text_embeds`))).toBeLessThan(TOLERANCE);
          expect(maxAbsDiff(out.last_hidden_state, await read(`${part}.last_hidden_state`))).toBeLessThan(TOLERANCE);
          expect(maxAbsDiff(out[`hidden_states.${layers - 1}`], await read(`${part}.penultimate`))).toBeLessThan(TOLERANCE);
        }
      });

      it("T5 encoder matches transformers' T5EncoderModel over 150 tokens", async () => {
        const { read } = await loadCase(name);
        const out = await runOnce(path.join(root, name, "text_encoder_3", "model.onnx"), { input_ids: idsFor(await read("text_encoder_3.input_ids")) });
        expect(maxAbsDiff(out.last_hidden_state, await read("text_encoder_3.last_hidden_state"))).toBeLessThan(TOLERANCE);
      });

      it("transformer matches diffusers' SD3Transformer2DModel on a non-square latent", async () => {
        const { read, manifest } = await loadCase(name);
        expect(manifest.pos_embed_max_abs_diff).toBeLessThan(1e-6);
        const out = await runOnce(path.join(root, name, "transformer", "model.onnx"), {
          hidden_states: await read("transformer.hidden_states"),
          encoder_hidden_states: await read("transformer.encoder_hidden_states"),
          pooled_projections: await read("transformer.pooled_projections"),
          timestep: await read("transformer.timestep"),
        });
        expect(maxAbsDiff(out.out_hidden_states, await read("transformer.out_hidden_states"))).toBeLessThan(TOLERANCE);
      });

      it("16-channel VAE decoder and encoder match diffusers' AutoencoderKL", async () => {
        const { read } = await loadCase(name);
        const decoded = await runOnce(path.join(root, name, "vae_decoder", "model.onnx"), { latent_sample: await read("vae_latent_sample") });
        expect(maxAbsDiff(decoded.sample, await read("vae_decoded"))).toBeLessThan(TOLERANCE);
        const encoded = await runOnce(path.join(root, name, "vae_encoder", "model.onnx"), { sample: await read("vae_image") });
        expect(maxAbsDiff(encoded.latent_parameters, await read("vae_latent_parameters"))).toBeLessThan(TOLERANCE);
      });
    });
  }

  it("computes T5's relative-position buckets exactly as transformers does", async () => {
    const { read } = await loadCase("sd35-tiny");
    const want = [...((await read("t5_buckets_-300_300")).data as BigInt64Array)].map(Number);
    expect(want.map((_, i) => relativePositionBucket(Math.max(-128, Math.min(128, i - 300)), 32, 128))).toEqual(want);
  });
});

/**
 * Architecture cross-check of the SDXL builder: tiny SDXL text encoders and UNet run by
 * onnxruntime-node against transformers' CLIPTextModel / CLIPTextModelWithProjection and diffusers'
 * UNet2DConditionModel (addition_embed_type "text_time", several transformer layers per block) on
 * the same weights and inputs. Fixture from test/reference/sdxl_builder_crosscheck.py (how to
 * regenerate it is written there). The VAE is SD's, cross-checked in ../crosscheck.test.ts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { crosscheckFixture, runOnce, tensorMaxAbsDiff as maxAbsDiff, type CrosscheckManifest } from "../../../helpers/crosscheck.js";
import { buildSdxlModelFolder, type BuildSdxlModelFolderOptions } from "../../../../lib/onnx/builder/sdxl/model-folder.js";

const readFixture = () => crosscheckFixture<Manifest>(FIXTURE);
const FIXTURE = path.resolve(import.meta.dirname, "../../../fixtures/sdxl-builder");
/** Measured worst max |diff| (first output of each test): 9.8e-7 UNet, 9.5e-7 text_encoder, 4.2e-7 text_embeds; 1 thread each side. */
const TOLERANCE = 2e-5;

/**
 * Both cases share seed and sizes, hence weights: the fixture (computed from "optimum") checks the
 * other contract too, fed the same values in its own types (int32 ids, int64 [B] timestep).
 */
const CASES: Record<string, Omit<BuildSdxlModelFolderOptions, "outDir">> = {
  optimum: { preset: "tiny", seed: 44, inputIds: "int64", timestep: "float-scalar" },
  legacy: { preset: "tiny", seed: 44, inputIds: "int32", timestep: "int64-batch", externalData: true },
};

interface Manifest extends CrosscheckManifest {
  textEncoderLayers: number;
}

let root: string;
const keep = process.env.SDXL_CROSSCHECK_OUT;

beforeAll(async () => {
  root = keep ? path.resolve(keep) : await mkdtemp(path.join(tmpdir(), "sdxl-crosscheck-"));
  for (const [name, options] of Object.entries(CASES)) {
    await buildSdxlModelFolder({ ...options, outDir: path.join(root, name), overwrite: true });
  }
});
afterAll(async () => {
  if (!keep) await rm(root, { recursive: true, force: true });
});

describe("SDXL builder models against diffusers/transformers", () => {
  for (const name of Object.keys(CASES)) {
    describe(`${name} contract`, () => {
      const ids = async (read: (key: string) => Promise<ort.Tensor>, key: string) => {
        const t = await read(key);
        return CASES[name].inputIds === "int32" ? new ort.Tensor("int32", Int32Array.from(t.data as BigInt64Array, Number), t.dims) : t;
      };

      it("text_encoder matches CLIPTextModel, every hidden state included", async () => {
        const { manifest, read } = await readFixture();
        const out = await runOnce(path.join(root, name, "text_encoder/model.onnx"), { input_ids: await ids(read, "input_ids") });
        expect(maxAbsDiff(out.last_hidden_state, await read("te_last_hidden_state"))).toBeLessThan(TOLERANCE);
        expect(maxAbsDiff(out.pooler_output, await read("te_pooler_output"))).toBeLessThan(TOLERANCE);
        for (let i = 0; i <= manifest.textEncoderLayers; i++) {
          expect(maxAbsDiff(out[`hidden_states.${i}`], await read(`te_hidden_states_${i}`))).toBeLessThan(TOLERANCE);
        }
      });

      it("text_encoder_2 matches CLIPTextModelWithProjection: text_embeds first, then last_hidden_state and hidden states", async () => {
        const { manifest, read } = await readFixture();
        const file = path.join(root, name, "text_encoder_2/model.onnx");
        const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
        try {
          expect(session.outputNames.slice(0, 3)).toEqual(["text_embeds", "last_hidden_state", "hidden_states.0"]);
          expect(session.outputNames).not.toContain("pooler_output");
          const out = await session.run({ input_ids: await ids(read, "input_ids_2") });
          expect(maxAbsDiff(out.text_embeds, await read("te2_text_embeds"))).toBeLessThan(TOLERANCE);
          expect(maxAbsDiff(out.last_hidden_state, await read("te2_last_hidden_state"))).toBeLessThan(TOLERANCE);
          for (let i = 0; i <= manifest.textEncoderLayers; i++) {
            expect(maxAbsDiff(out[`hidden_states.${i}`], await read(`te2_hidden_states_${i}`))).toBeLessThan(TOLERANCE);
          }
        } finally {
          await session.release();
        }
      });

      it("UNet with text_embeds and time_ids matches UNet2DConditionModel (text_time)", async () => {
        const { read } = await readFixture();
        const t = await read("unet_timestep");
        const timestep =
          CASES[name].timestep === "int64-batch" ? new ort.Tensor("int64", new BigInt64Array(2).fill(BigInt((t.data as Float32Array)[0])), [2]) : t;
        const file = path.join(root, name, "unet/model.onnx");
        const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
        try {
          expect(session.inputNames).toEqual(["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"]);
          const out = await session.run({
            sample: await read("unet_sample"),
            timestep,
            encoder_hidden_states: await read("unet_encoder_hidden_states"),
            text_embeds: await read("te2_text_embeds"),
            time_ids: await read("unet_time_ids"),
          });
          expect(maxAbsDiff(out.out_sample, await read("unet_out_sample"))).toBeLessThan(TOLERANCE);
        } finally {
          await session.release();
        }
      });
    });
  }
});

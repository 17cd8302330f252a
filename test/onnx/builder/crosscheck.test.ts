/**
 * Architecture cross-check: builder-made tiny models run by onnxruntime-node against diffusers /
 * transformers run on the same weights and inputs (fixture from test/reference/builder_crosscheck.py;
 * how to regenerate it is written there).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { crosscheckFixture, runOnce, tensorMaxAbsDiff as maxAbsDiff } from "../../helpers/crosscheck.js";
import { buildModelFolder, type BuildModelFolderOptions } from "../../../lib/onnx/builder/model-folder.js";

const loadCase = async (name: string) => (await crosscheckFixture(path.join(FIXTURES, name))).read;
const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/builder");
/** Measured worst max |diff|: 4.7e-6 (VAE decoder), 1.2e-6 (UNet), 9.5e-7 (text encoder), 1 thread each side. */
const TOLERANCE = 2e-5;

/** How each fixture case was built; builder_crosscheck.py reads these folders by name. */
const CASES: Record<string, Omit<BuildModelFolderOptions, "outDir">> = {
  "sd1-tiny": { family: "sd1", preset: "tiny", seed: 42, inputIds: "int64", timestep: "float-scalar" },
  "sd2-tiny": { family: "sd2", preset: "tiny", seed: 43, inputIds: "int32", timestep: "int64-batch", externalData: true },
};

let root: string;
const keep = process.env.BUILDER_CROSSCHECK_OUT;

beforeAll(async () => {
  root = keep ? path.resolve(keep) : await mkdtemp(path.join(tmpdir(), "builder-crosscheck-"));
  for (const [name, options] of Object.entries(CASES)) {
    await buildModelFolder({ ...options, outDir: path.join(root, name), overwrite: true });
  }
});
afterAll(async () => {
  if (!keep) await rm(root, { recursive: true, force: true });
});

describe("builder models against diffusers/transformers", () => {
  for (const name of Object.keys(CASES)) {
    describe(name, () => {
      it("text encoder matches transformers' CLIPTextModel", async () => {
        const read = await loadCase(name);
        let ids = await read("input_ids");
        if (CASES[name].inputIds === "int32") ids = new ort.Tensor("int32", Int32Array.from(ids.data as BigInt64Array, Number), ids.dims);
        const out = await runOnce(path.join(root, name, "text_encoder/model.onnx"), { input_ids: ids });
        expect(maxAbsDiff(out.last_hidden_state, await read("last_hidden_state"))).toBeLessThan(TOLERANCE);
        expect(maxAbsDiff(out.pooler_output, await read("pooler_output"))).toBeLessThan(TOLERANCE);
      });

      it("UNet matches diffusers' UNet2DConditionModel", async () => {
        const read = await loadCase(name);
        const out = await runOnce(path.join(root, name, "unet/model.onnx"), {
          sample: await read("unet_sample"),
          timestep: await read("unet_timestep"),
          encoder_hidden_states: await read("last_hidden_state"),
        });
        expect(maxAbsDiff(out.out_sample, await read("unet_out_sample"))).toBeLessThan(TOLERANCE);
      });

      it("VAE decoder and encoder match diffusers' AutoencoderKL", async () => {
        const read = await loadCase(name);
        const decoded = await runOnce(path.join(root, name, "vae_decoder/model.onnx"), { latent_sample: await read("vae_latent_sample") });
        expect(maxAbsDiff(decoded.sample, await read("vae_decoded"))).toBeLessThan(TOLERANCE);
        const encoded = await runOnce(path.join(root, name, "vae_encoder/model.onnx"), { sample: await read("vae_image") });
        expect(maxAbsDiff(encoded.latent_parameters, await read("vae_latent_parameters"))).toBeLessThan(TOLERANCE);
      });
    });
  }
});

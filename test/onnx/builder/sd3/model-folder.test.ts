/** The SD3 builder's folder layout, configs and size presets (the cross-check is crosscheck.test.ts). */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildClipTextEncoder } from "../../../../lib/onnx/builder/clip-text-encoder.js";
import { axisNames } from "../../../../lib/onnx/builder/contract.js";
import { buildSd3ModelFolder } from "../../../../lib/onnx/builder/sd3/model-folder.js";
import { SD3_PRESETS, T5_XXL } from "../../../../lib/onnx/builder/sd3/presets.js";
import { buildT5Encoder } from "../../../../lib/onnx/builder/sd3/t5-encoder.js";
import { buildSd3Transformer, sincosPositionTable } from "../../../../lib/onnx/builder/sd3/transformer.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "sd3-folder-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const readJson = (...p: string[]) => JSON.parse(readFileSync(path.join(...p), "utf8")) as Record<string, unknown>;
const params = (bytes: number) => bytes / 4;

describe("buildSd3ModelFolder", () => {
  it("writes optimum's SD3 layout with SD3's scheduler, VAE and tokenizer configs", async () => {
    const built = await buildSd3ModelFolder({ outDir: path.join(root, "tiny") });
    const dir = built.dir;
    for (const f of ["tokenizer/vocab.json", "tokenizer_2/merges.txt", "tokenizer_3/tokenizer.json", "text_encoder_3/model.onnx", "transformer/config.json", "vae_encoder/model.onnx"]) {
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    }
    expect(readJson(dir, "model_index.json")).toMatchObject({ _class_name: "StableDiffusion3Pipeline", text_encoder_3: ["transformers", "T5EncoderModel"] });
    expect(readJson(dir, "scheduler", "scheduler_config.json")).toMatchObject({ _class_name: "FlowMatchEulerDiscreteScheduler", shift: 3 });
    expect(readJson(dir, "vae_decoder", "config.json")).toMatchObject({ latent_channels: 16, scaling_factor: 1.5305, shift_factor: 0.0609, use_quant_conv: false });
    expect(readJson(dir, "transformer", "config.json")).toMatchObject({ dual_attention_layers: [0], qk_norm: "rms_norm", in_channels: 16 });
    expect(readJson(dir, "tokenizer_2", "special_tokens_map.json")).toMatchObject({ pad_token: "!" });
    expect(built.components.map((c) => c.name)).toEqual(["text_encoder", "text_encoder_2", "text_encoder_3", "transformer", "vae_decoder", "vae_encoder"]);
  });

  it("leaves T5 and its tokenizer out when textEncoder3 is null, as a folder saved with text_encoder_3=None", async () => {
    const built = await buildSd3ModelFolder({ outDir: path.join(root, "no-t5"), sizes: { textEncoder3: null }, shift: 1.5 });
    expect(existsSync(path.join(built.dir, "text_encoder_3"))).toBe(false);
    expect(existsSync(path.join(built.dir, "tokenizer_3"))).toBe(false);
    expect(readJson(built.dir, "model_index.json")).toMatchObject({ text_encoder_3: [null, null], tokenizer_3: [null, null] });
    expect(readJson(built.dir, "scheduler", "scheduler_config.json")).toMatchObject({ shift: 1.5 });
  });

  it("refuses sizes the transformer cannot take, naming the size", async () => {
    const t = SD3_PRESETS.tiny.transformer;
    await expect(buildSd3ModelFolder({ outDir: path.join(root, "bad1"), sizes: { transformer: { ...t, pooledProjectionDim: 64 } } })).rejects.toThrow(/pooledProjectionDim/);
    await expect(buildSd3ModelFolder({ outDir: path.join(root, "bad2"), sizes: { transformer: { ...t, jointAttentionDim: 64 } } })).rejects.toThrow(/jointAttentionDim/);
    await expect(buildSd3ModelFolder({ outDir: path.join(root, "bad3"), sizes: { transformer: { ...t, dualAttentionLayers: [5] } } })).rejects.toThrow(/dualAttentionLayers/);
    await expect(buildSd3ModelFolder({ outDir: path.join(root, "bad4"), preset: "sd4" as never })).rejects.toThrow(/preset/);
  });
});

describe("SD3 size presets", () => {
  it("have the released transformers' sizes: SD3 Medium 2.03B and SD3.5 Medium 2.24B parameters (+ the 384^2 position table)", () => {
    const count = (t: typeof SD3_PRESETS["sd3-medium"]["transformer"]) => {
      const table = t.posEmbedMaxSize ** 2 * t.attentionHeadDim * t.numAttentionHeads;
      return params(buildSd3Transformer(t, { seed: 0 }).initializerBytes()) - table;
    };
    expect(count(SD3_PRESETS["sd3-medium"].transformer) / 1e9).toBeCloseTo(2.028, 2);
    expect(count(SD3_PRESETS["sd35-medium"].transformer) / 1e9).toBeCloseTo(2.243, 2);
  });

  it("have CLIP-L, CLIP-G and (when asked for) T5-XXL at their released sizes", () => {
    const clip = (s: typeof SD3_PRESETS["sd35-medium"]["textEncoder"]) =>
      params(buildClipTextEncoder({ ...s, vocabSize: 49408 }, { inputIds: "int64", axes: axisNames("float-scalar"), outputHiddenStates: true, seed: 0, projection: s.projectionDim }).initializerBytes());
    expect(clip(SD3_PRESETS["sd35-medium"].textEncoder) / 1e6).toBeCloseTo(123.7, 0);
    expect(clip(SD3_PRESETS["sd35-medium"].textEncoder2) / 1e6).toBeCloseTo(694.7, 0);
    const t5 = params(buildT5Encoder({ ...T5_XXL, vocabSize: 32128 }, { inputIds: "int64", axes: { batch: "b", sequence: "s" }, seed: 0 }).initializerBytes());
    expect(t5 / 1e9).toBeCloseTo(4.762, 2);
    expect(SD3_PRESETS["sd35-medium"].textEncoder3).toBeNull();
  });

  it("puts the column coordinate first in the sin-cos table, as diffusers' meshgrid does", () => {
    const table = sincosPositionTable(8, 4, 2);
    // row h = 0, column w = 1: first half from w = 1 / (4 / 2) = 0.5, second half from h = 0
    expect(table[8 + 0]).toBeCloseTo(Math.sin(0.5), 6);
    expect(table[8 + 4]).toBeCloseTo(0, 6);
  });
});

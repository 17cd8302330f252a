/**
 * The `sdxl` preset is SDXL 1.0 base at real size: its graphs (built, not written: no weights are
 * generated) hold exactly as many parameters as diffusers' / transformers' models built from the
 * config.json files the builder writes (fixture from test/reference/sdxl_param_counts.py), and
 * those configs carry SDXL base's values.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildClipTextEncoder, clipTextConfigJson } from "../../../../lib/onnx/builder/clip-text-encoder.js";
import { axisNames } from "../../../../lib/onnx/builder/contract.js";
import type { GraphBuilder } from "../../../../lib/onnx/builder/graph.js";
import { SDXL_PRESETS } from "../../../../lib/onnx/builder/sdxl/presets.js";
import { buildUNet, unetConfigJson } from "../../../../lib/onnx/builder/unet.js";

const FIXTURE = path.resolve(import.meta.dirname, "../../../fixtures/sdxl-builder/sdxl-param-counts.json");
const sizes = SDXL_PRESETS.sdxl;
const axes = axisNames("float-scalar");
const ids = { bos: 0, eos: 2, pad: 1 };
const textEncoder = { ...sizes.textEncoder, vocabSize: 49408 };
const textEncoder2 = { ...sizes.textEncoder2, vocabSize: 49408 };
const configs: Record<string, Record<string, unknown>> = {
  text_encoder: clipTextConfigJson(textEncoder, ids),
  text_encoder_2: { ...clipTextConfigJson(textEncoder2, ids), architectures: ["CLIPTextModelWithProjection"] },
  unet: unetConfigJson(sizes.unet),
};

/** Parameters are the initializers named by state_dict keys; graph constants are named "/...". */
function parameterCount(g: GraphBuilder): number {
  return g
    .contents()
    .initializers.filter((i) => !i.name.startsWith("/"))
    .reduce((n, i) => n + i.dims.reduce((a, b) => a * b, 1), 0);
}

describe("the sdxl preset", () => {
  it("has the parameter counts of diffusers' and transformers' SDXL models", async () => {
    if (process.env.SDXL_CONFIGS_OUT) {
      for (const [name, config] of Object.entries(configs)) {
        await mkdir(path.join(process.env.SDXL_CONFIGS_OUT, name), { recursive: true });
        await writeFile(path.join(process.env.SDXL_CONFIGS_OUT, name, "config.json"), JSON.stringify(config, null, 2));
      }
    }
    const expected = (JSON.parse(await readFile(FIXTURE, "utf8")) as { parameters: Record<string, number> }).parameters;
    const clip = (config: typeof textEncoder, projection?: number) => buildClipTextEncoder(config, { inputIds: "int64", axes, outputHiddenStates: true, seed: 0, projection });
    expect(parameterCount(clip(textEncoder))).toBe(expected.text_encoder);
    expect(parameterCount(clip(textEncoder2, 1280))).toBe(expected.text_encoder_2);
    const unet = buildUNet(sizes.unet, { timestep: "float-scalar", axes, seed: 0, gpuOnlyOps: false });
    expect(parameterCount(unet)).toBe(expected.unet);
    // 2.57 G float32 parameters: about 10.3 GB, so the writer puts them in model.onnx_data.
    expect(unet.initializerBytes()).toBeGreaterThan(10.2e9);
  });

  it("writes SDXL base's UNet configuration", () => {
    expect(configs.unet).toMatchObject({
      addition_embed_type: "text_time",
      addition_time_embed_dim: 256,
      projection_class_embeddings_input_dim: 2816,
      transformer_layers_per_block: [1, 2, 10],
      attention_head_dim: [5, 10, 20],
      block_out_channels: [320, 640, 1280],
      cross_attention_dim: 2048,
      use_linear_projection: true,
      sample_size: 128,
      down_block_types: ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
      up_block_types: ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    });
    expect(configs.text_encoder_2).toMatchObject({ hidden_size: 1280, num_hidden_layers: 32, num_attention_heads: 20, intermediate_size: 5120, projection_dim: 1280, hidden_act: "gelu" });
    expect(sizes.vae.scalingFactor).toBe(0.13025);
  });
});

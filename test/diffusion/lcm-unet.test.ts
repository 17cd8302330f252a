/**
 * The builder's LCM UNet against diffusers' UNet2DConditionModel(time_cond_proj_dim=256) with the
 * same weights (test/reference/lcm_unet_crosscheck.py wrote the fixture): `timestep_cond` goes
 * through time_embedding.cond_proj into the time embedding as in diffusers.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildModelFolder } from "../../lib/index.js";
import { ModelSession } from "../../lib/onnx/session.js";
import { tensor } from "../../lib/onnx/tensor.js";
import { repoRoot } from "../helpers/paths.js";
import { tinyModel } from "../helpers/tiny-model.js";

const fixture = JSON.parse(readFileSync(path.join(repoRoot, "test", "fixtures", "img2img", "lcm-unet.json"), "utf8")) as Record<string, string | number>;
const f32 = (b64: string) => {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};

describe("the builder's LCM UNet", () => {
  it("computes what diffusers' UNet2DConditionModel with time_cond_proj_dim computes", async () => {
    const out = process.env.LCM_CROSSCHECK_OUT;
    // the fixture's model: the tiny preset, seed 0, pipeline "lcm" (regeneration writes it to LCM_CROSSCHECK_OUT)
    const dir = out ? (await buildModelFolder({ outDir: out, overwrite: true, pipeline: "lcm" })).dir : await tinyModel({ pipeline: "lcm" });
    const unet = await ModelSession.open("unet", path.join(dir, "unet", "model.onnx"), { providers: ["cpu"] });
    try {
      const hidden = f32(fixture.encoder_hidden_states as string);
      const result = await unet.run({
        sample: tensor("float32", f32(fixture.sample as string), [2, 4, 8, 8]),
        timestep: tensor("float32", Float32Array.of(fixture.timestep as number), []),
        encoder_hidden_states: tensor("float32", hidden, [2, 77, hidden.length / 154]),
        timestep_cond: tensor("float32", f32(fixture.timestep_cond as string), [2, 256]),
      });
      const got = result.out_sample.data as Float32Array;
      const want = f32(fixture.out_sample as string);
      let max = 0;
      for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(got[i] - want[i]));
      expect(fixture.cond_effect as number).toBeGreaterThan(1e-3); // the condition matters in the reference
      expect(max).toBeLessThanOrEqual(2e-5);
    } finally {
      await unet.dispose();
    }
  });
});

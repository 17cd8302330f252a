/** Each component of the diffusers fixture, fed through the library's contracts, matches diffusers' first UNet call. */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  inputIdsTensor,
  textEncoderContract,
  timestepTensor,
  unetContract,
  floatTensor,
  toFloat32,
} from "../../lib/onnx/contracts.js";
import { ModelSession } from "../../lib/onnx/session.js";
import { fixtureCases, maxAbsDiff, readF32 } from "../helpers/fixture.js";
import { fixtureDir, hasFixture } from "../helpers/paths.js";

// Needs ../shared/fixtures/tiny-sd-diffusers beside the checkout (CI has it); skipped without it.
describe.skipIf(!hasFixture)("fixture components through the library's feeds", () => {
  let te: ModelSession;
  let unet: ModelSession;
  beforeAll(async () => {
    te = await ModelSession.open("text_encoder", path.join(fixtureDir, "text_encoder", "model.onnx"), { providers: ["cpu"] });
    unet = await ModelSession.open("unet", path.join(fixtureDir, "unet", "model.onnx"), { providers: ["cpu"] });
  });
  afterAll(async () => {
    await te?.dispose();
    await unet?.dispose();
  });

  for (const c of hasFixture ? fixtureCases() : []) {
    it(`${c.name}: text encoder and first UNet call within 1e-5`, async () => {
      const tc = textEncoderContract(te);
      const ids = c.do_classifier_free_guidance ? [c.negative_input_ids!, c.input_ids] : [c.input_ids];
      const hidden = await te.run({ input_ids: inputIdsTensor(tc, ids) });
      const expected = readF32(c.name, "unet0_encoder_hidden_states.f32");
      expect(maxAbsDiff(toFloat32(hidden.last_hidden_state), expected)).toBeLessThan(1e-5);

      const uc = unetContract(unet);
      const b = c.unet0.batch;
      const [, ch, h, w] = c.latents_shape;
      const out = await unet.run({
        sample: floatTensor(uc.sampleType, readF32(c.name, "unet0_sample.f32"), [b, ch, h, w]),
        timestep: timestepTensor(uc, readF32(c.name, "unet0_timestep.f32")[0], b),
        encoder_hidden_states: floatTensor(uc.hiddenType, expected, [b, 77, expected.length / b / 77]),
      });
      expect(maxAbsDiff(toFloat32(out.out_sample), readF32(c.name, "unet0_out_sample.f32"))).toBeLessThan(1e-5);
    });
  }
});

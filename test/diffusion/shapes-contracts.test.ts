/** Every tensor contract variant of the shapes model loads in the pipeline and draws the target. */
import { describe, expect, it } from "vitest";
import { StableDiffusionPipeline } from "../../lib/diffusion/stable-diffusion.js";
import { silentLogger } from "../../lib/logger.js";
import { shapesGuidedTarget, shapesTarget } from "../../lib/onnx/builder/shapes/target.js";
import { matchesTarget, shapesModel } from "../helpers/shapes.js";

const quiet = { providers: ["cpu" as const], logger: silentLogger };
// a star at 16 x 12 latent cells has many partly covered cells, which guidance pushes into the clip
const PROMPT = "an orange star on the right on a purple background";
const W = 128;
const H = 96;

describe("shapes model tensor contracts", () => {
  const variants = [
    { inputIds: "int64", timestep: "float-scalar" },
    { inputIds: "int32", timestep: "float-scalar" },
    { inputIds: "int64", timestep: "int64-batch" },
    { inputIds: "int32", timestep: "int64-batch" },
    { inputIds: "int64", timestep: "float-batch" },
    { inputIds: "int32", timestep: "float-batch" },
  ] as const;
  for (const v of variants) {
    it(`input_ids ${v.inputIds}, timestep ${v.timestep}: loads, and Euler and DPM++ 2M Karras (fractional timesteps) end on the target`, async () => {
      const pipe = await StableDiffusionPipeline.load(await shapesModel(v), quiet);
      try {
        const c = pipe.describe().contracts as { textEncoder: { idsType: string }; unet: { timestep: { type: string; rank: number } } };
        expect(c.textEncoder.idsType).toBe(v.inputIds);
        expect(c.unet.timestep).toMatchObject(
          v.timestep === "float-scalar" ? { type: "float32", rank: 0 } : v.timestep === "int64-batch" ? { type: "int64", rank: 1 } : { type: "float32", rank: 1 },
        );
        for (const scheduler of ["euler", "dpmpp_2m_karras"]) {
          // guidance on: the UNet runs on a batch of 2 with one timestep for both
          const r = await pipe.generate({ prompt: PROMPT, scheduler, num_inference_steps: 6, guidance_scale: 4, width: W, height: H, seed: 2 }, { returnTensors: true });
          const check = matchesTarget(r.tensors!.images[0], shapesGuidedTarget(PROMPT, "", 4, W, H), 1e-5);
          expect(check.pass, `${scheduler}: max diff ${check.maxDiff}`).toBe(true);
        }
      } finally {
        await pipe.dispose();
      }
    });
  }

  it("v-prediction: the UNet returns v and the schedulers that convert it end on the target", async () => {
    const pipe = await StableDiffusionPipeline.load(await shapesModel({ predictionType: "v_prediction" }), quiet);
    try {
      for (const scheduler of ["euler", "dpmpp_2m_karras", "heun", "lms"]) {
        const r = await pipe.generate({ prompt: PROMPT, scheduler, num_inference_steps: 8, guidance_scale: 1, width: W, height: H, seed: 2 }, { returnTensors: true });
        const check = matchesTarget(r.tensors!.images[0], shapesTarget(PROMPT, W, H).rgb, 1e-5);
        expect(check.pass, `${scheduler}: max diff ${check.maxDiff}`).toBe(true);
      }
      const ddim = await pipe.generate({ prompt: PROMPT, scheduler: "ddim", num_inference_steps: 20, guidance_scale: 1, width: W, height: H, seed: 2 }, { returnTensors: true });
      expect(matchesTarget(ddim.tensors!.images[0], shapesTarget(PROMPT, W, H).rgb, 8 / 255).pass).toBe(true);
    } finally {
      await pipe.dispose();
    }
  });
});

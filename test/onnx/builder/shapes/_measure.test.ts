import { it } from "vitest";
import { StableDiffusionPipeline } from "../../../../lib/diffusion/stable-diffusion.js";
import { silentLogger } from "../../../../lib/logger.js";
import { shapesTarget, shapesGuidedTarget } from "../../../../lib/onnx/builder/shapes/target.js";
import { maxAbsDiff, shapesModel } from "./helpers.js";

it("measure", async () => {
  const W = 128, H = 96, P = "an orange heart on a purple background";
  const variants: Record<string, object> = { default: {}, v: { predictionType: "v_prediction" }, int64: { timestep: "int64-batch" } };
  for (const [vn, opts] of Object.entries(variants)) {
    const pipe = await StableDiffusionPipeline.load(await shapesModel(opts), { providers: ["cpu"], logger: silentLogger });
    for (const s of ["pndm", "ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lms", "heun", "lcm"]) {
      const row: string[] = [];
      for (const steps of [1, 2, 4, 10, 20, 50]) {
        let worst = 0;
        for (const seed of [1, 2, 3]) {
          const r = await pipe.generate({ prompt: P, scheduler: s, num_inference_steps: steps, guidance_scale: 1, width: W, height: H, seed }, { returnTensors: true });
          worst = Math.max(worst, maxAbsDiff(r.tensors!.images[0], shapesTarget(P, W, H).rgb));
        }
        row.push(`${steps}:${(worst * 255).toFixed(4)}`);
      }
      console.log(`MEAS ${vn} ${s} ${row.join(" ")}`);
    }
    await pipe.dispose();
  }
});

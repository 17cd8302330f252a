import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { it } from "vitest";
import { encodePng } from "../../../../lib/images/png.js";
import { StableDiffusionPipeline } from "../../../../lib/diffusion/stable-diffusion.js";
import { silentLogger } from "../../../../lib/logger.js";
import { buildShapesModelFolder } from "../../../../lib/onnx/builder/shapes/model-folder.js";
import { shapesTarget, shapesGuidedTarget, shapesLatentTarget } from "../../../../lib/onnx/builder/shapes/target.js";

it("preview2", async () => {
  const { dir } = await buildShapesModelFolder({ outDir: path.join(os.tmpdir(), "shapes-preview"), overwrite: true });
  const pipe = await StableDiffusionPipeline.load(dir, { providers: ["cpu"], logger: silentLogger });
  const prompts = (process.env.PROMPTS ?? "a red star on a blue background").split("|");
  const scheds = (process.env.SCHEDS ?? "pndm").split(",");
  const steps = Number(process.env.STEPS ?? 20);
  const size = Number(process.env.SIZE ?? 256);
  for (const [i, p] of prompts.entries()) {
    for (const s of scheds) {
      const t0 = performance.now();
      const r = await pipe.generate({ prompt: p, num_inference_steps: steps, scheduler: s, seed: 1, width: size, height: size, guidance_scale: Number(process.env.W ?? 7.5) }, { returnTensors: true });
      const w = Number(process.env.W ?? 7.5); const target = w > 1 ? shapesGuidedTarget(p, "", w, size, size) : shapesTarget(p, size, size).rgb;
      const img = r.tensors!.images[0];
      let max = 0;
      for (let k = 0; k < img.length; k++) max = Math.max(max, Math.abs(img[k] - target[k]));
      const lt = shapesLatentTarget(p, size / 8, size / 8);
      const fl = r.tensors!.finalLatents.data;
      let lmax = 0;
      for (let k = 0; k < lt.length; k++) lmax = Math.max(lmax, Math.abs(fl[k] - lt[k]));
      console.log(s, steps, p, "latent", lmax.toExponential(2), "maxdiff", max.toFixed(6), "uint8", (max * 255).toFixed(2), (performance.now() - t0).toFixed(0), "ms");
      writeFileSync(`/tmp/gen-${i}-${s}.png`, await encodePng(r.images[0]));
    }
  }
  await pipe.dispose();
});

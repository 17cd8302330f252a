import { it } from "vitest";
import * as ort from "onnxruntime-node";
import { buildModelFolder } from "../../../lib/onnx/builder/model-folder.js";
it("sd15", async () => {
  if (process.env.SD15_STEP === "build") {
    const t = performance.now();
    const r = await buildModelFolder({ outDir: "/tmp/sd15-check", preset: "sd15", overwrite: true });
    console.log("build s", (performance.now() - t) / 1000, "maxRSS MB", process.resourceUsage().maxRSS / 1024, JSON.stringify(r.components));
  } else {
    let t = performance.now();
    for (const lvl of ["extended", "all"] as const) { const t1 = performance.now(); const s1 = await ort.InferenceSession.create("/tmp/sd15-check/unet/model.onnx", { enableMemPattern: false, graphOptimizationLevel: lvl }); console.log("session s", lvl, (performance.now() - t1) / 1000); await s1.release(); }
    return;
    const s = await ort.InferenceSession.create("/tmp/sd15-check/unet/model.onnx", { enableMemPattern: false });
    console.log("session s", (performance.now() - t) / 1000);
    const B = 2;
    const feeds = {
      sample: new ort.Tensor("float32", Float32Array.from({ length: B * 4 * 64 * 64 }, (_, i) => Math.sin(i)), [B, 4, 64, 64]),
      timestep: new ort.Tensor("float32", Float32Array.from([500]), []),
      encoder_hidden_states: new ort.Tensor("float32", Float32Array.from({ length: B * 77 * 768 }, (_, i) => Math.cos(i)), [B, 77, 768]),
    };
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      const out = await s.run(feeds);
      const d = out.out_sample.data as Float32Array;
      console.log("run s", (performance.now() - t) / 1000, out.out_sample.dims, d.every(Number.isFinite), d[0], d[1000]);
    }
    console.log("maxRSS MB", process.resourceUsage().maxRSS / 1024);
  }
}, 600000);

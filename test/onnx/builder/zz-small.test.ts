import { it } from "vitest";
import * as ort from "onnxruntime-node";
it("verbose", async () => {
  const t1 = performance.now();
  const s1 = await ort.InferenceSession.create(`/tmp/sd15-check/unet/model.onnx`, { graphOptimizationLevel: "all", logSeverityLevel: 0, logVerbosityLevel: 0 });
  console.log("session s", (performance.now() - t1) / 1000);
  await s1.release();
}, 600000);

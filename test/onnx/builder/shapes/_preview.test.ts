import { writeFileSync } from "node:fs";
import { it } from "vitest";
import { encodePng } from "../../../../lib/images/png.js";
import { shapesTarget } from "../../../../lib/onnx/builder/shapes/target.js";
import { shapeMask, MASK_SIZE } from "../../../../lib/onnx/builder/shapes/masks.js";
import { SHAPE_NAMES } from "../../../../lib/onnx/builder/shapes/vocabulary.js";

it("preview", async () => {
  const prompts = (process.env.PROMPTS ?? "a red star on a blue background").split("|");
  for (const [i, p] of prompts.entries()) {
    const t = shapesTarget(p, 256, 256);
    const data = Uint8Array.from(t.rgb, (v) => Math.round(v * 255));
    writeFileSync(`/tmp/target-${i}.png`, await encodePng({ width: 256, height: 256, data }));
    console.log(i, p, JSON.stringify(t.attributes));
  }
  // masks montage
  const W = MASK_SIZE * SHAPE_NAMES.length;
  const data = new Uint8Array(W * MASK_SIZE * 3);
  SHAPE_NAMES.forEach((n, k) => {
    const m = shapeMask(n);
    for (let y = 0; y < MASK_SIZE; y++) for (let x = 0; x < MASK_SIZE; x++) for (let c = 0; c < 3; c++) data[(y * W + k * MASK_SIZE + x) * 3 + c] = Math.round(m[y * MASK_SIZE + x] * 255);
  });
  writeFileSync(`/tmp/masks.png`, await encodePng({ width: W, height: MASK_SIZE, data }));
});

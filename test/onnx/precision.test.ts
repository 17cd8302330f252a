/**
 * float16 models on the CPU provider: the builder's two fp16 forms (fp16 I/O; fp16 weights with
 * fp32 I/O and Casts at the boundary), and DTYPE choosing between float32 and float16 variants in
 * the two layouts found in the wild (per-component model_fp16.onnx; sibling fp32/ and fp16/ folders).
 */
import { copyFile, cp, mkdtemp, readdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError, StableDiffusionPipeline, buildModelFolder, silentLogger, type Logger } from "../../lib/index.js";
import type { DtypeRequest } from "../../lib/onnx/dtype.js";
import { ModelSession } from "../../lib/onnx/session.js";
import { findPrecisionVariants } from "../../lib/onnx/variants.js";

const COMPONENTS = ["text_encoder", "unet", "vae_decoder", "vae_encoder"];
const request = { prompt: "a red star", negative_prompt: "blue", num_inference_steps: 3, seed: 1, scheduler: "euler" };
/** fp16 vs fp32 of the same tiny weights, [0, 1] pixels after 3 guided Euler steps: measured <= 2.4e-3. */
const FP16_TOLERANCE = 5e-3;

let root: string;
const dirs: Record<string, string> = {};
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "precision-"));
  for (const precision of ["float32", "float16", "float16-fp32-io"] as const) {
    dirs[precision] = (await buildModelFolder({ outDir: path.join(root, precision), precision, seed: 3 })).dir;
  }
});

function logged(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => void lines.push(m);
  return { logger: { ...silentLogger, info: push, warn: push }, lines };
}

async function generate(dir: string, dtype: DtypeRequest = "auto") {
  const log = logged();
  const pipe = await StableDiffusionPipeline.load(dir, { providers: ["cpu"], logger: log.logger, dtype });
  try {
    const r = await pipe.generate(request, { returnTensors: true });
    return { image: r.tensors!.images[0], describe: pipe.describe(), log: log.lines };
  } finally {
    await pipe.dispose();
  }
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe("float16 model folders from the builder", () => {
  it("fp16 I/O: every graph takes and returns float16, and runs on CPU close to float32", async () => {
    const unet = await ModelSession.open("unet", path.join(dirs.float16, "unet", "model.onnx"), { providers: ["cpu"] });
    expect(unet.inputs.map((i) => [i.name, i.type])).toEqual([["sample", "float16"], ["timestep", "float16"], ["encoder_hidden_states", "float16"]]);
    expect(unet.outputs[0].type).toBe("float16");
    await unet.dispose();
    const [full, half] = [await generate(dirs.float32), await generate(dirs.float16)];
    expect(half.describe.dtype).toBe("float16");
    expect(half.describe.dtypeReason).toMatch(/auto: float16 on cpu/);
    const d = maxDiff(half.image, full.image);
    expect(d).toBeGreaterThan(0); // really computed in half precision
    expect(d).toBeLessThanOrEqual(FP16_TOLERANCE);
  });

  it("fp16 weights with fp32 I/O: float32 at the boundary, half the weight bytes, close to float32", async () => {
    const unet = await ModelSession.open("unet", path.join(dirs["float16-fp32-io"], "unet", "model.onnx"), { providers: ["cpu"] });
    expect(unet.inputs.map((i) => i.type)).toEqual(["float32", "float32", "float32"]);
    expect(unet.outputs[0].type).toBe("float32");
    await unet.dispose();
    const size = async (dir: string) => (await stat(path.join(dir, "unet", "model.onnx"))).size;
    expect(await size(dirs["float16-fp32-io"])).toBeLessThan(0.6 * (await size(dirs.float32)));
    const [full, half] = [await generate(dirs.float32), await generate(dirs["float16-fp32-io"])];
    expect(maxDiff(half.image, full.image)).toBeLessThanOrEqual(FP16_TOLERANCE);
  });

  it("int64 timesteps and latent_sample encoders convert too (their Casts go to float16)", async () => {
    const { dir } = await buildModelFolder({ outDir: path.join(root, "int64"), precision: "float16", timestep: "int64-batch", vaeEncoderOutput: "latent_sample" });
    const r = await generate(dir);
    expect(r.image.every(Number.isFinite)).toBe(true);
  });

  it("refuses an unknown precision, listing the allowed ones", async () => {
    await expect(buildModelFolder({ outDir: path.join(root, "bad"), precision: "int8" as never })).rejects.toThrow(InvalidInputError);
    await expect(buildModelFolder({ outDir: path.join(root, "bad"), precision: "int8" as never })).rejects.toThrow(/float32, float16, float16-fp32-io/);
  });
});

describe("DTYPE picks between float32 and float16 variants of one model", () => {
  it("per component: model_fp16.onnx beside model.onnx (transformers.js naming)", async () => {
    const dir = path.join(root, "both");
    await cp(dirs.float32, dir, { recursive: true });
    for (const c of COMPONENTS) await copyFile(path.join(dirs.float16, c, "model.onnx"), path.join(dir, c, "model_fp16.onnx"));
    expect((await findPrecisionVariants(dir)).map((v) => v.dtype)).toEqual(["float32", "float16"]);

    const auto = await generate(dir, "auto");
    expect(auto.describe.dtype).toBe("float32");
    expect(auto.describe.dtypeReason).toMatch(/auto: float32 on cpu \(the folder holds float32 and float16: unet\/model_fp16.onnx beside model.onnx; using unet\/model.onnx\)/);
    expect(auto.log.some((l) => l.startsWith("dtype: auto: float32"))).toBe(true);
    expect(Array.from(auto.image)).toEqual(Array.from((await generate(dirs.float32)).image));

    const half = await generate(dir, "float16");
    expect(half.describe).toMatchObject({ dtype: "float16" });
    expect(half.describe.dtypeReason).toMatch(/float16 as requested.*using unet\/model_fp16.onnx/);
    expect((half.describe.contracts as { unet: { sampleType: string } }).unet.sampleType).toBe("float16");
    expect(Array.from(half.image)).toEqual(Array.from((await generate(dirs.float16)).image));
  });

  it("sibling folders fp32/ and fp16/ (ONNX Runtime's optimize_pipeline layout), from either one", async () => {
    const parent = path.join(root, "sd_onnx");
    await cp(dirs.float32, path.join(parent, "fp32"), { recursive: true });
    await cp(dirs["float16-fp32-io"], path.join(parent, "fp16"), { recursive: true });
    const fromFp32 = await generate(path.join(parent, "fp32"), "float16");
    expect(fromFp32.describe.dtype).toBe("float16");
    expect(fromFp32.describe.dtypeReason).toMatch(/sibling folders fp32\/ and fp16\//);
    expect(Array.from(fromFp32.image)).toEqual(Array.from((await generate(dirs["float16-fp32-io"])).image));
    const fromFp16 = await generate(path.join(parent, "fp16"), "float32");
    expect(fromFp16.describe.dtype).toBe("float32");
    expect(Array.from(fromFp16.image)).toEqual(Array.from((await generate(dirs.float32)).image));
    // native keeps the folder given
    expect((await generate(path.join(parent, "fp16"), "native")).describe.dtype).toBe("float16");
  });

  it("a single-precision folder reports what its UNet takes", async () => {
    expect(await readdir(path.join(dirs.float32, "unet"))).not.toContain("model_fp16.onnx");
    const r = await generate(dirs.float32, "float16");
    expect(r.describe.dtype).toBe("float32");
    expect(r.describe.dtypeReason).toMatch(/float16 requested, but the folder holds only float32/);
  });
});

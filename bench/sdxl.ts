/**
 * SDXL-size UNet benchmark: one denoising step at 1024x1024 (128x128 latents), guided batch 2, on the
 * real SDXL 1.0 base UNet shapes (random weights, 2.57 G parameters, about 10.3 GB in float32, built
 * once into the cache). Only the UNet is built and run: it is what a step costs; the text encoders
 * run once per image and the VAE decode once at the end. Prints one JSON line: build, session
 * open and per-step seconds, and the process's peak RSS.
 *
 *   npm run build && node dist/bench/sdxl.js '{"runs":1,"size":1024}'
 *   ENABLE_LOW_CPU_MEM=0 node dist/bench/sdxl.js     # with weight pre-packing (more memory)
 *
 * ENABLE_LOW_CPU_MEM defaults to on here (unlike elsewhere): with pre-packing ONNX Runtime keeps a
 * re-laid-out copy of the MatMul/Conv weights, which does not fit beside 10.3 GB of weights and the
 * 1024 px activations in 24 GiB.
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { cacheRoot, runtimeOptionsFromEnv } from "../lib/index.js";
import { axisNames } from "../lib/onnx/builder/contract.js";
import { SDXL_PRESETS } from "../lib/onnx/builder/sdxl/presets.js";
import { buildUNet, textEmbedsDim, unetConfigJson } from "../lib/onnx/builder/unet.js";
import { floatTensor, timestepTensor } from "../lib/onnx/contracts.js";
import { sdxlConditioningTensors, sdxlUNetContract } from "../lib/onnx/contracts-sdxl.js";
import { ModelSession } from "../lib/onnx/session.js";
import { TorchGenerator } from "../lib/diffusion/generator.js";
import { median, peakRssMiB } from "./stats.js";

interface Args {
  runs: number;
  size: number;
}

const unetConfig = SDXL_PRESETS.sdxl.unet;

async function unetFile(): Promise<{ file: string; buildS?: number }> {
  const dir = path.join(cacheRoot(), "bench", "sdxl-unet-v1", "unet");
  const file = path.join(dir, "model.onnx");
  if (await stat(file).then(() => true, () => false)) return { file };
  await mkdir(dir, { recursive: true });
  const t = performance.now();
  const graph = buildUNet(unetConfig, { timestep: "float-scalar", axes: axisNames("float-scalar"), seed: 0, gpuOnlyOps: false });
  await writeFile(path.join(dir, "config.json"), JSON.stringify(unetConfigJson(unetConfig), null, 2));
  await graph.save(file, { externalData: true });
  return { file, buildS: (performance.now() - t) / 1000 };
}

async function main(): Promise<void> {
  const args: Args = { runs: 1, size: 1024, ...(process.argv[2] ? JSON.parse(process.argv[2]) : {}) };
  const { file, buildS } = await unetFile();
  const runtime = { ...runtimeOptionsFromEnv(), providers: ["cpu" as const] };
  const lowCpuMem = process.env.ENABLE_LOW_CPU_MEM === undefined ? true : runtime.lowCpuMem === true;

  let t = performance.now();
  const unet = await ModelSession.open("unet", file, { ...runtime, lowCpuMem });
  const loadS = (performance.now() - t) / 1000;
  const c = sdxlUNetContract(unet);

  // Guided batch 2 (negative and positive rows), as the pipeline feeds it; values do not change the cost.
  const batch = 2;
  const latent = args.size / 8;
  const generator = new TorchGenerator(0);
  const tt = unetConfig.textTimeEmbedding!;
  const feeds = {
    sample: floatTensor(c.sampleType, generator.randn(batch * 4 * latent * latent), [batch, 4, latent, latent]),
    timestep: timestepTensor(c, 999, batch),
    encoder_hidden_states: floatTensor(c.hiddenType, generator.randn(batch * 77 * unetConfig.crossAttentionDim), [batch, 77, unetConfig.crossAttentionDim]),
    ...sdxlConditioningTensors(
      c,
      generator.randn(batch * textEmbedsDim(tt)),
      Float32Array.from({ length: batch * 6 }, (_, i) => [args.size, args.size, 0, 0, args.size, args.size][i % 6]),
      batch,
    ),
  };
  const stepS: number[] = [];
  for (let i = 0; i < args.runs; i++) {
    t = performance.now();
    await unet.run(feeds);
    stepS.push((performance.now() - t) / 1000);
  }
  await unet.dispose();
  const out = {
    scenario: "sdxl-unet",
    model: file,
    graphOptimization: process.env.ORT_GRAPH_OPTIMIZATION ?? "all",
    lowCpuMem,
    size: `${args.size}x${args.size}`,
    guidedBatch: batch,
    runs: args.runs,
    buildS,
    loadS,
    firstStepS: stepS[0],
    medianStepS: median(stepS),
    peakRssMiB: peakRssMiB(),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

await main();

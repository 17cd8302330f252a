/** Open any supported model folder as a text-to-image pipeline, by the family its model_index.json names. */
import { ModelLoadError } from "../errors.js";
import { readModelIndex, type Family } from "../models/model-index.js";
import type { RuntimeOptions } from "../onnx/runtime-options.js";
import type { TextToImagePipeline } from "./pipeline.js";
import { StableDiffusionPipeline } from "./stable-diffusion.js";
import { StableDiffusionXLPipeline } from "./stable-diffusion-xl.js";
import { StableDiffusion3Pipeline } from "./stable-diffusion-3.js";

type Loader = (dir: string, runtime: RuntimeOptions) => Promise<TextToImagePipeline>;

/** One entry per family; a family without a loader is refused with the list of those that have one. */
const LOADERS: Partial<Record<Family, Loader>> = {
  sd: (dir, runtime) => StableDiffusionPipeline.load(dir, runtime),
  lcm: (dir, runtime) => StableDiffusionPipeline.load(dir, runtime),
  sdxl: (dir, runtime) => StableDiffusionXLPipeline.load(dir, runtime),
  sd3: (dir, runtime) => StableDiffusion3Pipeline.load(dir, runtime),
};

export async function loadPipeline(dir: string, runtime: RuntimeOptions = {}): Promise<TextToImagePipeline> {
  const index = await readModelIndex(dir);
  const load = LOADERS[index.family];
  if (!load) {
    throw new ModelLoadError(
      `${index.className} (family ${index.family}) is not supported yet (supported families: ${Object.keys(LOADERS).join(", ")})`,
    );
  }
  return load(index.dir, runtime);
}

/** Decoded images ([-1, 1] NCHW) to the result's RGB images, each labelled with its prompt. */
import { toRgb8, toUnitHWC } from "../images/postprocess.js";
import type { DecodedImages } from "./decode.js";
import type { GeneratedImage } from "./stable-diffusion.js";

/** `negatives` is undefined when guidance was off (no negative prompt took part). */
export function toGeneratedImages(
  decoded: DecodedImages,
  prompts: readonly string[],
  negatives: readonly string[] | undefined,
  perPrompt: number,
): { images: GeneratedImage[]; unit: Float32Array[] } {
  const [, , H, W] = decoded.dims;
  const unit = toUnitHWC(decoded.data, decoded.dims);
  const images = unit.map((img, i) => ({
    ...toRgb8(img, W, H),
    prompt: prompts[Math.floor(i / perPrompt)],
    negativePrompt: negatives?.[Math.floor(i / perPrompt)],
    index: i,
  }));
  return { images, unit };
}

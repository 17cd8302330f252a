/** Saving generated images as PNG files that carry their generation parameters as text metadata. */
import path from "node:path";
import { encodePng } from "../images/png.js";
import { writeFileAtomic } from "../images/save.js";
import { DEFAULT_STRENGTH, type GeneratedImage, type GenerateResult } from "./stable-diffusion.js";

/** The PNG text chunks of one generated image: one key per parameter, and an A1111-style "parameters" line. */
export function imageMetadata(result: GenerateResult, image: GeneratedImage, model?: string): Record<string, string> {
  const o = result.options;
  const fields: Record<string, string> = {
    prompt: image.prompt,
    ...(image.negativePrompt ? { negative_prompt: image.negativePrompt } : {}),
    seed: String(result.seed),
    scheduler: result.scheduler,
    num_inference_steps: String(o.num_inference_steps),
    guidance_scale: String(o.guidance_scale),
    width: String(image.width),
    height: String(image.height),
    batch_index: String(image.index),
    ...(o.image !== undefined ? { strength: String(o.strength ?? DEFAULT_STRENGTH), init_image: "given" } : {}),
    ...(model ? { model } : {}),
    software: "diffusion-workbench",
  };
  const params =
    `${image.prompt}\n` +
    (image.negativePrompt ? `Negative prompt: ${image.negativePrompt}\n` : "") +
    `Steps: ${o.num_inference_steps}, Sampler: ${result.scheduler}, CFG scale: ${o.guidance_scale}, ` +
    `Seed: ${result.seed}, Size: ${image.width}x${image.height}` +
    (model ? `, Model: ${model}` : "");
  return { parameters: params, ...fields };
}

function slug(text: string): string {
  const s = text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48)
    .replace(/-+$/g, "");
  return s || "image";
}

/** Write each image of a result to `dir` (created if needed); returns the file paths. */
export async function saveImages(result: GenerateResult, dir: string, options: { model?: string } = {}): Promise<string[]> {
  const files: string[] = [];
  for (const image of result.images) {
    const file = path.join(dir, `${slug(image.prompt)}-${result.seed}-${image.index}.png`);
    await writeFileAtomic(file, await encodePng(image, imageMetadata(result, image, options.model)));
    files.push(file);
  }
  return files;
}

/** Request checks every family shares: the image size against the model, and per-prompt fields against the batch. */
import { InvalidInputError } from "../errors.js";
import type { GenerateOptions } from "./options.js";
import type { DenoiserConfig } from "./model-config.js";

/** width and height (default: sample_size x VAE factor), each a multiple of what the UNet and VAE divide by. */
export function resolveImageSize(o: GenerateOptions, config: DenoiserConfig): { width: number; height: number } {
  const defaultSize = config.sampleSize * config.vaeScaleFactor;
  const width = o.width ?? defaultSize;
  const height = o.height ?? defaultSize;
  const multiple = config.vaeScaleFactor * config.latentMultiple;
  for (const [field, v] of [["width", width], ["height", height]] as const) {
    if (v % multiple !== 0) throw new InvalidInputError(field, `${v} does not fit this model's UNet`, `a multiple of ${multiple}`);
  }
  return { width, height };
}

export function promptList(prompt: string | string[]): string[] {
  return Array.isArray(prompt) ? prompt : [prompt];
}

/** A per-prompt field (one string for all, or one per prompt) as one value per prompt; undefined stays undefined. */
export function perPrompt(field: string, value: string | string[] | undefined, count: number): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return new Array(count).fill(value);
  if (value.length !== count) throw new InvalidInputError(field, `has ${value.length} entries for ${count} prompts`, `one string, or an array of ${count}`);
  return value;
}

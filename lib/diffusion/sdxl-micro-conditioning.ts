/**
 * SDXL's micro-conditioning (Podell et al. 2023, section 2.2): the UNet sees the original image size,
 * the crop's top-left corner and the target size as `time_ids` = [orig_h, orig_w, top, left,
 * target_h, target_w], each embedded sinusoidally and added to the time embedding together with the
 * pooled text embedding. Defaults as diffusers' StableDiffusionXLPipeline: both sizes the output
 * size, crop (0, 0); the negative branch gets the same ids.
 */
import { ModelLoadError } from "../errors.js";
import type { GenerateOptions } from "./options.js";

export type SizePair = readonly [number, number];

export interface MicroConditioning {
  originalSize: SizePair;
  cropsCoordsTopLeft: SizePair;
  targetSize: SizePair;
}

/** The request's conditioning with diffusers' defaults: original and target size = (height, width), crop (0, 0). */
export function microConditioning(o: Pick<GenerateOptions, "original_size" | "target_size" | "crops_coords_top_left">, height: number, width: number): MicroConditioning {
  return {
    originalSize: o.original_size ?? [height, width],
    cropsCoordsTopLeft: o.crops_coords_top_left ?? [0, 0],
    targetSize: o.target_size ?? [height, width],
  };
}

/** diffusers' `_get_add_time_ids`: original_size + crops_coords_top_left + target_size. */
export function addTimeIds(c: MicroConditioning): number[] {
  return [...c.originalSize, ...c.cropsCoordsTopLeft, ...c.targetSize];
}

/** `ids` repeated for `rows` rows, [rows, ids.length] row-major. */
export function timeIdsRows(ids: readonly number[], rows: number): Float32Array {
  const out = new Float32Array(rows * ids.length);
  for (let r = 0; r < rows; r++) out.set(ids, r * ids.length);
  return out;
}

/**
 * diffusers checks at every call that addition_time_embed_dim * len(time_ids) + the pooled size equals
 * add_embedding's input size; here the check runs once, at load, from unet/config.json.
 */
export function checkAddEmbeddingSize(unetConfig: Record<string, unknown>, pooledDim: number | undefined, timeIds: number): void {
  const perId = unetConfig.addition_time_embed_dim;
  const expected = unetConfig.projection_class_embeddings_input_dim;
  if (unetConfig.addition_embed_type !== undefined && unetConfig.addition_embed_type !== "text_time") {
    throw new ModelLoadError(`unet/config.json: addition_embed_type is ${JSON.stringify(unetConfig.addition_embed_type)}; SDXL pipelines need "text_time"`, "unet");
  }
  if (typeof perId !== "number" || typeof expected !== "number" || pooledDim === undefined) return;
  const passed = perId * timeIds + pooledDim;
  if (passed !== expected) {
    throw new ModelLoadError(
      `the UNet's add_embedding takes ${expected} values, but ${timeIds} time ids x addition_time_embed_dim ${perId} + ` +
        `text_embeds ${pooledDim} make ${passed} (check unet/config.json and text_encoder_2's projection size)`,
      "unet",
    );
  }
}

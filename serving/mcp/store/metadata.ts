/**
 * The `<id>.json` written beside each image. Read back through one schema: a file that does not parse
 * (a torn write by another tool, an edit by hand) makes its image invisible instead of failing a list.
 */
import { z } from "zod";
import { IMAGE_FORMATS, type ImageMetadata } from "./image-store.js";

const MetadataSchema = z.object({
  id: z.string(),
  format: z.enum(IMAGE_FORMATS),
  contentType: z.string(),
  size: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  created: z.iso.datetime(),
  etag: z.string(),
  prompt: z.string(),
  seed: z.number(),
  parameters: z.record(z.string(), z.unknown()),
});

export function serializeMetadata(meta: ImageMetadata): Uint8Array {
  return Buffer.from(`${JSON.stringify(meta, null, 2)}\n`, "utf8");
}

/** The metadata stored for `id`, or undefined when the bytes are not valid metadata for that id. */
export function parseMetadata(bytes: Uint8Array, id: string): ImageMetadata | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = MetadataSchema.safeParse(json);
  return parsed.success && parsed.data.id === id ? parsed.data : undefined;
}

/** Encoding a generated image in the requested format: PNG with its parameters as text, or JPEG/WebP. */
import sharp from "sharp";
import { encodePng, type RgbImage } from "../../lib/index.js";
import type { OutputFormat } from "../../lib/kserve/v1.js";

/** Quality of the lossy formats: visually lossless for generated pictures at a fraction of the PNG size. */
const LOSSY_QUALITY = 90;

export const CONTENT_TYPES: Record<OutputFormat, string> = { PNG: "image/png", JPEG: "image/jpeg", WEBP: "image/webp" };

export async function encodeImage(image: RgbImage, format: OutputFormat, text: Record<string, string>): Promise<Buffer> {
  if (format === "PNG") return encodePng(image, text);
  const raw = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  return format === "JPEG" ? raw.jpeg({ quality: LOSSY_QUALITY }).toBuffer() : raw.webp({ quality: LOSSY_QUALITY }).toBuffer();
}

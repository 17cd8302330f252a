/** Which encoded image format bytes hold, from their magic numbers (no decoding). */

export const ENCODED_IMAGE_FORMATS = ["png", "jpeg", "webp"] as const;
export type EncodedImageFormat = (typeof ENCODED_IMAGE_FORMATS)[number];

export const CONTENT_TYPES: Record<EncodedImageFormat, string> = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp" };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** PNG's 8-byte signature, JPEG's SOI marker + first segment marker, WebP's RIFF....WEBP header. */
export function sniffImageFormat(bytes: Uint8Array): EncodedImageFormat | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") return "webp";
  return undefined;
}

/** What a stored image is: its format from the magic bytes, its size from sharp, its ETag from its hash. */
import { createHash } from "node:crypto";
import sharp from "sharp";
import { InvalidInputError } from "../../../lib/errors.js";
import { CONTENT_TYPES, sniffImageFormat } from "../../../lib/images/format.js";
import type { ImageFormat } from "./image-store.js";

export { CONTENT_TYPES, sniffImageFormat };
const ALLOWED = "PNG, JPEG or WebP bytes";

export interface ImageFacts {
  format: ImageFormat;
  contentType: string;
  size: number;
  width: number;
  height: number;
  etag: string;
}

/** Format, dimensions and ETag of encoded bytes; InvalidInputError("image", ...) for anything else or a broken file. */
export async function describeImage(bytes: Uint8Array): Promise<ImageFacts> {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) throw new InvalidInputError("image", "is empty or not bytes", ALLOWED);
  const format = sniffImageFormat(bytes);
  if (!format) throw new InvalidInputError("image", "is not a PNG, JPEG or WebP file (unknown magic bytes)", ALLOWED);
  const meta = await sharp(bytes)
    .metadata()
    .catch((err: Error) => {
      throw new InvalidInputError("image", `looks like ${format} but cannot be read (${err.message})`, ALLOWED);
    });
  if (!meta.width || !meta.height) throw new InvalidInputError("image", `is a ${format} file without dimensions`, ALLOWED);
  return { format, contentType: CONTENT_TYPES[format], size: bytes.byteLength, width: meta.width, height: meta.height, etag: imageEtag(bytes) };
}

/** Strong ETag: the quoted SHA-256 of the bytes, e.g. "\"sha256-<64 hex>\"". */
export function imageEtag(bytes: Uint8Array): string {
  return `"sha256-${createHash("sha256").update(bytes).digest("hex")}"`;
}

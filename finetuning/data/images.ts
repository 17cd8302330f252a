/**
 * One instance image: decode with sharp, check the format, apply the EXIF orientation, check the
 * size, centre-crop or pad to the square training resolution, and hash it (SHA-256 of the source
 * bytes for exact duplicates, a 64-bit difference hash for near duplicates).
 */
import { createHash } from "node:crypto";
import sharp, { type Metadata, type Sharp } from "sharp";

/** Formats the diffusers scripts' PIL loader reads and sharp decodes. */
export const ACCEPTED_FORMATS = ["jpeg", "png", "webp", "tiff", "gif", "avif", "heif"] as const;
export type Fit = "crop" | "pad";

export type Rejection =
  | { reason: "corrupt"; detail: string }
  | { reason: "unsupported-format"; detail: string }
  | { reason: "too-small"; detail: string };

export interface CheckedImage {
  format: string;
  /** Size after the EXIF orientation is applied. */
  width: number;
  height: number;
  /** EXIF orientation tag (1 = upright) of the source. */
  orientation: number;
  sha256: string;
  /** Difference hash of the upright image, 16 hex digits. */
  dhash: string;
}

/**
 * dHash (Krawetz): grey 9x8 thumbnail, one bit per horizontal neighbour comparison. Survives
 * re-encoding and resizing, so copies of one photo at two sizes are found as well.
 */
async function differenceHash(upright: Sharp): Promise<string> {
  const px = await upright.clone().greyscale().resize(9, 8, { fit: "fill" }).raw().toBuffer();
  let bits = 0n;
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits = (bits << 1n) | (px[y * 9 + x] > px[y * 9 + x + 1] ? 1n : 0n);
  return bits.toString(16).padStart(16, "0");
}

export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let n = 0;
  for (; x > 0n; x >>= 1n) n += Number(x & 1n);
  return n;
}

/** Decodes and checks one image; a rejection says why it cannot be used. */
export async function checkImage(bytes: Buffer, minSize: number): Promise<CheckedImage | Rejection> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    return { reason: "unsupported-format", detail: (err as Error).message };
  }
  const format = meta.format ?? "unknown";
  if (!(ACCEPTED_FORMATS as readonly string[]).includes(format)) {
    return { reason: "unsupported-format", detail: `${format} (accepted: ${ACCEPTED_FORMATS.join(", ")})` };
  }
  const orientation = meta.orientation ?? 1;
  // Orientations 5-8 rotate by 90 degrees: width and height swap once upright.
  const swap = orientation >= 5;
  const width = (swap ? meta.height : meta.width) ?? 0;
  const height = (swap ? meta.width : meta.height) ?? 0;
  let dhash: string;
  try {
    // A full decode: metadata() reads only the header, a truncated file fails here.
    const upright = sharp(bytes, { failOn: "error" }).rotate();
    await upright.clone().raw().toBuffer();
    dhash = await differenceHash(upright);
  } catch (err) {
    return { reason: "corrupt", detail: (err as Error).message };
  }
  if (Math.min(width, height) < minSize) {
    return { reason: "too-small", detail: `${width}x${height}, the shorter side is under ${minSize} px` };
  }
  return { format, width, height, orientation, sha256: createHash("sha256").update(bytes).digest("hex"), dhash };
}

/** The upright image as a PNG of `resolution` x `resolution`: centre crop (cover) or pad (contain). */
export async function toTrainingImage(bytes: Buffer, resolution: number, fit: Fit, padColor = "#000000"): Promise<Buffer> {
  return sharp(bytes)
    .rotate()
    // Transparent pixels take the pad colour too: the training scripts convert to RGB anyway.
    .flatten({ background: padColor })
    .resize(resolution, resolution, fit === "crop" ? { fit: "cover", position: "centre" } : { fit: "contain", background: padColor })
    .png()
    .toBuffer();
}

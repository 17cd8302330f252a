/**
 * The init image of image-to-image: decoded with sharp (libvips) from PNG, JPEG or WebP bytes or
 * their base64 (a data: URL too), and prepared as diffusers' VaeImageProcessor.preprocess does: RGB
 * (alpha dropped, as PIL's convert("RGB"), grey expanded), resized to the output size with a
 * Lanczos-3 filter (PIL's LANCZOS) only when the size differs, then x / 255 * 2 - 1 in float32.
 * No EXIF rotation is applied, as PIL does not apply one either.
 */
import sharp, { type Metadata, type OutputInfo } from "sharp";
import { InvalidInputError } from "../errors.js";

export const INIT_IMAGE_FORMATS = ["png", "jpeg", "webp"] as const;
const ALLOWED = "PNG, JPEG or WebP bytes, or their base64 (a data: URL too)";
/** libvips refuses larger images by default too; named here so the error can say it. */
const MAX_INPUT_PIXELS = 268_402_689;

export interface DecodedInitImage {
  bytes: Uint8Array;
  format: (typeof INIT_IMAGE_FORMATS)[number];
  width: number;
  height: number;
}

export interface InitImage {
  /** [1, 3, height, width] in [-1, 1], float32 (diffusers' preprocessed tensor). */
  data: Float32Array;
  width: number;
  height: number;
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The request's `image` field as bytes: bytes as they are, a string as base64 or a data: URL. */
function toBytes(image: string | Uint8Array): Uint8Array {
  if (typeof image !== "string") return image;
  let text = image.trim();
  const dataUrl = /^data:([^;,]*)(;base64)?,/i.exec(text);
  if (dataUrl) {
    if (!dataUrl[2]) throw new InvalidInputError("image", "data: URL is not base64-encoded", ALLOWED);
    text = text.slice(dataUrl[0].length);
  }
  text = text.replace(/\s+/g, "");
  if (text.length === 0 || !BASE64.test(text)) throw new InvalidInputError("image", "is neither image bytes nor base64", ALLOWED);
  return new Uint8Array(Buffer.from(text, text.includes("-") || text.includes("_") ? "base64url" : "base64"));
}

/** Decode the header: format and size, refusing anything but PNG, JPEG and WebP. */
export async function readInitImage(image: string | Uint8Array): Promise<DecodedInitImage> {
  const bytes = toBytes(image);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  } catch (err) {
    throw new InvalidInputError("image", `cannot be decoded (${(err as Error).message})`, ALLOWED);
  }
  const format = meta.format as string | undefined;
  if (!format || !(INIT_IMAGE_FORMATS as readonly string[]).includes(format)) {
    throw new InvalidInputError("image", `is ${format ?? "an unknown format"}`, ALLOWED);
  }
  if (!meta.width || !meta.height) throw new InvalidInputError("image", "has no size", ALLOWED);
  return { bytes, format: format as DecodedInitImage["format"], width: meta.width, height: meta.height };
}

/**
 * The output size an init image gives when the request names none: its own size rounded down to
 * `multiple` (diffusers rounds down to the VAE's factor 8; here to what the UNet accepts).
 */
export function initImageSize(image: DecodedInitImage, multiple: number): { width: number; height: number } {
  const round = (v: number) => v - (v % multiple);
  const size = { width: round(image.width), height: round(image.height) };
  if (size.width === 0 || size.height === 0) {
    throw new InvalidInputError("image", `is ${image.width}x${image.height}, smaller than ${multiple} pixels`, `images of at least ${multiple}x${multiple} pixels`);
  }
  return size;
}

/** Decode, convert to RGB, resize to width x height and normalize to [-1, 1], NCHW. */
export async function prepareInitImage(image: DecodedInitImage, width: number, height: number): Promise<InitImage> {
  let pipeline = sharp(image.bytes, { limitInputPixels: MAX_INPUT_PIXELS }).removeAlpha().toColourspace("srgb");
  if (image.width !== width || image.height !== height) {
    pipeline = pipeline.resize(width, height, { fit: "fill", kernel: "lanczos3" });
  }
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new InvalidInputError("image", `cannot be decoded (${(err as Error).message})`, ALLOWED);
  }
  const { data, info } = raw;
  if (info.channels !== 3 || info.width !== width || info.height !== height) {
    throw new InvalidInputError("image", `decoded to ${info.width}x${info.height} with ${info.channels} channels`, "an RGB or grey image");
  }
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = f(f(2 * f(data[p * 3 + c] / 255)) - 1);
  }
  return { data: out, width, height };
}

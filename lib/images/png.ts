/**
 * PNG encoding with text metadata. sharp (libvips) encodes the pixels but cannot write PNG text
 * chunks, so the chunks are spliced in here after IHDR: tEXt for Latin-1 text, iTXt (UTF-8,
 * uncompressed) otherwise, as the PNG specification (ISO/IEC 15948, section 11.3.4) defines them.
 * Keys follow the convention of other SD tools ("parameters" plus individual fields).
 */
import { crc32 } from "node:zlib";
import sharp from "sharp";
import type { RgbImage } from "./postprocess.js";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function textChunk(keyword: string, text: string): Buffer {
  if (!/^[\x20-\x7e\xa1-\xff]{1,79}$/.test(keyword) || keyword !== keyword.trim()) {
    throw new RangeError(`PNG text keyword must be 1-79 Latin-1 characters without surrounding spaces: '${keyword}'`);
  }
  const latin1 = /^[\x00-\xff]*$/.test(text) && !text.includes("\0");
  if (latin1) return chunk("tEXt", Buffer.concat([Buffer.from(keyword, "latin1"), Buffer.from([0]), Buffer.from(text, "latin1")]));
  // iTXt: keyword \0 compression-flag(0) compression-method(0) language-tag \0 translated-keyword \0 text(UTF-8)
  return chunk(
    "iTXt",
    Buffer.concat([Buffer.from(keyword, "latin1"), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text.replaceAll("\0", ""), "utf8")]),
  );
}

/** Insert text chunks right after IHDR (the first chunk) of an encoded PNG. */
export function addPngText(png: Buffer, text: Record<string, string>): Buffer {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new TypeError("not a PNG file");
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  const chunks = Object.entries(text).map(([k, v]) => textChunk(k, v));
  return Buffer.concat([png.subarray(0, ihdrEnd), ...chunks, png.subarray(ihdrEnd)]);
}

export async function encodePng(image: RgbImage, text: Record<string, string> = {}): Promise<Buffer> {
  const png = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png({ compressionLevel: 6 })
    .toBuffer();
  return Object.keys(text).length ? addPngText(png, text) : png;
}

/** Read the text chunks of a PNG (tEXt and iTXt), e.g. to recover a generation's parameters. */
export async function readPngText(png: Buffer): Promise<Record<string, string>> {
  const meta = await sharp(png).metadata();
  const out: Record<string, string> = {};
  for (const c of meta.comments ?? []) out[c.keyword] = c.text;
  return out;
}

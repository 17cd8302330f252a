/**
 * The binary tensor data extension of the Open Inference Protocol (Triton's "binary_tensor_data", which
 * KServe's model server implements): a JSON header of `Inference-Header-Content-Length` bytes, then the
 * raw tensors in the order of the inputs (outputs) that carry `parameters.binary_data_size`. A BYTES
 * tensor is laid out as each element's length (4-byte little-endian) followed by its bytes.
 *
 * Hand-written: the layout is a few lines and no maintained npm package implements it.
 */
import { InvalidInputError } from "../errors.js";

export const INFERENCE_HEADER_CONTENT_LENGTH = "inference-header-content-length";
/** Content type of a binary-extension body (request or response). */
export const BINARY_CONTENT_TYPE = "application/octet-stream";

/** Serialise BYTES elements as the extension lays them out. */
export function encodeBytesTensor(elements: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of elements) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(e.byteLength, 0);
    parts.push(len, Buffer.from(e.buffer, e.byteOffset, e.byteLength));
  }
  return Buffer.concat(parts);
}

/** Read the BYTES elements of one serialised tensor; `name` is for the error message. */
export function decodeBytesTensor(raw: Uint8Array, name: string): Buffer[] {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 4 > buf.length) throw new InvalidInputError(name, "binary BYTES data ends inside an element's length prefix");
    const len = buf.readUInt32LE(at);
    at += 4;
    if (at + len > buf.length) throw new InvalidInputError(name, `binary BYTES element of ${len} bytes runs past the tensor's end`);
    out.push(buf.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** The JSON header and the binary tail of a body sent with the extension. */
export function splitBinaryBody(body: Buffer, headerLength: string | undefined): { json: Buffer; tail: Buffer } {
  const n = Number(headerLength);
  if (!Number.isInteger(n) || n < 0 || n > body.length) {
    throw new InvalidInputError(
      "Inference-Header-Content-Length",
      `'${headerLength}' is not a length within the ${body.length}-byte body`,
      `an integer from 0 to ${body.length}`,
    );
  }
  return { json: body.subarray(0, n), tail: body.subarray(n) };
}

/** Cut consecutive slices of `binary_data_size` bytes off a binary tail, in order. */
export class BinaryTailReader {
  private at = 0;
  constructor(private readonly tail: Buffer) {}

  take(size: unknown, name: string): Buffer {
    if (typeof size !== "number" || !Number.isInteger(size) || size < 0) {
      throw new InvalidInputError(`${name}.parameters.binary_data_size`, `'${String(size)}' is not a byte count`, "a non-negative integer");
    }
    if (this.at + size > this.tail.length) {
      throw new InvalidInputError(
        `${name}.parameters.binary_data_size`,
        `${size} bytes asked for, ${this.tail.length - this.at} left in the body`,
        "the sizes of the binary tensors appended after the JSON header",
      );
    }
    const out = this.tail.subarray(this.at, this.at + size);
    this.at += size;
    return out;
  }

  /** Bytes nobody claimed: a malformed request. */
  get remaining(): number {
    return this.tail.length - this.at;
  }
}

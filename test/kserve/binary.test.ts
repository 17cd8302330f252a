import { describe, expect, it } from "vitest";
import { InvalidInputError, decodeBytesTensor, encodeBytesTensor, splitBinaryBody } from "../../lib/index.js";

describe("binary tensor data extension", () => {
  it("lays BYTES elements out as a 4-byte little-endian length and the bytes, and reads them back", () => {
    const raw = encodeBytesTensor([Buffer.from("ab"), Buffer.alloc(0), Buffer.from("héllo")]);
    expect(raw.subarray(0, 6)).toEqual(Buffer.from([2, 0, 0, 0, 0x61, 0x62]));
    expect(decodeBytesTensor(raw, "t").map((b) => b.toString())).toEqual(["ab", "", "héllo"]);
  });

  it("refuses truncated tensors and header lengths outside the body, naming the tensor", () => {
    expect(() => decodeBytesTensor(Buffer.from([5, 0, 0, 0, 1]), "prompt")).toThrow(/^prompt: binary BYTES element of 5 bytes/);
    expect(() => decodeBytesTensor(Buffer.from([5, 0]), "prompt")).toThrow(InvalidInputError);
    expect(() => splitBinaryBody(Buffer.from("{}"), "3")).toThrow(/Inference-Header-Content-Length/);
    expect(splitBinaryBody(Buffer.from("{}xyz"), "2").tail.toString()).toBe("xyz");
  });
});

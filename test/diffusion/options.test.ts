import { describe, expect, it } from "vitest";
import { InvalidInputError, parseGenerateOptions } from "../../lib/index.js";

function fails(input: unknown): InvalidInputError {
  try {
    parseGenerateOptions(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error("expected an InvalidInputError");
}

describe("GenerateOptions", () => {
  it("fills diffusers' defaults", () => {
    expect(parseGenerateOptions({ prompt: "a cat" })).toEqual({
      prompt: "a cat",
      num_inference_steps: 50,
      guidance_scale: 7.5,
      num_images_per_prompt: 1,
      eta: 0,
    });
  });

  it.each([
    [{ prompt: "x", width: 100 }, "width", "multiple of 8"],
    [{ prompt: "x", height: 63 }, "height", "multiple of 8"],
    [{ prompt: "x", width: 8 }, "width", "64"],
    [{ prompt: "x", num_inference_steps: 0 }, "num_inference_steps", "1 to 1000"],
    [{ prompt: "x", num_inference_steps: 10_000 }, "num_inference_steps", "1 to 1000"],
    [{ prompt: "x", num_inference_steps: 2.5 }, "num_inference_steps", "integer"],
    [{ prompt: "x", guidance_scale: -1 }, "guidance_scale", "0 to 100"],
    [{ prompt: "x", seed: 1.5 }, "seed", "safe integer"],
    [{ prompt: "x", seed: 2 ** 60 }, "seed", "safe integer"],
    [{ prompt: "x", num_images_per_prompt: 0 }, "num_images_per_prompt", "1 to 16"],
    [{ prompt: 42 }, "prompt", "string"],
    [{}, "prompt", "string"],
    [{ prompt: [] }, "prompt", "non-empty"],
    [{ prompt: "x", eta: 2 }, "eta", "0 to 1"],
    [{ prompt: "x", strength: 0 }, "strength", "(0, 1]"],
    [{ prompt: "x", max_sequence_length: 513 }, "max_sequence_length", "1 to 512"],
    [{ prompt: "x", original_size: [1] }, "original_size", "[height, width]"],
  ])("rejects %j naming the field and the allowed values", (input, field, allowed) => {
    const err = fails(input);
    expect(err.field).toBe(field);
    expect(err.allowed).toContain(allowed);
    expect(err.message).toContain(field);
  });

  it("rejects unknown fields, listing the known ones", () => {
    const err = fails({ prompt: "x", num_steps: 3 });
    expect(err.field).toBe("num_steps");
    expect(err.message).toContain("unknown field");
    expect(err.allowed).toContain("num_inference_steps");
  });

  it("accepts any safe integer seed, negative included (torch takes it modulo 2^64)", () => {
    expect(parseGenerateOptions({ prompt: "x", seed: -5 }).seed).toBe(-5);
    expect(parseGenerateOptions({ prompt: "x", seed: Number.MAX_SAFE_INTEGER }).seed).toBe(Number.MAX_SAFE_INTEGER);
  });
});

import { describe, expect, it } from "vitest";
import { V1_INSTANCE_FIELDS, parseOutputFormat, parseV1Envelope, parseV1Instance } from "../../lib/index.js";

describe("V1 instances", () => {
  it("parse into the library's options with PNG as the default format", () => {
    const p = parseV1Instance({ prompt: "a fox", num_inference_steps: 4, seed: 1 }, 0);
    expect(p.outputFormat).toBe("PNG");
    expect(p.options).toMatchObject({ prompt: "a fox", num_inference_steps: 4, seed: 1, guidance_scale: 7.5 });
  });

  it("accept every field of the library's request plus output_format", () => {
    expect(V1_INSTANCE_FIELDS).toEqual(expect.arrayContaining(["prompt", "negative_prompt", "prompt_2", "prompt_3", "image", "strength", "output_format"]));
    expect(parseOutputFormat("jpg")).toBe("JPEG");
  });

  it("name the instance and field of an error", () => {
    expect(() => parseV1Instance({ prompt: "x", guidance_scale: -1 }, 3)).toThrow(/^instances\[3\]\.guidance_scale: .*\(allowed: a number from 0 to 100\)$/);
    expect(() => parseV1Instance("x", 0)).toThrow(/^instances\[0\]: must be an object/);
    expect(() => parseV1Envelope({ instances: new Array(5).fill({}) }, 4)).toThrow(/^instances: 5 instances in one request \(allowed: 1 to 4\)$/);
  });
});

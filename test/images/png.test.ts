import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { encodePng, readPngText } from "../../lib/index.js";

describe("encodePng", () => {
  const image = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i * 14) };

  it("keeps the pixels exactly", async () => {
    const png = await encodePng(image);
    const raw = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(raw.info).toMatchObject({ width: 3, height: 2, channels: 3 });
    expect([...raw.data]).toEqual([...image.data]);
  });

  it("writes text metadata that PNG readers see, Latin-1 and UTF-8 alike", async () => {
    const text = { prompt: "a café at dawn, 東京, 🚀", seed: "42", scheduler: "EulerDiscreteScheduler" };
    const png = await encodePng(image, text);
    expect(await readPngText(png)).toEqual(text);
    // still a valid image after the splice
    expect((await sharp(png).metadata()).width).toBe(3);
  });

  it("rejects an invalid keyword", async () => {
    await expect(encodePng(image, { "": "x" })).rejects.toThrow(/keyword/);
  });
});

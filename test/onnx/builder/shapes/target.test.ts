/** The closed form: what each word does to the picture (pure TypeScript, no model). */
import { describe, expect, it } from "vitest";
import { promptAttributes } from "../../../../lib/onnx/builder/shapes/attributes.js";
import { shapesGuidedTarget, shapesTarget } from "../../../../lib/onnx/builder/shapes/target.js";
import { COLOURS, SHAPE_NAMES } from "../../../../lib/onnx/builder/shapes/vocabulary.js";
import { InvalidInputError } from "../../../../lib/errors.js";
import { pixel } from "../../../helpers/shapes.js";

const S = 128;
const at = (prompt: string, x: number, y: number, w = S, h = S) => pixel(shapesTarget(prompt, w, h).rgb, w, x, y);
const GRAY = [0.5, 0.5, 0.5];
const corners = (prompt: string) => [at(prompt, 0, 0), at(prompt, S - 1, 0), at(prompt, 0, S - 1), at(prompt, S - 1, S - 1)];
/** Fraction of pixels that differ from the top-left corner's colour. */
function coverage(prompt: string, w = S, h = S): number {
  const rgb = shapesTarget(prompt, w, h).rgb;
  let n = 0;
  for (let p = 0; p < w * h; p++) if (Math.abs(rgb[p * 3] - rgb[0]) + Math.abs(rgb[p * 3 + 1] - rgb[1]) + Math.abs(rgb[p * 3 + 2] - rgb[2]) > 1e-6) n++;
  return n / (w * h);
}
/** Area of a white shape on the default mid-gray background, as a fraction of the picture (edges count fractionally). */
function area(prompt: string, size = S): number {
  const rgb = shapesTarget(prompt, size, size).rgb;
  let sum = 0;
  for (let p = 0; p < size * size; p++) sum += (rgb[p * 3] - 0.5) / 0.5;
  return sum / (size * size);
}
/** Centre of mass of the pixels that differ from the corner, in [0, 1] of width and height. */
function centroid(prompt: string): [number, number] {
  const rgb = shapesTarget(prompt, S, S).rgb;
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const p = y * S + x;
      if (Math.abs(rgb[p * 3] - rgb[0]) + Math.abs(rgb[p * 3 + 1] - rgb[1]) + Math.abs(rgb[p * 3 + 2] - rgb[2]) > 0.5) {
        sx += x + 0.5;
        sy += y + 0.5;
        n++;
      }
    }
  }
  return [sx / n / S, sy / n / S];
}

describe("the analytic target of a prompt", () => {
  it("draws a red star on a blue background: centre pixel red, corners blue", () => {
    expect(at("a red star on a blue background", S / 2, S / 2)).toEqual([1, 0, 0]);
    for (const c of corners("a red star on a blue background")) expect(c).toEqual([0, 0, 1]);
  });

  it("an empty prompt is mid-gray everywhere; a shape without a colour is white", () => {
    expect(coverage("")).toBe(0);
    expect(at("", S / 2, S / 2)).toEqual(GRAY);
    expect(at("a circle", S / 2, S / 2)).toEqual([1, 1, 1]);
    expect(at("a circle", 0, 0)).toEqual(GRAY);
  });

  it("every colour word colours the shape, and after 'on a' colours the background", () => {
    for (const [word, rgb] of Object.entries(COLOURS)) {
      expect(at(`a ${word} square`, S / 2, S / 2), word).toEqual([...rgb]);
      expect(at(`a square on a ${word} background`, 0, 0), word).toEqual([...rgb]);
      expect(at(`a square on a ${word} background`, S / 2, S / 2), word).toEqual([1, 1, 1]);
    }
  });

  it("a colour goes to the noun after it, whichever comes first", () => {
    expect(promptAttributes("a blue background with a red star")).toMatchObject({ foreground: [1, 0, 0], background: [0, 0, 1] });
    expect(promptAttributes("a red star on a blue background")).toMatchObject({ foreground: [1, 0, 0], background: [0, 0, 1] });
    // a trailing colour with no noun after it colours the shape
    expect(promptAttributes("a star, red")).toMatchObject({ foreground: [1, 0, 0], background: GRAY });
  });

  it("several colour words for one part average ('red and blue' is purple)", () => {
    expect(promptAttributes("a red and blue star").foreground).toEqual([0.5, 0, 0.5]);
    expect(promptAttributes("a red yellow star").foreground).toEqual([1, 0.5, 0]);
  });

  it("each shape word draws a different mask, and two shape words draw their union", () => {
    const masks = SHAPE_NAMES.map((s) => shapesTarget(`a ${s}`, S, S).rgb.join());
    expect(new Set(masks).size).toBe(SHAPE_NAMES.length);
    for (const s of SHAPE_NAMES) expect(area(`a ${s}`), s).toBeGreaterThan(0.05);
    // the ring is hollow, the circle is not
    expect(at("a ring", S / 2, S / 2)).toEqual(GRAY);
    expect(at("a circle", S / 2, S / 2)).toEqual([1, 1, 1]);
    expect(area("a circle and a square")).toBeGreaterThan(Math.max(area("a circle"), area("a square")));
    expect(area("a circle and a square")).toBeLessThan(area("a circle") + area("a square"));
  });

  it("left, right, top and bottom move the shape to that edge; centre (and centre / middle) leave it in the middle", () => {
    const [cx, cy] = centroid("a red circle");
    expect(cx).toBeCloseTo(0.5, 2);
    expect(cy).toBeCloseTo(0.5, 2);
    expect(centroid("a red circle on the left")[0]).toBeLessThan(0.3);
    expect(centroid("a red circle on the right")[0]).toBeGreaterThan(0.7);
    expect(centroid("a red circle at the top")[1]).toBeLessThan(0.3);
    expect(centroid("a red circle at the bottom")[1]).toBeGreaterThan(0.7);
    const corner = centroid("a red circle at the top left");
    expect(corner[0]).toBeLessThan(0.3);
    expect(corner[1]).toBeLessThan(0.3);
    for (const word of ["centre", "center", "middle"]) expect(shapesTarget(`a red circle in the ${word}`, S, S).rgb).toEqual(shapesTarget("a red circle", S, S).rgb);
    // a shape at an edge: its box touches the edge (the square fills 0.8 of its box of 0.75 S)
    expect(at("a big red square on the left", 0, S / 2)).toEqual(GRAY);
    expect(at("a big red square on the left", 16, S / 2)).toEqual([1, 0, 0]);
    expect(at("a big red square on the right", S - 17, S / 2)).toEqual([1, 0, 0]);
  });

  it("small and big scale the shape (side 1/4, 1/2, 3/4 of the shorter side)", () => {
    // at 512 px (64 latent cells) the point-sampled mask is fine enough to measure areas
    const small = area("a small square", 512);
    const medium = area("a square", 512);
    const big = area("a big square", 512);
    expect(small).toBeLessThan(medium);
    expect(medium).toBeLessThan(big);
    // the square fills 0.8 of its box
    expect(small).toBeCloseTo((0.25 * 0.8) ** 2, 2);
    expect(medium).toBeCloseTo((0.5 * 0.8) ** 2, 2);
    expect(big).toBeCloseTo((0.75 * 0.8) ** 2, 2);
    expect(promptAttributes("a tiny square").size).toBe(-1);
    expect(promptAttributes("a large square").size).toBe(1);
  });

  it("unknown words change nothing", () => {
    const base = shapesTarget("a red star on a blue background", S, S).rgb;
    expect(shapesTarget("a photorealistic red star on a blue background, trending on artstation, 8k", S, S).rgb).toEqual(base);
    expect(shapesTarget("zebra quux", S, S).rgb).toEqual(shapesTarget("", S, S).rgb);
  });

  it("keeps shapes round on non-square pictures", () => {
    const w = 256;
    const h = 128;
    const rgb = shapesTarget("a big circle", w, h).rgb;
    let minX = w;
    let maxX = 0;
    let minY = h;
    let maxY = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (pixel(rgb, w, x, y)[0] > 0.75) {
          minX = Math.min(minX, x);
          maxX = Math.max(maxX, x);
          minY = Math.min(minY, y);
          maxY = Math.max(maxY, y);
        }
      }
    }
    expect(maxX - minX).toBe(maxY - minY);
  });

  it("guidance: clip(x_u + w (x_c - x_u)); with the empty negative prompt a one-colour prompt does not change with w", () => {
    const p = "an orange square on a purple background";
    for (const w of [2, 7.5, 20]) {
      const guided = shapesGuidedTarget(p, "", w, S, S);
      expect(pixel(guided, S, 0, 0)).toEqual([0.5, 0, 0.5]);
      expect(pixel(guided, S, S / 2, S / 2)).toEqual([1, 0.5, 0]);
    }
    // a coloured negative prompt is pushed away from: background 0.5 + 3 (0.5 - 1) clipped
    expect(pixel(shapesGuidedTarget("a red square", "on a white background", 3, S, S), S, 0, 0)).toEqual([0, 0, 0]);
  });

  it("rejects sizes that are not multiples of 8", () => {
    expect(() => shapesTarget("a star", 100, 64)).toThrow(InvalidInputError);
  });
});

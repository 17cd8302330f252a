/**
 * The shape masks the UNet stores as constants: one MASK_SIZE x MASK_SIZE coverage map per shape
 * (fraction of each cell inside the shape, from SUPERSAMPLE^2 samples, so edges are anti-aliased),
 * each shape drawn inside the square [-1, 1]^2 with y pointing down. The UNet scales and moves this
 * square onto the latent grid (placement.ts) and samples it bilinearly.
 */
import { SHAPE_NAMES, type ShapeName } from "./vocabulary.js";

export const MASK_SIZE = 64;
const SUPERSAMPLE = 4;

type Inside = (x: number, y: number) => boolean;

/** Even-odd rule: is (x, y) inside the polygon? */
function inPolygon(points: readonly (readonly [number, number])[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** A regular five-pointed star, point up: outer radius 0.95, inner 0.4. */
const STAR: [number, number][] = Array.from({ length: 10 }, (_, i) => {
  const r = i % 2 === 0 ? 0.95 : 0.4;
  const a = -Math.PI / 2 + (i * Math.PI) / 5;
  return [r * Math.cos(a), r * Math.sin(a) + 0.08];
});

const TRIANGLE: [number, number][] = [
  [0, -0.85],
  [0.92, 0.75],
  [-0.92, 0.75],
];

const INSIDE: Record<ShapeName, Inside> = {
  circle: (x, y) => x * x + y * y <= 0.9 * 0.9,
  square: (x, y) => Math.max(Math.abs(x), Math.abs(y)) <= 0.8,
  triangle: (x, y) => inPolygon(TRIANGLE, x, y),
  star: (x, y) => inPolygon(STAR, x, y),
  // The classic heart curve (x^2 + y^2 - 1)^3 = x^2 y^3, y up, scaled into the square.
  heart: (x, y) => {
    const X = x * 1.25;
    const Y = -y * 1.25 + 0.15;
    return (X * X + Y * Y - 1) ** 3 - X * X * Y ** 3 <= 0;
  },
  ring: (x, y) => {
    const r2 = x * x + y * y;
    return r2 <= 0.9 * 0.9 && r2 >= 0.55 * 0.55;
  },
};

/** Coverage map of one shape, row-major [MASK_SIZE, MASK_SIZE]. */
export function shapeMask(name: ShapeName): Float32Array {
  const inside = INSIDE[name];
  const out = new Float32Array(MASK_SIZE * MASK_SIZE);
  const n = SUPERSAMPLE * SUPERSAMPLE;
  for (let i = 0; i < MASK_SIZE; i++) {
    for (let j = 0; j < MASK_SIZE; j++) {
      let hits = 0;
      for (let a = 0; a < SUPERSAMPLE; a++) {
        for (let b = 0; b < SUPERSAMPLE; b++) {
          const y = ((i + (a + 0.5) / SUPERSAMPLE) / MASK_SIZE) * 2 - 1;
          const x = ((j + (b + 0.5) / SUPERSAMPLE) / MASK_SIZE) * 2 - 1;
          if (inside(x, y)) hits++;
        }
      }
      out[i * MASK_SIZE + j] = hits / n;
    }
  }
  return out;
}

let all: Float32Array | undefined;

/** All masks in SHAPE_NAMES order, [shapes, MASK_SIZE, MASK_SIZE] (built once). */
export function shapeMasks(): Float32Array {
  if (!all) {
    all = new Float32Array(SHAPE_NAMES.length * MASK_SIZE * MASK_SIZE);
    SHAPE_NAMES.forEach((name, k) => all!.set(shapeMask(name), k * MASK_SIZE * MASK_SIZE));
  }
  return all;
}

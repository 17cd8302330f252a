/**
 * Where the mask square lands on a latent grid of h x w cells, in the normalized coordinates of
 * ONNX GridSample (align_corners = 0: -1 and 1 are the outer edges of the first and last cells).
 *
 * The square's side is `0.5 + 0.25 * size` of the shorter side (small 0.25, medium 0.5, big 0.75);
 * a shape placed left/right/top/bottom touches that edge, one in the centre is centred. For output
 * coordinate u on an axis, the mask is read at (u - centre) / halfExtent.
 */
export const MEDIUM_SIDE = 0.5;
export const SIDE_PER_SIZE_STEP = 0.25;

export interface AxisPlacement {
  /** Centre of the square, normalized [-1, 1]. */
  centre: number;
  /** Half the square's side, normalized (1 = the whole axis). */
  halfExtent: number;
}

/** Placement along one axis of `length` cells, given the shorter side, the position (-1, 0, 1) and size (-1, 0, 1). */
export function axisPlacement(length: number, shorter: number, position: number, size: number): AxisPlacement {
  const side = MEDIUM_SIDE + SIDE_PER_SIZE_STEP * size;
  const half = (side / 2) * (shorter / length); // fraction of this axis
  return { centre: position * (1 - 2 * half), halfExtent: 2 * half };
}

/** Normalized coordinate of cell `index`'s centre on an axis of `length` cells. */
export function cellCentre(index: number, length: number): number {
  return (2 * index + 1) / length - 1;
}

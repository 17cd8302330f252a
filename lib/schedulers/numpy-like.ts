/**
 * The few numpy operations diffusers builds timestep and sigma schedules with, with numpy's exact
 * semantics where they show in the results: `round` rounds halves to even (np.round(812.5) is 812),
 * `arange` with a fractional step fills `start + i * delta`, `interp` returns table values exactly
 * at the nodes. All in float64, as numpy computes them.
 */

/** np.round / np.rint: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** np.linspace(start, stop, num) with endpoint: `i * step + start`, the last value set to `stop`. */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/** np.arange(start, stop, step) for a float step: ceil((stop - start) / step) values `start + i * delta`. */
export function arange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  // numpy fills from the first two values: delta = (start + step) - start
  const delta = start + step - start;
  return Array.from({ length }, (_, i) => (i === 0 ? start : start + i * delta));
}

/** np.interp(x, arange(len(fp)), fp): linear interpolation in a table indexed 0..n-1. */
export function interpIndexed(x: number, fp: ArrayLike<number>): number {
  const n = fp.length;
  if (x <= 0) return fp[0];
  if (x >= n - 1) return fp[n - 1];
  const j = Math.floor(x);
  if (j === x) return fp[j];
  const slope = fp[j + 1] - fp[j];
  return slope * (x - j) + fp[j];
}

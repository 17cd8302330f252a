import { describe, expect, it } from "vitest";
import { arange, interpIndexed, linspace, roundHalfEven } from "../../lib/schedulers/numpy-like.js";

describe("numpy-like helpers", () => {
  it("round halves to even, as np.round does", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 812.5, 937.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 812, 938, 2, 3]);
  });

  it("count an arange with a fractional step as numpy does", () => {
    expect(arange(1000, 0, -1000 / 3)).toHaveLength(3);
    expect(arange(1000, 0, -62.5).map(roundHalfEven).slice(0, 3)).toEqual([1000, 938, 875]);
  });

  it("end a linspace exactly at its stop", () => {
    expect(linspace(0, 999, 7).at(-1)).toBe(999);
    expect(linspace(0, 999, 1)).toEqual([0]);
  });

  it("interpolate an indexed table, exact at the nodes and clamped at the ends", () => {
    const table = [0, 10, 30];
    expect(interpIndexed(1, table)).toBe(10);
    expect(interpIndexed(1.5, table)).toBe(20);
    expect(interpIndexed(-1, table)).toBe(0);
    expect(interpIndexed(5, table)).toBe(30);
  });
});

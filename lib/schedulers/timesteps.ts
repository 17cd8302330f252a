/**
 * Where the inference timesteps fall among the training timesteps, and finding a timestep's place
 * in the schedule, as the diffusers schedulers share them.
 */
import { InvalidInputError } from "../errors.js";
import type { TimestepSpacing } from "./config.js";
import { arange, linspace, roundHalfEven } from "./numpy-like.js";

/**
 * The `num` inference timesteps in descending order for one spacing (Lin et al. 2023, Table 2):
 * "linspace" spreads them over [0, T-1] and keeps fractions (each scheduler rounds or casts them its
 * own way), "leading" takes multiples of T // num plus `steps_offset`, "trailing" counts down from T
 * in steps of T / num, rounded half to even, minus 1.
 */
export function spacedTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  num: number,
  stepsOffset: number,
): number[] {
  switch (spacing) {
    case "linspace":
      return linspace(0, numTrainTimesteps - 1, num).reverse();
    case "leading": {
      const ratio = Math.floor(numTrainTimesteps / num);
      return Array.from({ length: num }, (_, i) => (num - 1 - i) * ratio + stepsOffset);
    }
    case "trailing":
      return arange(numTrainTimesteps, 0, -numTrainTimesteps / num).map((t) => roundHalfEven(t) - 1);
  }
}

/**
 * The index of `t` in `timesteps`; where it occurs more than once, the second occurrence, so that a
 * schedule entered in the middle (image-to-image) does not skip a step (diffusers' `index_for_timestep`).
 */
export function indexForTimestep(timesteps: readonly number[], t: number): number {
  const found: number[] = [];
  timesteps.forEach((v, i) => {
    if (v === t) found.push(i);
  });
  if (found.length === 0) {
    throw new InvalidInputError("timestep", `${t} is not one of the scheduler's timesteps`, timesteps.join(", "));
  }
  return found.length > 1 ? found[1] : found[0];
}

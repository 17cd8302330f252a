/**
 * `fromConfig` mechanics shared by every scheduler, after diffusers' `ConfigMixin.extract_init_dict`:
 * lay the values of a scheduler_config.json over the class's DEFAULTS, note which keys fell back
 * to a default, and warn about keys nobody expects. Keys that belong to another known scheduler
 * class (e.g. PNDM's `skip_prk_steps` when a PNDM config builds a DDIM scheduler) are kept quiet,
 * as diffusers does for compatible classes; keys starting with "_" (`_class_name`,
 * `_diffusers_version`) are metadata.
 */
import { InvalidInputError } from "../errors.js";

/** Receives warnings; the default drops them. */
export type SchedulerLogger = (message: string) => void;

export interface FromConfigOptions {
  /** Where warnings about unexpected keys go (default: nowhere). */
  logger?: SchedulerLogger;
  /** Values that win over the config, like the keyword arguments of diffusers' `from_config(config, **kwargs)`. */
  overrides?: Record<string, unknown>;
  /** Keys of other scheduler classes that may appear in the config without a warning. */
  compatibleKeys?: ReadonlySet<string>;
}

export interface ResolvedConfig<C> {
  /** The class's keys that the config (or an override) gives; the class lays them over its DEFAULTS. */
  given: Partial<C>;
  /** Keys of the class that the config did not give, so they take the class default. */
  usedDefaults: string[];
  /** Keys the class does not know and no compatible class claims (they were warned about and ignored). */
  unexpected: string[];
}

/**
 * Build a class's config from a raw scheduler_config.json object. A value whose kind differs from
 * the default's (a string for a number, ...) is rejected; defaults of `null` accept anything, and
 * each scheduler checks those itself.
 */
export function resolveConfig<C extends object>(
  className: string,
  defaults: C,
  raw: Record<string, unknown>,
  options: FromConfigOptions = {},
): ResolvedConfig<C> {
  const known = Object.keys(defaults);
  // diffusers records in `_use_default_values` the keys that were defaults when the config was
  // saved; those must take this class's default, not the other class's.
  const savedDefaults = Array.isArray(raw._use_default_values) ? (raw._use_default_values as unknown[]) : [];
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith("_") || savedDefaults.includes(key)) continue;
    given[key] = value;
  }
  Object.assign(given, options.overrides ?? {});

  const picked: Record<string, unknown> = {};
  const usedDefaults: string[] = [];
  for (const key of known) {
    if (key in given && given[key] !== undefined) {
      picked[key] = checkKind(key, given[key], (defaults as Record<string, unknown>)[key]);
    } else {
      usedDefaults.push(key);
    }
  }
  const unexpected = Object.keys(given).filter((k) => !known.includes(k) && !options.compatibleKeys?.has(k));
  if (unexpected.length > 0) {
    const shown = Object.fromEntries(unexpected.map((k) => [k, given[k]]));
    options.logger?.(
      `The config attributes ${JSON.stringify(shown)} were passed to ${className}, but are not expected and will be ignored.`,
    );
  }
  return { given: picked as Partial<C>, usedDefaults, unexpected };
}

function checkKind(key: string, value: unknown, fallback: unknown): unknown {
  if (fallback === null || fallback === undefined) return value;
  const want = typeof fallback;
  // JSON writes -inf as -Infinity, which JSON.parse cannot read; accept the usual spellings of infinity
  if (want === "number" && typeof value === "string" && /^[-+]?(inf|infinity)$/i.test(value)) {
    return value.startsWith("-") ? -Infinity : Infinity;
  }
  if (typeof value !== want) {
    throw new InvalidInputError(key, `expected a ${want}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Lay a partial config over DEFAULTS and list the keys that took the default. */
export function withDefaults<C extends object>(defaults: C, given: Partial<C>): { config: Readonly<C>; usedDefaults: string[] } {
  const config = { ...defaults } as C;
  const usedDefaults: string[] = [];
  for (const key of Object.keys(defaults) as (keyof C)[]) {
    if (given[key] === undefined) usedDefaults.push(String(key));
    else config[key] = given[key] as C[keyof C];
  }
  return { config: Object.freeze(config), usedDefaults };
}

/** Reject a value outside an enum-like option, naming the key and the values allowed. */
export function checkOneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidInputError(key, `${JSON.stringify(value)} is not supported`, allowed.join(", "));
  }
  return value as T;
}

/** Reject an option diffusers has but this port leaves out, naming the value that is supported. */
export function checkUnsupported(key: string, value: unknown, supported: unknown): void {
  if (value !== supported) {
    throw new InvalidInputError(key, `${JSON.stringify(value)} is not supported by this port`, JSON.stringify(supported));
  }
}

/** The spacings of Table 2 of Lin et al. 2023 ("Common Diffusion Noise Schedules and Sample Steps are Flawed"). */
export const TIMESTEP_SPACINGS = ["leading", "trailing", "linspace"] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

/** `setTimesteps(n)`: n must be a whole number of steps between 1 and `max`. */
export function checkNumInferenceSteps(n: number, max: number): void {
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new InvalidInputError("num_inference_steps", `${n} is out of range`, `an integer in [1, ${max}]`);
  }
}

/** What the denoiser predicts: the noise, the velocity v (Imagen Video, section 2.4), or x0 itself. */
export type PredictionType = "epsilon" | "v_prediction" | "sample";

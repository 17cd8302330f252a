/**
 * The scheduler registry: diffusers class names (as `_class_name` in scheduler_config.json) and the
 * friendly names a request may use, each mapped to a class and the options it implies.
 */
import { InvalidInputError, ModelLoadError } from "../errors.js";
import type { SchedulerLogger } from "./config.js";
import { DDIMScheduler } from "./ddim.js";
import { DPMSolverMultistepScheduler } from "./dpm-solver-multistep.js";
import { EulerAncestralDiscreteScheduler } from "./euler-ancestral.js";
import { EulerDiscreteScheduler } from "./euler.js";
import { FlowMatchEulerDiscreteScheduler } from "./flow-match-euler-discrete.js";
import { HeunDiscreteScheduler } from "./heun.js";
import { LCMScheduler } from "./lcm.js";
import { LMSDiscreteScheduler } from "./lms.js";
import { PNDMScheduler } from "./pndm.js";
import type { Scheduler } from "./scheduler.js";

/** The ported schedulers, keyed by their diffusers `_class_name`. */
export const SCHEDULER_CLASSES = {
  PNDMScheduler,
  DDIMScheduler,
  EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler,
  DPMSolverMultistepScheduler,
  LMSDiscreteScheduler,
  HeunDiscreteScheduler,
  LCMScheduler,
  FlowMatchEulerDiscreteScheduler,
} as const;

export type SchedulerClassName = keyof typeof SCHEDULER_CLASSES;

interface Alias {
  className: SchedulerClassName;
  /** Options the name implies, laid over the base config like `from_config(config, **overrides)`. */
  overrides: Record<string, unknown>;
}

const DPMPP_2M = { algorithm_type: "dpmsolver++", solver_order: 2 };

/** Friendly names (lower-case ids and the labels of common UIs). */
const ALIASES = {
  pndm: { className: "PNDMScheduler", overrides: {} },
  PNDM: { className: "PNDMScheduler", overrides: {} },
  ddim: { className: "DDIMScheduler", overrides: {} },
  DDIM: { className: "DDIMScheduler", overrides: {} },
  euler: { className: "EulerDiscreteScheduler", overrides: {} },
  Euler: { className: "EulerDiscreteScheduler", overrides: {} },
  euler_a: { className: "EulerAncestralDiscreteScheduler", overrides: {} },
  "Euler a": { className: "EulerAncestralDiscreteScheduler", overrides: {} },
  dpmpp_2m: { className: "DPMSolverMultistepScheduler", overrides: { ...DPMPP_2M, use_karras_sigmas: false } },
  "DPM++ 2M": { className: "DPMSolverMultistepScheduler", overrides: { ...DPMPP_2M, use_karras_sigmas: false } },
  dpmpp_2m_karras: { className: "DPMSolverMultistepScheduler", overrides: { ...DPMPP_2M, use_karras_sigmas: true } },
  "DPM++ 2M Karras": { className: "DPMSolverMultistepScheduler", overrides: { ...DPMPP_2M, use_karras_sigmas: true } },
  lms: { className: "LMSDiscreteScheduler", overrides: { use_karras_sigmas: false } },
  LMS: { className: "LMSDiscreteScheduler", overrides: { use_karras_sigmas: false } },
  lms_karras: { className: "LMSDiscreteScheduler", overrides: { use_karras_sigmas: true } },
  "LMS Karras": { className: "LMSDiscreteScheduler", overrides: { use_karras_sigmas: true } },
  heun: { className: "HeunDiscreteScheduler", overrides: {} },
  Heun: { className: "HeunDiscreteScheduler", overrides: {} },
  lcm: { className: "LCMScheduler", overrides: {} },
  LCM: { className: "LCMScheduler", overrides: {} },
  flow_match_euler: { className: "FlowMatchEulerDiscreteScheduler", overrides: {} },
  FlowMatchEuler: { className: "FlowMatchEulerDiscreteScheduler", overrides: {} },
} as const satisfies Record<string, Alias>;

export type SchedulerAlias = keyof typeof ALIASES;
export type SchedulerName = SchedulerClassName | SchedulerAlias;

/** Every name `createScheduler` accepts: the class names, then the friendly names. */
export const SCHEDULER_NAMES: readonly SchedulerName[] = Object.freeze([
  ...(Object.keys(SCHEDULER_CLASSES) as SchedulerClassName[]),
  ...(Object.keys(ALIASES) as SchedulerAlias[]),
]);

/**
 * Config keys of every ported class: a config written for one of them builds any other without
 * warnings about the others' keys (diffusers' compatible-class rule).
 */
const COMPATIBLE_KEYS: ReadonlySet<string> = new Set(
  Object.values(SCHEDULER_CLASSES).flatMap((cls) => Object.keys(cls.defaults)),
);

export interface CreateSchedulerOptions {
  /** Receives warnings about unexpected config keys (default: dropped). */
  logger?: SchedulerLogger;
}

function lookup(name: string): Alias | undefined {
  if (Object.hasOwn(SCHEDULER_CLASSES, name)) return { className: name as SchedulerClassName, overrides: {} };
  if (Object.hasOwn(ALIASES, name)) return ALIASES[name as SchedulerAlias];
  return undefined;
}

/**
 * A scheduler from a model's scheduler_config.json. Without `name`, the class the config names
 * (`_class_name`); with `name` (a class name or a friendly name), that class built from the same
 * config plus the name's options, like diffusers' `NamedClass.from_config(base_config, **overrides)`.
 */
export function createScheduler(
  baseConfig: Record<string, unknown>,
  name?: string,
  options: CreateSchedulerOptions = {},
): Scheduler {
  let entry: Alias | undefined;
  if (name === undefined) {
    const className = baseConfig._class_name;
    entry = typeof className === "string" ? lookup(className) : undefined;
    if (entry === undefined || !Object.hasOwn(SCHEDULER_CLASSES, String(className))) {
      throw new ModelLoadError(
        `scheduler_config.json names _class_name ${JSON.stringify(className)}, which is not supported (supported: ${Object.keys(SCHEDULER_CLASSES).join(", ")})`,
        "scheduler",
      );
    }
  } else {
    entry = lookup(name);
    if (entry === undefined) {
      throw new InvalidInputError("scheduler", `unknown scheduler ${JSON.stringify(name)}`, SCHEDULER_NAMES.join(", "));
    }
  }
  const cls = SCHEDULER_CLASSES[entry.className];
  return cls.fromConfig(baseConfig, { logger: options.logger, overrides: entry.overrides, compatibleKeys: COMPATIBLE_KEYS });
}

import { describe, expect, it } from "vitest";
import { InvalidInputError, ModelLoadError } from "../../lib/errors.js";
import { DPMSolverMultistepScheduler } from "../../lib/schedulers/dpm-solver-multistep.js";
import { createScheduler, SCHEDULER_CLASSES, SCHEDULER_NAMES } from "../../lib/schedulers/index.js";
import { LMSDiscreteScheduler } from "../../lib/schedulers/lms.js";
import { PNDMScheduler } from "../../lib/schedulers/pndm.js";

// the scheduler_config.json of SD 1.x exports (and of the shared tiny fixture)
const SD_PNDM = {
  _class_name: "PNDMScheduler",
  _diffusers_version: "0.27.2",
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: "epsilon",
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  timestep_spacing: "leading",
  trained_betas: null,
};

describe("createScheduler", () => {
  it("builds the class the config names when no name is given", () => {
    const s = createScheduler(SD_PNDM);
    expect(s).toBeInstanceOf(PNDMScheduler);
    expect(s.className).toBe("PNDMScheduler");
  });

  it("builds every registered class from an SD PNDM config without warnings about PNDM's keys", () => {
    for (const name of Object.keys(SCHEDULER_CLASSES)) {
      const warnings: string[] = [];
      const s = createScheduler(SD_PNDM, name, { logger: (m) => warnings.push(m) });
      expect(s.className).toBe(name);
      expect(warnings, name).toEqual([]);
    }
  });

  it("warns about keys no scheduler knows", () => {
    const warnings: string[] = [];
    createScheduler({ ...SD_PNDM, frobnicate: 3 }, "euler", { logger: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/frobnicate/);
  });

  it("applies the options a friendly name implies", () => {
    const karras = createScheduler(SD_PNDM, "DPM++ 2M Karras") as DPMSolverMultistepScheduler;
    expect(karras.config.use_karras_sigmas).toBe(true);
    expect(karras.config.timestep_spacing).toBe("leading");
    const plain = createScheduler({ ...SD_PNDM, use_karras_sigmas: true }, "dpmpp_2m") as DPMSolverMultistepScheduler;
    expect(plain.config.use_karras_sigmas).toBe(false);
    expect((createScheduler(SD_PNDM, "lms_karras") as LMSDiscreteScheduler).config.use_karras_sigmas).toBe(true);
  });

  it("knows every advertised name", () => {
    for (const name of SCHEDULER_NAMES) expect(() => createScheduler(SD_PNDM, name), name).not.toThrow();
    for (const name of ["pndm", "ddim", "euler", "euler_a", "Euler a", "dpmpp_2m", "DPM++ 2M", "dpmpp_2m_karras", "DPM++ 2M Karras", "lms", "LMS", "heun", "Heun", "lcm", "LCM", "Euler", "DDIM", "PNDM"]) {
      expect(SCHEDULER_NAMES).toContain(name);
    }
  });

  it("rejects an unknown name with the field and the list of accepted names", () => {
    try {
      createScheduler(SD_PNDM, "UniPC");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidInputError);
      expect((e as InvalidInputError).field).toBe("scheduler");
      expect((e as InvalidInputError).allowed).toBe(SCHEDULER_NAMES.join(", "));
    }
  });

  it("reports a config naming a class that is not ported as a model problem", () => {
    expect(() => createScheduler({ ...SD_PNDM, _class_name: "UniPCMultistepScheduler" })).toThrow(ModelLoadError);
    expect(() => createScheduler({ ...SD_PNDM, _class_name: "euler" })).toThrow(ModelLoadError);
  });

  it("lets a class's own default win over another class's key recorded in _use_default_values", () => {
    const s = createScheduler({ ...SD_PNDM, _use_default_values: ["timestep_spacing"] }, "EulerDiscreteScheduler");
    expect((s as unknown as { config: { timestep_spacing: string } }).config.timestep_spacing).toBe("linspace");
  });
});

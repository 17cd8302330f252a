import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../lib/errors.js";
import { checkNumInferenceSteps, checkOneOf, resolveConfig } from "../../lib/schedulers/config.js";

const DEFAULTS = { num_train_timesteps: 1000, prediction_type: "epsilon", trained_betas: null as number[] | null, flag: false };

describe("resolveConfig", () => {
  it("takes the config's values for the class's keys and records which keys fell back to defaults", () => {
    const r = resolveConfig("X", DEFAULTS, { num_train_timesteps: 500, trained_betas: [0.1] });
    expect(r.given).toEqual({ num_train_timesteps: 500, trained_betas: [0.1] });
    expect(r.usedDefaults).toEqual(["prediction_type", "flag"]);
  });

  it("ignores metadata keys and keys diffusers recorded as defaults of another class", () => {
    const r = resolveConfig("X", DEFAULTS, {
      _class_name: "Y",
      _diffusers_version: "0.27.2",
      prediction_type: "v_prediction",
      _use_default_values: ["prediction_type"],
    });
    expect(r.given).toEqual({});
    expect(r.unexpected).toEqual([]);
  });

  it("lets overrides win over the config, like from_config(config, **kwargs)", () => {
    const r = resolveConfig("X", DEFAULTS, { flag: false }, { overrides: { flag: true } });
    expect(r.given.flag).toBe(true);
  });

  it("warns about unknown keys but not about keys of compatible classes", () => {
    const warnings: string[] = [];
    const r = resolveConfig("X", DEFAULTS, { skip_prk_steps: true, mystery: 1 }, {
      logger: (m) => warnings.push(m),
      compatibleKeys: new Set(["skip_prk_steps"]),
    });
    expect(r.unexpected).toEqual(["mystery"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/"mystery":1.*X.*ignored/);
  });

  it("warns nowhere by default", () => {
    expect(() => resolveConfig("X", DEFAULTS, { mystery: 1 })).not.toThrow();
  });

  it("rejects a value of the wrong kind, naming the key", () => {
    expect(() => resolveConfig("X", DEFAULTS, { num_train_timesteps: "1000" })).toThrow(InvalidInputError);
    expect(() => resolveConfig("X", DEFAULTS, { flag: "yes" })).toThrow(/flag/);
  });

  it("reads the spellings of -infinity that JSON writers use", () => {
    const r = resolveConfig("X", { lambda_min_clipped: -Infinity }, { lambda_min_clipped: "-inf" });
    expect(r.given.lambda_min_clipped).toBe(-Infinity);
  });
});

describe("checks", () => {
  it("name the key and the allowed values of an enum-like option", () => {
    try {
      checkOneOf("timestep_spacing", "middle", ["leading", "trailing", "linspace"]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidInputError);
      expect((e as InvalidInputError).field).toBe("timestep_spacing");
      expect((e as InvalidInputError).allowed).toBe("leading, trailing, linspace");
    }
  });

  it("name num_inference_steps and its range", () => {
    try {
      checkNumInferenceSteps(0, 1000);
      expect.unreachable();
    } catch (e) {
      expect((e as InvalidInputError).field).toBe("num_inference_steps");
      expect((e as InvalidInputError).allowed).toBe("an integer in [1, 1000]");
    }
    expect(() => checkNumInferenceSteps(1000, 1000)).not.toThrow();
    expect(() => checkNumInferenceSteps(1.5, 1000)).toThrow(InvalidInputError);
  });
});

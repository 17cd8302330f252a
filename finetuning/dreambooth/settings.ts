/**
 * `NAME=VALUE` parameter settings (CLI `--set`, submit's run parameters), typed by the parameter's
 * declared type, and the family / mode choice shared by compile, local and submit.
 */
import { InvalidInputError } from "../../lib/errors.js";
import { familyOfModel, PARAMETER_DESCRIPTIONS, PARAMETER_NAMES, PARAMETER_TYPES, type DreamboothParametersInput, type ModelFamily, type ParameterName } from "./parameters.js";

export function parseSetting(text: string): [ParameterName, string | number] {
  const eq = text.indexOf("=");
  const name = (eq < 0 ? text : text.slice(0, eq)).trim();
  if (eq < 0 || !(PARAMETER_NAMES as string[]).includes(name)) {
    throw new InvalidInputError("--set", `'${text}' is not NAME=VALUE with a known NAME`, PARAMETER_NAMES.join(", "));
  }
  const key = name as ParameterName;
  const raw = text.slice(eq + 1);
  if (PARAMETER_TYPES[key] === "STRING") return [key, raw];
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) throw new InvalidInputError(key, `'${raw}' is not a number`, PARAMETER_DESCRIPTIONS[key]);
  return [key, n];
}

export function parseSettings(list: string[] = []): DreamboothParametersInput {
  return Object.fromEntries(list.map(parseSetting)) as DreamboothParametersInput;
}

/** The family: given, else from the base model's name, else SD3 (the seed's model). */
export function resolveFamily(given: ModelFamily | undefined, modelName: string | undefined): ModelFamily {
  if (given) return given;
  if (modelName) {
    const f = familyOfModel(modelName);
    if (!f) throw new InvalidInputError("family", `cannot tell the family of '${modelName}' from its name`, "--family sd1|sd2|sdxl|sd3");
    return f;
  }
  return "sd3";
}

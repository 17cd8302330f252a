/**
 * Builders over the project's `${NAME}` manifest templates (serving/manifests, serving/mcp/manifests):
 * typed options are mapped onto template variables, a template's complaint about a variable is
 * re-thrown naming the option the caller wrote, and the namespace and project labels are added.
 */
import { InvalidInputError } from "../../errors.js";
import { objectMeta, type ObjectOptions } from "./meta.js";

/** Builder option (dotted for nested ones) -> template variable. */
export type OptionVariables = Record<string, string>;

/** The template variables for the options that are set; values as strings, as the templates take them. */
export function templateVariables(values: Record<string, unknown>, mapping: OptionVariables): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [option, variable] of Object.entries(mapping)) {
    const v = values[option];
    if (v !== undefined) vars[variable] = String(v);
  }
  return vars;
}

/** Run a template renderer; an InvalidInputError about a variable names the option it came from. */
export function renderAs<T>(render: () => T, mapping: OptionVariables): T {
  try {
    return render();
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    const option = Object.keys(mapping).find((k) => mapping[k] === e.field) ?? e.field;
    throw new InvalidInputError(option, e.message.slice(e.field.length + 2), e.allowed);
  }
}

/** Lay the namespace, the caller's labels/annotations and the project labels onto a rendered object. */
export function withMeta<T>(obj: Record<string, any>, opts: ObjectOptions): T {
  obj.metadata = objectMeta({ ...opts, name: obj.metadata.name }, obj.metadata.name, obj.metadata);
  return obj as T;
}

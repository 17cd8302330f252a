/**
 * Checks a compiled document's JSON form against message types of the project's subset of the KFP
 * protos (test/fixtures/kfp/pipeline_spec_subset.proto): every key must be a field of the message
 * (protobufjs' fromObject would silently drop unknown keys), scalars of the field's type, enums by
 * name, at most one member per oneof. Then protobufjs' own verify and encode run on the message.
 */
import path from "node:path";
import protobuf from "protobufjs";

export const root = protobuf.loadSync(path.resolve(import.meta.dirname, "../fixtures/kfp/pipeline_spec_subset.proto"));
root.resolveAll();

const VALUE = ".ml_pipelines.Value";

function scalarOk(type: string, v: unknown): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "bool":
      return typeof v === "boolean";
    case "double":
    case "float":
      return typeof v === "number";
    case "int32":
    case "uint32":
      return Number.isInteger(v);
    case "int64":
    case "uint64":
      // proto3 JSON writes 64-bit integers as strings.
      return Number.isInteger(v) || (typeof v === "string" && /^-?\d+$/.test(v));
    default:
      return false;
  }
}

/** JSON value -> google.protobuf.Value in message-object form. */
function toValue(v: unknown): Record<string, unknown> {
  if (v === null) return { nullValue: 0 };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  throw new Error(`unsupported Value ${JSON.stringify(v)}`);
}

/** Strict walk; returns the message-object form for fromObject. */
function walk(type: protobuf.Type, json: unknown, at: string, errors: string[]): unknown {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    errors.push(`${at}: expected an object for ${type.fullName}`);
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key];
    if (!field) {
      errors.push(`${at}.${key}: no such field in ${type.fullName}`);
      continue;
    }
    const one = (v: unknown, where: string): unknown => {
      const rt = field.resolvedType;
      if (rt instanceof protobuf.Type) {
        if (rt.fullName === VALUE) {
          if (v !== null && !["string", "number", "boolean"].includes(typeof v)) errors.push(`${where}: not a scalar Value`);
          return toValue(v);
        }
        return walk(rt, v, where, errors);
      }
      if (rt instanceof protobuf.Enum) {
        if (typeof v !== "string" || !(v in rt.values)) errors.push(`${where}: '${String(v)}' is not a value of ${rt.fullName}`);
        return v;
      }
      if (!scalarOk(field.type, v)) errors.push(`${where}: ${JSON.stringify(v)} is not a ${field.type}`);
      return v;
    };
    if (field.map) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) errors.push(`${at}.${key}: expected a map`);
      else out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v, `${at}.${key}[${k}]`)]));
    } else if (field.repeated) {
      if (!Array.isArray(value)) errors.push(`${at}.${key}: expected a list`);
      else out[key] = value.map((v, i) => one(v, `${at}.${key}[${i}]`));
    } else out[key] = one(value, `${at}.${key}`);
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => name in (json as object));
    if (set.length > 1) errors.push(`${at}: oneof ${oneof.name} has ${set.join(" and ")}`);
  }
  return out;
}

/** Problems found; empty when the document fits the message type. */
export function checkMessage(typeName: string, json: unknown): string[] {
  const type = root.lookupType(typeName);
  const errors: string[] = [];
  const obj = walk(type, json, typeName.split(".").pop()!, errors);
  if (errors.length > 0) return errors;
  const message = type.fromObject(obj as Record<string, unknown>);
  const verified = type.verify(message);
  if (verified) return [verified];
  if (type.encode(message).finish().length === 0) return ["encodes to nothing"];
  return [];
}

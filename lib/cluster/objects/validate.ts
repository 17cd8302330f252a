/**
 * Checks for builder options, run before a value lands in an object: a wrong name or quantity is
 * refused here with the option's name, not later by the API server with a field path the caller
 * never wrote.
 */
import { InvalidInputError } from "../../errors.js";

/** RFC 1123 label: what Kubernetes requires of namespace, Service and most object names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** The resource.Quantity pattern the CRDs in ../shared/schemas declare, without a sign. */
const QUANTITY = /^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
/** registry[:port]/repository[:tag | @sha256:digest]; a tag or digest is required so pods never float on :latest by accident. */
const IMAGE = /^[a-z0-9.-]+(:[0-9]+)?\/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/;
/** Label values: at most 63 characters, alphanumeric at both ends, '-', '_', '.' inside (may be empty). */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Label and annotation keys: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const QUALIFIED_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** Environment variable names as Kubernetes accepts them (C identifiers, as shells do). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function dnsLabel(field: string, value: unknown): string {
  if (typeof value !== "string" || !DNS_LABEL.test(value)) {
    throw new InvalidInputError(field, `${JSON.stringify(value)} is not a DNS label`, "lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit");
  }
  return value;
}

export function quantity(field: string, value: unknown): string {
  const s = typeof value === "number" && Number.isFinite(value) && value >= 0 ? String(value) : value;
  if (typeof s !== "string" || !QUANTITY.test(s)) {
    throw new InvalidInputError(field, `${JSON.stringify(value)} is not a Kubernetes quantity`, "e.g. 500m, 2, 8Gi, 20Gi");
  }
  return s;
}

export function image(field: string, value: unknown): string {
  if (typeof value !== "string" || !IMAGE.test(value)) {
    throw new InvalidInputError(field, `${JSON.stringify(value)} is not a pinned image reference`, "registry/repository:tag or registry/repository@sha256:digest");
  }
  return value;
}

export function wholeNumber(field: string, value: unknown, max = 1_000_000): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidInputError(field, `${JSON.stringify(value)} is not a whole number`, `0 to ${max}`);
  }
  return value;
}

export function oneOf<T extends string>(field: string, value: unknown, values: readonly T[]): T {
  if (!(values as readonly unknown[]).includes(value)) throw new InvalidInputError(field, `${JSON.stringify(value)} is not one of the choices`, values.join(", "));
  return value as T;
}

/** A value that goes into YAML or an annotation as one line of text. */
export function text(field: string, value: unknown): string {
  if (typeof value !== "string" || /[\n\r]/.test(value)) throw new InvalidInputError(field, `${JSON.stringify(value)} is not one line of text`, "a string without line breaks");
  return value;
}

export function httpUrl(field: string, value: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof value === "string" ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) throw new InvalidInputError(field, `${JSON.stringify(value)} is not an http(s) URL`, "http(s)://host[:port][/path]");
  return (value as string).replace(/\/+$/, "");
}

export function labelMap(field: string, value: Record<string, string> | undefined): Record<string, string> {
  for (const [k, v] of Object.entries(value ?? {})) {
    if (!QUALIFIED_KEY.test(k)) throw new InvalidInputError(`${field}.${k}`, "is not a valid label key", "[prefix/]name, name at most 63 characters");
    if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) throw new InvalidInputError(`${field}.${k}`, `${JSON.stringify(v)} is not a valid label value`, "at most 63 letters, digits, '-', '_', '.'");
  }
  return { ...value };
}

export function annotationMap(field: string, value: Record<string, string> | undefined): Record<string, string> {
  for (const [k, v] of Object.entries(value ?? {})) {
    if (!QUALIFIED_KEY.test(k)) throw new InvalidInputError(`${field}.${k}`, "is not a valid annotation key", "[prefix/]name, name at most 63 characters");
    if (typeof v !== "string") throw new InvalidInputError(`${field}.${k}`, "is not a string", "a string");
  }
  return { ...value };
}

export function envVars(field: string, value: Record<string, string> | undefined): { name: string; value: string }[] {
  return Object.entries(value ?? {}).map(([name, v]) => {
    if (!ENV_NAME.test(name)) throw new InvalidInputError(`${field}.${name}`, "is not a valid environment variable name", "letters, digits, '_', not starting with a digit");
    if (typeof v !== "string") throw new InvalidInputError(`${field}.${name}`, "is not a string", "a string");
    return { name, value: v };
  });
}

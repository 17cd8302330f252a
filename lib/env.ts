/** Parsing of environment variables shared by the CLI, the runtime and the MCP server. */
import { InvalidInputError } from "./errors.js";

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off", ""];

export function envFlag(env: NodeJS.ProcessEnv, name: string, fallback = false): boolean {
  const raw = env[name];
  if (raw === undefined) return fallback;
  const v = raw.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new InvalidInputError(name, `'${raw}' is not a boolean`, "1, true, yes, on, 0, false, no, off");
}

export function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidInputError(name, `'${raw}' is not an integer in range`, `${min}..${max}`);
  }
  return v;
}

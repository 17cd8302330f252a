/** A logger that keeps every line, to check what the library logs (and that no secret is in it). */
import type { Logger } from "../../../lib/index.js";

export function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(m), info: (m) => lines.push(m), warn: (m) => lines.push(m) };
}

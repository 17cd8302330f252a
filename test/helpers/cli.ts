/** The built CLI as a user runs it: `node dist/bin/cli.js ...` in a child process (CLI tests need a build first). */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./paths.js";

export const cliPath = path.join(repoRoot, "dist", "bin", "cli.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fails the file early, with the fix, when the CLI has not been built (call in beforeAll). */
export function requireBuiltCli(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run 'npm run build' first (npm test does)`);
}

/** Runs the built CLI to its end; a non-zero exit comes back as `code` (tests assert it) instead of a throw. */
export async function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  try {
    const r = await promisify(execFile)(process.execPath, [cliPath, ...args], options);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as CliResult;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

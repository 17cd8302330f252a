/** Shared by the notebook tests: run a notebook headlessly and read what its executed copy shows. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./paths.js";

export interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; data?: Record<string, unknown>; name?: string; text?: string | string[]; ename?: string; evalue?: string }[];
  execution_count?: number | null;
}
export type Notebook = { cells: Cell[]; metadata: { kernelspec: { name: string } } };
export type Output = NonNullable<Cell["outputs"]>[number];

export const readNotebook = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Notebook;

/**
 * Runs notebooks/<name>.ipynb headlessly (notebooks/run.sh, `env` over this process's) and reads
 * the executed copy: its outputs, the HTML they display and the text they print.
 */
export async function execute(name: string, env: NodeJS.ProcessEnv): Promise<{ nb: Notebook; outputs: Output[]; html: string; text: string }> {
  await promisify(execFile)("bash", [path.join(repoRoot, "notebooks", "run.sh"), name], { cwd: repoRoot, maxBuffer: 16 << 20, env: { ...process.env, ...env } });
  const nb = readNotebook(path.join(repoRoot, "out", "notebooks", `${name}.ipynb`));
  const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
  const html = outputs.map((o) => String(o.data?.["text/html"] ?? "")).join("\n");
  const text = outputs.map((o) => [o.text ?? ""].flat().join("")).join("\n");
  return { nb, outputs, html, text };
}

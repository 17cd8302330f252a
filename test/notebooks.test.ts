/** The notebooks: committed without outputs, and executed headlessly on the tslab kernel with pictures and charts. */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/paths.js";

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; data?: Record<string, unknown>; name?: string; text?: string | string[]; ename?: string }[];
  execution_count?: number | null;
}
const read = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { cells: Cell[]; metadata: { kernelspec: { name: string } } };
const notebooks = readdirSync(path.join(repoRoot, "notebooks")).filter((f) => f.endsWith(".ipynb")).sort();

describe("committed notebooks", () => {
  it("exist", () => {
    expect(notebooks).toContain("1_experimentation.ipynb");
  });
  it.each(notebooks)("%s carries no outputs and runs on the tslab kernel", (name) => {
    const nb = read(path.join(repoRoot, "notebooks", name));
    expect(nb.metadata.kernelspec.name).toBe("tslab");
    for (const cell of nb.cells.filter((c) => c.cell_type === "code")) {
      expect(cell.outputs).toEqual([]);
      expect(cell.execution_count ?? null).toBeNull();
    }
  });
  it.each(notebooks)("%s imports the library by its package name only", (name) => {
    const src = read(path.join(repoRoot, "notebooks", name)).cells.map((c) => [c.source].flat().join("")).join("\n");
    for (const m of src.matchAll(/from\s+"([^"]+)"/g)) expect(["diffusion-workbench", "tslab"]).toContain(m[1]);
  });
});

describe("executing 1_experimentation headlessly", () => {
  it("shows pictures and charts, and no cell fails", async () => {
    await promisify(execFile)("bash", [path.join(repoRoot, "notebooks", "run.sh"), "1_experimentation"], {
      cwd: repoRoot,
      maxBuffer: 16 << 20,
      env: { ...process.env, MODEL_ID: "", OUTPUT_DIR: path.join(repoRoot, "out", "notebook-1-test") },
    });
    const nb = read(path.join(repoRoot, "out", "notebooks", "1_experimentation.ipynb"));
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    expect(outputs.filter((o) => o.name === "stderr")).toEqual([]);
    const html = outputs.map((o) => String(o.data?.["text/html"] ?? "")).join("\n");
    expect(html.match(/<img src="data:image\/png;base64,/g)?.length).toBeGreaterThanOrEqual(1 + 9 + 15 + 3);
    expect(html.match(/window\.Plotly\.newPlot/g)?.length).toBe(2);
    expect(html).toContain("<progress");
    // every code cell ran and showed something (tslab reports no execution counts)
    expect(nb.cells.filter((c) => c.cell_type === "code").every((c) => (c.outputs ?? []).length > 0)).toBe(true);
  }, 600_000);
});

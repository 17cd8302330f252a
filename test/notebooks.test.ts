/** The notebooks: committed without outputs, and executed headlessly on the tslab kernel with pictures and charts. */
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { execute, readNotebook as read } from "./helpers/notebooks.js";
import { repoRoot } from "./helpers/paths.js";

const notebooks = readdirSync(path.join(repoRoot, "notebooks")).filter((f) => f.endsWith(".ipynb")).sort();

describe("committed notebooks", () => {
  it("exist", () => {
    expect(notebooks).toEqual(["1_experimentation.ipynb", "2_fine_tuning.ipynb", "3_remote_inference.ipynb"]);
  });
  it.each(notebooks)("%s carries no outputs and runs on the tslab kernel", (name) => {
    const nb = read(path.join(repoRoot, "notebooks", name));
    expect(nb.metadata.kernelspec.name).toBe("tslab");
    for (const cell of nb.cells.filter((c) => c.cell_type === "code")) {
      expect(cell.outputs).toEqual([]);
      expect(cell.execution_count ?? null).toBeNull();
    }
  });
  it.each(notebooks)("%s imports the library by its package name, never by a path", (name) => {
    const src = read(path.join(repoRoot, "notebooks", name)).cells.map((c) => [c.source].flat().join("")).join("\n");
    // the library by name, tslab's display, and Node's own modules; never a path into the checkout
    for (const m of src.matchAll(/from\s+"([^"]+)"/g)) expect(m[1]).toMatch(/^(diffusion-workbench|tslab|node:[a-z/_]+)$/);
  });
});

describe("executing 1_experimentation headlessly", () => {
  it("shows pictures and charts, and no cell fails", async () => {
    const { nb, outputs, html } = await execute("1_experimentation", { MODEL_ID: "", OUTPUT_DIR: path.join(repoRoot, "out", "notebook-1-test") });
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    expect(outputs.filter((o) => o.name === "stderr")).toEqual([]);
    expect(html.match(/<img src="data:image\/png;base64,/g)?.length).toBeGreaterThanOrEqual(1 + 6 + 9 + 15 + 3);
    expect(html).toContain("step 30/30");
    expect(html.match(/window\.Plotly\.newPlot/g)?.length).toBe(2);
    expect(html).toContain("<progress");
    // every code cell ran and showed something (tslab reports no execution counts)
    expect(nb.cells.filter((c) => c.cell_type === "code").every((c) => (c.outputs ?? []).length > 0)).toBe(true);
  }, 600_000);
});

describe("executing 3_remote_inference headlessly", () => {
  it("starts the runtime and the MCP server locally, shows the V1, V2 and MCP pictures and the latency chart, and no cell fails", async () => {
    // DEPLOY=0: never a cluster (even where a kubeconfig exists), so the notebook starts its servers locally.
    const { outputs, html, text } = await execute("3_remote_inference", { MODEL_ID: "", DEPLOY: "0", DIFFUSERS_RUNTIME_URL: "", MCP_URL: "" });
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    expect(outputs.filter((o) => o.name === "stderr")).toEqual([]);
    // V1: 1 picture, V2: 3, the MCP tool: 1
    expect(html.match(/<img src="data:image\/(png|jpeg|webp);base64,/g)?.length).toBe(1 + 3 + 1);
    expect(html.match(/window\.Plotly\.newPlot/g)?.length).toBe(1);
    expect(text).toContain("everything runs locally");
    expect(text).toMatch(/runtime ready at http:\/\/127\.0\.0\.1:\d+/);
    expect(text).toMatch(/generate_image: /);
    expect(text).toMatch(/http:\/\/127\.0\.0\.1:\d+\/images\/[0-9TZ]+-[0-9a-f]+/);
    expect(text).toContain("stopped 2 local server(s)");
  }, 600_000);
});

describe("executing 2_fine_tuning headlessly", () => {
  it("prepares and uploads the photos to the local S3 server, compiles the pipeline, says what would run, and generates with the stand-in pulled from S3", async () => {
    // SUBMIT=0: never a cluster; AWS_S3_ENDPOINT unset: run.sh starts s3rver as the data connection.
    const { outputs, html, text } = await execute("2_fine_tuning", { SUBMIT: "0", AWS_S3_ENDPOINT: "", INSTANCE_DATA: "", OUTPUT_DIR: path.join(repoRoot, "out", "notebook-2-test") });
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    expect(outputs.filter((o) => o.name === "stderr")).toEqual([]);
    // 4 prepared photos, 1 picture from the model pulled back from S3
    expect(html.match(/<img src="data:image\/png;base64,/g)?.length).toBe(4 + 1);
    expect(html).toContain("<td>prepare-data</td>");
    expect(html).toContain("<td>export-onnx</td>");
    expect(html).toContain(">MAX_TRAIN_STEPS</th><td style=\"text-align:left\">800<");
    expect(text).toMatch(/rejected photo-0\.png: duplicate/);
    expect(text).toMatch(/rejected thumbnail\.png: too-small/);
    expect(text).toContain("uploaded to s3://models/dreambooth/v1/");
    expect(text).toContain("would upload the pipeline 'dreambooth-sd3-lora'");
    expect(text).toContain("stand-in: published the built-in tiny model at s3://models/models/v1/rhteddy/onnx");
  }, 600_000);
});

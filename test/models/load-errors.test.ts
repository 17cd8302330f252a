/** Loading a model folder that is wrong in some way gives a clear error, never a crash. */
import { cp, mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ModelLoadError, ModelNotFoundError, StableDiffusionPipeline, silentLogger } from "../../lib/index.js";
import { GraphBuilder, attr } from "../../lib/onnx/builder/graph.js";
import { tinyModel } from "../helpers/tiny-model.js";

const quiet = { providers: ["cpu" as const], logger: silentLogger };

/** A writable copy of the tiny model, to break. */
async function copy(options = {}): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), "broken-")), "model");
  await cp(await tinyModel(options), dir, { recursive: true });
  return dir;
}

async function loadError(dir: string): Promise<Error> {
  const err = await StableDiffusionPipeline.load(dir, quiet).then(
    async (p) => {
      await p.dispose();
      return undefined;
    },
    (e: Error) => e,
  );
  if (!err) throw new Error("expected the load to fail");
  return err;
}

describe("loading a broken model folder", () => {
  it("names a missing folder", async () => {
    const err = await loadError("/no/such/model");
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err.message).toContain("/no/such/model");
  });

  it("names a missing component", async () => {
    const dir = await copy();
    await rm(path.join(dir, "vae_decoder"), { recursive: true });
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err.message).toMatch(/component 'vae_decoder' not found/);
  });

  it("names a missing graph file and a missing external-data file", async () => {
    const dir = await copy({ externalData: true });
    await rm(path.join(dir, "unet", "model.onnx_data"));
    let err = await loadError(dir);
    expect(err.message).toMatch(/unet/);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    await rm(path.join(dir, "unet", "model.onnx"));
    err = await loadError(dir);
    expect(err.message).toMatch(/component 'unet': no model.onnx/);
  });

  it("says a corrupted ONNX file is corrupted", async () => {
    const dir = await copy();
    const file = path.join(dir, "unet", "model.onnx");
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/unet: .* is corrupted or not an ONNX model/);
  });

  it("says a GPU-optimised export cannot run on the cpu provider", async () => {
    const err = await loadError(await tinyModel({ gpuOnlyOps: true }));
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/unet: the graph uses operator 'GroupNorm'.*GPU-optimised export/);
  });

  it("names an input that matches no known contract", async () => {
    const dir = await copy();
    const g = new GraphBuilder({ name: "odd", seed: 0 });
    const x = g.input("input_ids", "int64", ["batch", 77]);
    g.input("token_type_ids", "int64", ["batch", 77]);
    g.output(g.op("Cast", [x], { to: attr.int(1) }), "last_hidden_state", "float32", ["batch", 77]);
    await g.save(path.join(dir, "text_encoder", "model.onnx"));
    const err = await loadError(dir);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/text_encoder: inputs 'token_type_ids' int64 \[batch, 77\] match no known contract/);
  });

  it("refuses an unknown scheduler class in scheduler_config.json", async () => {
    const dir = await copy();
    const file = path.join(dir, "scheduler", "scheduler_config.json");
    const cfg = JSON.parse(await readFile(file, "utf8"));
    await writeFile(file, JSON.stringify({ ...cfg, _class_name: "FancyScheduler" }));
    const err = await loadError(dir);
    expect(err.message).toMatch(/FancyScheduler/);
  });

  it("names a missing tokenizer file", async () => {
    const dir = await copy();
    await rm(path.join(dir, "tokenizer", "merges.txt"));
    const err = await loadError(dir);
    expect(err.message).toMatch(/merges.txt/);
  });
});

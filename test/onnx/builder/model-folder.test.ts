import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { buildModelFolder, PRESETS, type BuildModelFolderOptions, type BuiltModelFolder } from "../../../lib/onnx/builder/model-folder.js";
import { InvalidInputError } from "../../../lib/errors.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "model-folder-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
function build(options: Omit<BuildModelFolderOptions, "outDir"> = {}): Promise<BuiltModelFolder> {
  return buildModelFolder({ outDir: path.join(root, `m${counter++}`), ...options });
}

const sessions: ort.InferenceSession[] = [];
async function open(dir: string, component: string): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(path.join(dir, component, "model.onnx"), { intraOpNumThreads: 1 });
  sessions.push(session);
  return session;
}
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

function meta(session: ort.InferenceSession, side: "input" | "output") {
  const list = side === "input" ? session.inputMetadata : session.outputMetadata;
  return list.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name }));
}

function allFinite(t: ort.Tensor): boolean {
  return (t.data as Float32Array).every(Number.isFinite);
}

function maxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

/** Deterministic pseudo-random floats. */
function floats(n: number, phase = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + phase) * 0.8);
}

function ids(type: "int64" | "int32", rows: number[][]): ort.Tensor {
  const flat = rows.flat();
  const dims = [rows.length, rows[0].length];
  return type === "int64" ? new ort.Tensor("int64", BigInt64Array.from(flat, BigInt), dims) : new ort.Tensor("int32", Int32Array.from(flat), dims);
}

/** A padded prompt: BOS, some word ids, EOS (the highest id), then padding. */
function prompt(eos: number, pad: number, words: number[]): number[] {
  const row = [eos - 1, ...words, eos];
  while (row.length < 77) row.push(pad);
  return row;
}

const VARIANTS: Array<{ title: string; options: Omit<BuildModelFolderOptions, "outDir"> }> = [
  { title: "optimum >= 1.24 (int64 ids, rank-0 float timestep, latent_parameters)", options: { inputIds: "int64", timestep: "float-scalar", vaeEncoderOutput: "latent_parameters" } },
  { title: "optimum 1.6-1.23 (int64 ids, int64 [B] timestep, latent_sample)", options: { inputIds: "int64", timestep: "int64-batch", vaeEncoderOutput: "latent_sample" } },
  { title: "legacy diffusers script (int32 ids, float [B] timestep, latent_sample)", options: { inputIds: "int32", timestep: "float-batch", vaeEncoderOutput: "latent_sample" } },
  { title: "SD 2.x family with hidden_states outputs (int32 ids, rank-0 timestep)", options: { family: "sd2", inputIds: "int32", timestep: "float-scalar", textEncoderHiddenStates: true } },
];

describe.each(VARIANTS)("tiny model folder, $title", ({ options }) => {
  let built: BuiltModelFolder;
  beforeAll(async () => {
    built = await build({ preset: "tiny", ...options });
  });
  const idsType = () => built.contract.inputIds;

  it("has every file of an optimum export", async () => {
    const files = async (sub: string) => (await readdir(path.join(built.dir, sub))).sort();
    expect(await files(".")).toEqual(["model_index.json", "scheduler", "text_encoder", "tokenizer", "unet", "vae_decoder", "vae_encoder"]);
    for (const c of ["text_encoder", "unet", "vae_decoder", "vae_encoder"]) expect(await files(c)).toEqual(["config.json", "model.onnx"]);
    expect(await files("tokenizer")).toEqual(["merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"]);
    const index = JSON.parse(await readFile(path.join(built.dir, "model_index.json"), "utf8"));
    expect(index._class_name).toBe("StableDiffusionPipeline");
    expect(index.unet).toEqual(["diffusers", "UNet2DConditionModel"]);
    expect(index.text_encoder).toEqual(["transformers", "CLIPTextModel"]);
    expect(index.tokenizer).toEqual(["transformers", "CLIPTokenizer"]);
    const scheduler = JSON.parse(await readFile(path.join(built.dir, "scheduler/scheduler_config.json"), "utf8"));
    expect(scheduler).toMatchObject({ _class_name: "PNDMScheduler", beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, skip_prk_steps: true, set_alpha_to_one: false, clip_sample: false });
    const vae = JSON.parse(await readFile(path.join(built.dir, "vae_decoder/config.json"), "utf8"));
    expect(vae.scaling_factor).toBe(0.18215);
    const unet = JSON.parse(await readFile(path.join(built.dir, "unet/config.json"), "utf8"));
    expect(unet.cross_attention_dim).toBe(32);
    expect(unet.use_linear_projection).toBe(built.family === "sd2");
    const tokenizerConfig = JSON.parse(await readFile(path.join(built.dir, "tokenizer/tokenizer_config.json"), "utf8"));
    expect(tokenizerConfig.pad_token).toBe(built.family === "sd2" ? "!" : "<|endoftext|>");
  });

  it("text encoder declares the contract's inputs and outputs", async () => {
    const s = await open(built.dir, "text_encoder");
    const axes = options.timestep === "float-batch" ? ["batch", "sequence"] : ["batch_size", "sequence_length"];
    expect(meta(s, "input")).toEqual([{ name: "input_ids", type: idsType(), shape: axes }]);
    const names = ["last_hidden_state", "pooler_output"];
    if (options.textEncoderHiddenStates) for (let i = 0; i <= built.sizes.textEncoder.numHiddenLayers; i++) names.push(`hidden_states.${i}`);
    expect(s.outputNames).toEqual(names);
  });

  it("text encoder is causal and pools at the end-of-text token", async () => {
    const s = await open(built.dir, "text_encoder");
    const { eosTokenId: eos, padTokenId: pad } = built.tokenizer;
    const a = prompt(eos, pad, [10, 20, 30, 40]);
    const b = [...a];
    b[3] = 99; // change the third word only
    const out = await s.run({ input_ids: ids(idsType(), [a, b]) });
    const hidden = out.last_hidden_state.data as Float32Array;
    const H = 32;
    expect(out.last_hidden_state.dims).toEqual([2, 77, H]);
    expect(out.pooler_output.dims).toEqual([2, H]);
    expect(allFinite(out.last_hidden_state)).toBe(true);
    const row = (batch: number, pos: number) => hidden.slice((batch * 77 + pos) * H, (batch * 77 + pos + 1) * H);
    // positions before the change are identical, the changed one and later ones differ
    for (let pos = 0; pos < 3; pos++) expect(row(1, pos)).toEqual(row(0, pos));
    expect(row(1, 3)).not.toEqual(row(0, 3));
    expect(row(1, 10)).not.toEqual(row(0, 10));
    const pooled = out.pooler_output.data as Float32Array;
    expect(pooled.slice(0, H)).toEqual(row(0, 5));
    expect(pooled.slice(H, 2 * H)).toEqual(row(1, 5));
    if (options.textEncoderHiddenStates) {
      expect(out["hidden_states.0"].dims).toEqual([2, 77, H]);
      expect(out[`hidden_states.${built.sizes.textEncoder.numHiddenLayers}`].data).not.toEqual(out.last_hidden_state.data);
    }
  });

  const unetFeeds = (timestep: number, sample = floats(2 * 4 * 64), context = floats(2 * 77 * 32, 1)) => {
    const t =
      options.timestep === "int64-batch"
        ? new ort.Tensor("int64", BigInt64Array.from([timestep, timestep].map(BigInt)), [2])
        : options.timestep === "float-batch"
          ? new ort.Tensor("float32", Float32Array.from([timestep, timestep]), [2])
          : new ort.Tensor("float32", Float32Array.from([timestep]), []);
    return {
      sample: new ort.Tensor("float32", sample, [2, 4, 8, 8]),
      timestep: t,
      encoder_hidden_states: new ort.Tensor("float32", context, [2, 77, 32]),
    };
  };

  it("UNet declares the contract's inputs", async () => {
    const s = await open(built.dir, "unet");
    const inputs = meta(s, "input");
    expect(inputs.map((i) => i.name)).toEqual(["sample", "timestep", "encoder_hidden_states"]);
    const expected = {
      "float-scalar": { type: "float32", shape: [] },
      "int64-batch": { type: "int64", shape: ["steps"] },
      "float-batch": { type: "float32", shape: ["batch"] },
    }[options.timestep ?? "float-scalar"];
    expect(inputs[1]).toEqual({ name: "timestep", ...expected });
    expect(s.outputNames).toEqual(["out_sample"]);
  });

  it("UNet output has the sample's shape and depends on timestep, text and sample", async () => {
    const s = await open(built.dir, "unet");
    const base = (await s.run(unetFeeds(500))).out_sample;
    expect(base.dims).toEqual([2, 4, 8, 8]);
    expect(allFinite(base)).toBe(true);
    expect(maxAbsDiff(base, (await s.run(unetFeeds(500))).out_sample)).toBe(0);
    expect(maxAbsDiff(base, (await s.run(unetFeeds(20))).out_sample)).toBeGreaterThan(1e-4);
    expect(maxAbsDiff(base, (await s.run(unetFeeds(500, undefined, floats(2 * 77 * 32, 2)))).out_sample)).toBeGreaterThan(1e-4);
    expect(maxAbsDiff(base, (await s.run(unetFeeds(500, floats(2 * 4 * 64, 3)))).out_sample)).toBeGreaterThan(1e-4);
  });

  it("VAE decoder makes [B, 3, 8h, 8w] images and the encoder the contract's latents", async () => {
    const dec = await open(built.dir, "vae_decoder");
    expect(dec.inputNames).toEqual(["latent_sample"]);
    const image = (await dec.run({ latent_sample: new ort.Tensor("float32", floats(2 * 4 * 8 * 6), [2, 4, 8, 6]) })).sample;
    expect(image.dims).toEqual([2, 3, 64, 48]);
    expect(allFinite(image)).toBe(true);

    const enc = await open(built.dir, "vae_encoder");
    expect(enc.inputNames).toEqual(["sample"]);
    const output = options.vaeEncoderOutput ?? "latent_parameters";
    expect(enc.outputNames).toEqual([output]);
    const latents = (await enc.run({ sample: new ort.Tensor("float32", floats(3 * 64 * 48), [1, 3, 64, 48]) }))[output];
    expect(latents.dims).toEqual([1, output === "latent_parameters" ? 8 : 4, 8, 6]);
    expect(allFinite(latents)).toBe(true);
  });
});

describe("buildModelFolder", () => {
  it("gives byte-identical files for the same seed and different weights for another seed", async () => {
    const [a, b, c] = await Promise.all([build({ seed: 5 }), build({ seed: 5 }), build({ seed: 6 })]);
    for (const file of ["text_encoder/model.onnx", "unet/model.onnx", "vae_decoder/model.onnx", "vae_encoder/model.onnx", "tokenizer/vocab.json", "unet/config.json"]) {
      const [x, y, z] = await Promise.all([a, b, c].map((m) => readFile(path.join(m.dir, file))));
      expect(x.equals(y), file).toBe(true);
      if (file.endsWith(".onnx")) {
        expect(x.equals(z), file).toBe(false);
        expect(x.length, file).toBe(z.length);
      }
    }
  });

  it("writes weights as external data when asked, with the same outputs", async () => {
    const inline = await build({ seed: 3 });
    const external = await build({ seed: 3, externalData: true });
    expect(external.components.every((c) => c.externalData && c.files.includes("model.onnx_data"))).toBe(true);
    expect((await stat(path.join(external.dir, "unet/model.onnx_data"))).size).toBeGreaterThan(1e6);
    expect((await stat(path.join(external.dir, "unet/model.onnx"))).size).toBeLessThan(300_000);
    const feeds = {
      sample: new ort.Tensor("float32", floats(4 * 64), [1, 4, 8, 8]),
      timestep: new ort.Tensor("float32", Float32Array.from([321]), []),
      encoder_hidden_states: new ort.Tensor("float32", floats(77 * 32), [1, 77, 32]),
    };
    const a = (await (await open(inline.dir, "unet")).run(feeds)).out_sample;
    const b = (await (await open(external.dir, "unet")).run(feeds)).out_sample;
    expect(b.data).toEqual(a.data);
  });

  it("writes a GPU-only UNet that the CPU provider refuses, naming the contrib op", async () => {
    const built = await build({ gpuOnlyOps: true });
    await expect(ort.InferenceSession.create(path.join(built.dir, "unet/model.onnx"))).rejects.toThrow(/GroupNorm/);
    // the other components stay CPU-runnable
    await open(built.dir, "text_encoder");
  });

  it("sizes the tiny text encoder's vocabulary from the tokenizer and the sd15 preset at CLIP's real 49408", async () => {
    const built = await build();
    const vocab = JSON.parse(await readFile(path.join(built.dir, "tokenizer/vocab.json"), "utf8")) as Record<string, number>;
    expect(built.sizes.textEncoder.vocabSize).toBe(Object.keys(vocab).length);
    expect(built.tokenizer.eosTokenId).toBe(Object.keys(vocab).length - 1);
    expect(PRESETS.sd15.sd1?.textEncoder.vocabSize).toBe(49408);
    expect(PRESETS.sd15.sd1?.unet.blockOutChannels).toEqual([320, 640, 1280, 1280]);
    expect(PRESETS.sd2.sd2?.unet.attentionHeadDim).toEqual([5, 10, 20, 20]);
  });

  it("can copy a real CLIP vocabulary from a folder", async () => {
    const source = path.join(root, "clip-src");
    await mkdir(source, { recursive: true });
    const vocab: Record<string, number> = { "!": 0, a: 1, "a</w>": 2, "<|startoftext|>": 3, "<|endoftext|>": 4 };
    await writeFile(path.join(source, "vocab.json"), JSON.stringify(vocab));
    await writeFile(path.join(source, "merges.txt"), "#version: 0.2\n");
    const built = await build({ tokenizer: { kind: "real-clip", path: source } });
    expect(JSON.parse(await readFile(path.join(built.dir, "tokenizer/vocab.json"), "utf8"))).toEqual(vocab);
    expect(built.sizes.textEncoder.vocabSize).toBe(5);
  });

  it("rejects unknown options and values, naming the field and what is allowed", async () => {
    await expect(build({ timestep: "int32" as never })).rejects.toThrow(/timestep: unknown value "int32" \(allowed: float-scalar, int64-batch, float-batch\)/);
    await expect(build({ preset: "sd15", family: "sd2" })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(build({ colour: "red" } as never)).rejects.toThrow(/colour/);
  });

  it("refuses an existing folder unless told to overwrite, and leaves no temporary folder behind", async () => {
    const dir = path.join(root, "existing");
    await buildModelFolder({ outDir: dir });
    await expect(buildModelFolder({ outDir: dir })).rejects.toThrow(/already exists/);
    await buildModelFolder({ outDir: dir, overwrite: true, seed: 9 });
    expect((await readdir(root)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

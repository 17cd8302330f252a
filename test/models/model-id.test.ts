import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidInputError, ModelNotFoundError, parseModelId, resolveModel, resolvePvc } from "../../lib/index.js";

const builtins = ["shapes", "tiny"];
const parse = (id: string, bucket?: string) => parseModelId(id, { builtins, bucket });

describe("model ids", () => {
  it("tells every form apart by its syntax", () => {
    expect(parse("tiny")).toEqual({ kind: "builtin", name: "tiny" });
    expect(parse("/mnt/models")).toEqual({ kind: "local", dir: "/mnt/models" });
    expect(parse("./my-model")).toEqual({ kind: "local", dir: path.resolve("my-model") });
    expect(parse("s3://models-bucket/models/1/dog/")).toEqual({ kind: "s3", location: { bucket: "models-bucket", prefix: "models/1/dog/" }, bareKey: false });
    expect(parse("pvc://model-pvc/sd15/onnx")).toEqual({ kind: "pvc", claim: "model-pvc", path: "sd15/onnx" });
    expect(parse("onnx-community/stable-diffusion-v1-5")).toEqual({ kind: "hub", repo: "onnx-community/stable-diffusion-v1-5", revision: "main" });
    expect(parse("runwayml/stable-diffusion-v1-5@onnx")).toEqual({ kind: "hub", repo: "runwayml/stable-diffusion-v1-5", revision: "onnx" });
    expect(parse("hf://acme/sd@refs/pr/1")).toEqual({ kind: "hub", repo: "acme/sd", revision: "refs/pr/1" });
    expect(parse("models/1/dog", "models-bucket")).toEqual({ kind: "s3", location: { bucket: "models-bucket", prefix: "models/1/dog" }, bareKey: true });
    expect(parse("models/1/dog")).toEqual({ kind: "local", dir: path.resolve("models/1/dog") });
  });

  it("refuses an unknown scheme or a malformed Hub id, naming the field and the allowed forms", () => {
    expect(() => parse("gs://bucket/x")).toThrow(InvalidInputError);
    expect(() => parse("gs://bucket/x")).toThrow(/MODEL_ID: 'gs:\/\/bucket\/x' uses an unknown scheme gs:\/\/ \(allowed: .*s3:\/\/bucket\/prefix.*owner\/name\[@revision\]/);
    expect(() => parse("hf://acme--x/y")).toThrow(/not a Hugging Face Hub id/);
  });

  it("keeps the CLI's message for a folder that does not exist", async () => {
    const err = await resolveModel("/no/such/folder").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect((err as Error).message).toMatch(/model '\/no\/such\/folder' not found.*built-in model \(shapes, tiny\)/);
  });

  it("needs a data connection for s3:// and says which variables to set", async () => {
    const err = await resolveModel("s3://models-bucket/x", { env: {}, cacheDir: os.tmpdir() + "/none" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/AWS_ACCESS_KEY_ID: .*needs an S3 data connection/);
  });
});

describe("pvc:// ids", () => {
  it("map to the claim under PVC_MOUNT_ROOT, then to KServe's /mnt/models", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "pvc-"));
    const dir = path.join(root, "model-pvc", "sd", "onnx");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "model_index.json"), "{}");
    expect(await resolvePvc("model-pvc", "sd/onnx", {}, { PVC_MOUNT_ROOT: root })).toBe(dir);
    const kserve = path.join(root, "kserve-models");
    await mkdir(kserve);
    await writeFile(path.join(kserve, "model_index.json"), "{}");
    const r = await resolveModel("pvc://other/path", { env: {}, pvc: { kserveModelDir: kserve } });
    expect(r).toMatchObject({ dir: kserve, source: { kind: "pvc", claim: "other", path: "path" } });
  });

  it("say where they looked when the claim is not mounted", async () => {
    await expect(resolvePvc("nope", "m", { kserveModelDir: "/nonexistent/models" }, {})).rejects.toThrow(
      /pvc:\/\/nope\/m: no model folder \(with model_index.json\) at \/nonexistent\/models, \/mnt\/pvc\/m; .*PVC_MOUNT_ROOT/,
    );
  });
});

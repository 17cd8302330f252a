/** Models in S3: push a builder-made folder to models/{VERSION}/{name}/, pull it through resolveModel, use it offline. */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { cp, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MANIFEST_FILE,
  ModelNotFoundError,
  StorageAccessError,
  createS3Client,
  listPrefix,
  loadPipeline,
  pushModel,
  resolveModel,
  type ModelManifest,
} from "../../lib/index.js";
import { tinyModel } from "../helpers/tiny-model.js";
import { BUCKET, SECRET_KEY, startS3, type S3Server } from "../storage/helpers/s3-server.js";
import { captureLogger } from "./helpers/capture.js";
import { expectSameFiles } from "./helpers/same-files.js";

let s3: S3Server;
let trained: string;
let cacheDir: string;
const isTraining = (p: string) => p.startsWith("checkpoint-") || p.startsWith("logs/") || p.endsWith(".log");

beforeAll(async () => {
  const [server, model, tmp] = await Promise.all([startS3(), tinyModel(), mkdtemp(path.join(os.tmpdir(), "s3-source-"))]);
  s3 = server;
  cacheDir = path.join(tmp, "cache");
  // A fine-tuning run's output: the exported model plus checkpoints and logs.
  trained = path.join(tmp, "tiny-dog");
  await cp(model, trained, { recursive: true });
  await mkdir(path.join(trained, "checkpoint-100"), { recursive: true });
  await writeFile(path.join(trained, "checkpoint-100", "optimizer.bin"), "x".repeat(1000));
  await mkdir(path.join(trained, "logs"), { recursive: true });
  await writeFile(path.join(trained, "logs", "events.out.tfevents.1"), "e");
  await writeFile(path.join(trained, "train.log"), "step 1");
});
afterAll(async () => {
  await s3?.close();
});

describe("models in S3", () => {
  it("pushes a model folder to models/{VERSION}/{name}/ with a manifest, leaving checkpoints and logs out", async () => {
    const r = await pushModel({ dir: trained, connection: s3.connection, version: "1", partSize: 5 * 1024 * 1024 });
    expect(r.location).toEqual({ bucket: BUCKET, prefix: "models/1/tiny-dog/" });
    expect(r.manifest.skipped.sort()).toEqual(["checkpoint-100/optimizer.bin", "logs/events.out.tfevents.1", "train.log"]);
    const ctx = createS3Client(s3.connection);
    const keys = (await listPrefix(ctx, r.location)).map((o) => o.path);
    expect(keys).toContain(MANIFEST_FILE);
    expect(keys).toContain("unet/model.onnx");
    expect(keys.some(isTraining)).toBe(false);
    ctx.client.destroy();
  });

  it("pulls s3://bucket/prefix into the cache byte for byte, then uses the cached copy without asking S3", async () => {
    const log = captureLogger();
    const first = await resolveModel(`s3://${BUCKET}/models/1/tiny-dog`, { cacheDir, env: s3.env, logger: log });
    expect(first.source).toMatchObject({ kind: "s3", location: { bucket: BUCKET, prefix: "models/1/tiny-dog" } });
    expect(first.bytesFetched).toBeGreaterThan(9_000_000);
    await expectSameFiles(trained, first.dir, isTraining);
    const manifest = JSON.parse(await readFile(path.join(first.dir, MANIFEST_FILE), "utf8")) as ModelManifest;
    expect(manifest.files.map((f) => f.path)).toContain("unet/model.onnx");
    expect(manifest.files.some((f) => isTraining(f.path))).toBe(false);
    // a wrong endpoint proves the second call does not go out
    const again = await resolveModel(`s3://${BUCKET}/models/1/tiny-dog/`, { cacheDir, env: { ...s3.env, AWS_S3_ENDPOINT: "http://127.0.0.1:9" } });
    expect(again).toMatchObject({ dir: first.dir, bytesFetched: 0 });
    expect(log.lines.join("\n")).not.toContain(SECRET_KEY);
  });

  it("takes a bare key prefix as one in the data connection's bucket", async () => {
    const r = await resolveModel("models/1/tiny-dog", { cacheDir, env: s3.env });
    expect(r.source).toMatchObject({ kind: "s3", bareKey: true, location: { bucket: BUCKET } });
    expect(existsSync(path.join(r.dir, "model_index.json"))).toBe(true);
  });

  it("on refresh, fetches only the files that changed in the bucket", async () => {
    const ctx = createS3Client(s3.connection);
    const newConfig = JSON.stringify({ _class_name: "PNDMScheduler", num_train_timesteps: 1000, note: "changed" });
    await ctx.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "models/1/tiny-dog/scheduler/scheduler_config.json", Body: newConfig }));
    ctx.client.destroy();
    const r = await resolveModel(`s3://${BUCKET}/models/1/tiny-dog`, { cacheDir, env: s3.env, refresh: true });
    expect(r.bytesFetched).toBe(newConfig.length);
    expect(await readFile(path.join(r.dir, "scheduler", "scheduler_config.json"), "utf8")).toBe(newConfig);
    expect((await readFile(path.join(r.dir, "unet", "model.onnx"))).equals(await readFile(path.join(trained, "unet", "model.onnx")))).toBe(true);
  });

  it("reports an empty prefix as ModelNotFoundError naming the location", async () => {
    const err = await resolveModel(`s3://${BUCKET}/models/9/nothing`, { cacheDir, env: s3.env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect((err as Error).message).toMatch(/no objects under s3:\/\/models-bucket\/models\/9\/nothing\//);
  });

  it("names the bucket and the environment as the credential source on a 403, and never the secret", async () => {
    const log = captureLogger();
    const env = { ...s3.env, AWS_ACCESS_KEY_ID: "AKIANOTKNOWN" };
    const err = await resolveModel(`s3://${BUCKET}/models/1/other`, { cacheDir, env, logger: log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageAccessError);
    expect((err as Error).message).toMatch(/bucket 'models-bucket'.*credentials from environment \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\)/);
    for (const text of [(err as Error).message, (err as Error).stack ?? "", JSON.stringify(err), ...log.lines]) expect(text).not.toContain(SECRET_KEY);
  });

  it("generates from the pulled model with the S3 server gone", async () => {
    await s3.close();
    const r = await resolveModel(`s3://${BUCKET}/models/1/tiny-dog`, { cacheDir, env: s3.env });
    const pipe = await loadPipeline(r.dir);
    try {
      const out = await pipe.generate({ prompt: "a dog", num_inference_steps: 2, seed: 1, width: 64, height: 64, scheduler: "euler" });
      expect(out.images).toHaveLength(1);
    } finally {
      await pipe.dispose();
    }
  });
});

/** Upload and download of whole prefixes against a real S3 server (s3rver) on loopback, with injected faults. */
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ModelNotFoundError,
  StorageAccessError,
  createS3Client,
  dataConnection,
  downloadObject,
  downloadPrefix,
  listLocalFiles,
  listPrefix,
  uploadFolder,
  type TransferProgress,
} from "../../lib/index.js";
import { tinyModel } from "../helpers/tiny-model.js";
import { startFaultProxy, type FaultProxy } from "./helpers/fault-proxy.js";
import { ACCESS_KEY_ID, BUCKET, SECRET_KEY, startS3, type S3Server } from "./helpers/s3-server.js";

let s3: S3Server;
let proxy: FaultProxy;
let model: string;
let tmp: string;

beforeAll(async () => {
  [s3, model, tmp] = await Promise.all([startS3(), tinyModel(), mkdtemp(path.join(os.tmpdir(), "s3-transfer-"))]);
  proxy = await startFaultProxy(s3.port);
});
afterAll(async () => {
  await proxy?.close();
  await s3?.close();
});

/** A client that goes through the fault proxy; fast retries so injected faults cost milliseconds. */
function viaProxy() {
  return createS3Client(dataConnection({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_KEY, endpoint: proxy.endpoint }, "test data connection"), {
    maxAttempts: 3,
  });
}

async function sameFiles(a: string, b: string) {
  const fa = await listLocalFiles(a);
  expect((await listLocalFiles(b)).map((f) => f.path)).toEqual(fa.map((f) => f.path));
  for (const f of fa) expect((await readFile(path.join(b, f.path))).equals(await readFile(path.join(a, f.path))), f.path).toBe(true);
}

describe("S3 prefixes", () => {
  it("uploads a model folder (the UNet multipart) and downloads it back byte for byte, with progress", async () => {
    const ctx = viaProxy();
    proxy.seen.length = 0;
    const up: TransferProgress[] = [];
    const sent = await uploadFolder(ctx, model, { bucket: BUCKET, prefix: "roundtrip/tiny" }, { partSize: 5 * 1024 * 1024, onProgress: (p) => up.push(p) });
    const listed = await listPrefix(ctx, { bucket: BUCKET, prefix: "roundtrip/tiny" });
    expect(listed.map((o) => o.path)).toEqual(sent.map((f) => f.path));
    // the 5.9 MB UNet went up in two parts
    const parts = proxy.seen.filter((r) => r.method === "PUT" && r.url.startsWith("/models-bucket/roundtrip/tiny/unet/model.onnx?") && /partNumber=/.test(r.url));
    expect(parts.length).toBe(2);
    expect(up.at(-1)).toMatchObject({ phase: "done", filesDone: sent.length, bytesDone: up.at(-1)!.bytesTotal });

    const down: TransferProgress[] = [];
    const dest = path.join(tmp, "roundtrip");
    await downloadPrefix(ctx, { bucket: BUCKET, prefix: "roundtrip/tiny/" }, dest, { concurrency: 3, onProgress: (p) => down.push(p) });
    await sameFiles(model, dest);
    expect(down.at(-1)).toMatchObject({ phase: "done", filesDone: sent.length });
    expect(down.filter((p) => p.phase === "transfer").length).toBeGreaterThan(sent.length);
    ctx.client.destroy();
  });

  it("does not list a sibling prefix that merely starts with the same characters", async () => {
    const ctx = createS3Client(s3.connection);
    await ctx.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "sib/a/x.json", Body: "{}" }));
    await ctx.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "sib/ab/y.json", Body: "{}" }));
    expect((await listPrefix(ctx, { bucket: BUCKET, prefix: "sib/a" })).map((o) => o.key)).toEqual(["sib/a/x.json"]);
    ctx.client.destroy();
  });

  it("retries a server that answers 500 and then 200, and 503 SlowDown throttling", async () => {
    const ctx = viaProxy();
    await ctx.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "faults/file.bin", Body: randomBytes(1000) }));
    for (const status of [500, 503]) {
      proxy.plan = { failFirst: { count: 1, status, match: (r) => r.method === "GET" } };
      proxy.seen.length = 0;
      const file = path.join(tmp, `faults-${status}.bin`);
      await downloadObject(ctx, { bucket: BUCKET, key: "faults/file.bin", file });
      expect((await readFile(file)).length).toBe(1000);
      expect(proxy.seen.map((r) => r.status)).toEqual([status, 200]);
    }
    proxy.plan = {};
    ctx.client.destroy();
  });

  it("resumes a body that breaks mid-stream from the bytes already on disk", async () => {
    const ctx = viaProxy();
    const data = randomBytes(300_000);
    await ctx.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "faults/cut.bin", Body: data }));
    proxy.plan = { cutAfterBytes: { bytes: 100_000, times: 1, match: (r) => r.method === "GET" } };
    proxy.seen.length = 0;
    const file = path.join(tmp, "cut.bin");
    await downloadObject(ctx, { bucket: BUCKET, key: "faults/cut.bin", file, retry: { baseDelayMs: 10 } });
    expect((await readFile(file)).equals(data)).toBe(true);
    const ranges = proxy.seen.filter((r) => r.method === "GET").map((r) => r.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(/=(\d+)-/.exec(ranges[1]!)![1])).toBeGreaterThan(0);
    proxy.plan = {};
    ctx.client.destroy();
  });

  it("says which bucket and which credential source a 403 refused, without the secret key", async () => {
    // s3rver checks the key id (its V4 signature check is a stub), so an unknown key id draws the 403.
    const wrong = "wrong+Secret/Value-91b2";
    const ctx = createS3Client(dataConnection({ accessKeyId: "AKIAUNKNOWN", secretAccessKey: wrong, endpoint: s3.endpoint }, "Secret demo/aws-connection-x"), {
      maxAttempts: 1,
    });
    const err = await listPrefix(ctx, { bucket: BUCKET, prefix: "roundtrip" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageAccessError);
    const e = err as StorageAccessError;
    expect(e.message).toMatch(new RegExp(`access denied \\(403 InvalidAccessKeyId\\) to bucket '${BUCKET}'`));
    expect(e.message).toMatch(/credentials from Secret demo\/aws-connection-x/);
    expect(e).toMatchObject({ bucket: BUCKET, credentialSource: "Secret demo/aws-connection-x", status: 403 });
    for (const text of [e.message, e.stack ?? "", JSON.stringify(e)]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(SECRET_KEY);
    }
    ctx.client.destroy();
  });

  it("reports a missing key as ModelNotFoundError naming the object", async () => {
    const ctx = createS3Client(s3.connection);
    const err = await downloadObject(ctx, { bucket: BUCKET, key: "no/such/key.onnx", file: path.join(tmp, "nokey") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect((err as Error).message).toMatch(/s3:\/\/models-bucket\/no\/such\/key\.onnx does not exist/);
    ctx.client.destroy();
  });

  it("stores bytes as sent: no aws-chunked encoding reaches a third-party S3", async () => {
    const ctx = createS3Client(s3.connection);
    const body = "exactly these bytes";
    await writeFile(path.join(tmp, "plain.txt"), body);
    await uploadFolder(ctx, tmp, { bucket: BUCKET, prefix: "plain" }, { files: [{ path: "plain.txt", size: body.length }] });
    const got = await ctx.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "plain/plain.txt" }));
    expect(await got.Body!.transformToString()).toBe(body);
    ctx.client.destroy();
  });
});

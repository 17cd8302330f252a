import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lossCsv, readScalars, tfRecords } from "../../finetuning/dreambooth/loss-log.js";
import { uploadRunOutput } from "../../finetuning/dreambooth/upload.js";
import { createS3Client, listPrefix } from "../../lib/index.js";
import { startS3, type S3Server } from "../storage/helpers/s3-server.js";

// TFRecord framing and Event protos written byte by byte here (not with the reader's schema), as
// TensorBoard's writer lays them out: length, masked CRC-32C of the length, data, masked CRC-32C.
const CRC32C = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});
function maskedCrc(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC32C[(c ^ x) & 0xff] ^ (c >>> 8);
  c = (c ^ 0xffffffff) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}
function record(data: Buffer): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(data.length));
  const c1 = Buffer.alloc(4);
  c1.writeUInt32LE(maskedCrc(len));
  const c2 = Buffer.alloc(4);
  c2.writeUInt32LE(maskedCrc(data));
  return Buffer.concat([len, c1, data, c2]);
}
const varint = (n: number) => {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
};
const lenField = (field: number, b: Buffer) => Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
function scalarEvent(step: number, tag: string, value: number): Buffer {
  const f = Buffer.alloc(4);
  f.writeFloatLE(value);
  const summaryValue = Buffer.concat([lenField(1, Buffer.from(tag)), Buffer.from([(2 << 3) | 5]), f]);
  const wall = Buffer.alloc(8);
  wall.writeDoubleLE(1_700_000_000 + step);
  return Buffer.concat([Buffer.from([(1 << 3) | 1]), wall, varint(2 << 3), varint(step), lenField(5, lenField(1, summaryValue))]);
}
function fileVersionEvent(): Buffer {
  const wall = Buffer.alloc(8);
  return Buffer.concat([Buffer.from([(1 << 3) | 1]), wall, lenField(3, Buffer.from("brain.Event:2"))]);
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "dreambooth-upload-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeLogs(dir: string): Promise<void> {
  await mkdir(path.join(dir, "dreambooth-sd3-lora"), { recursive: true });
  const events = [fileVersionEvent(), scalarEvent(1, "loss", 0.5), scalarEvent(1, "lr", 1e-4), scalarEvent(2, "loss", 0.25)].map(record);
  // A torn last record (a writer still running) is dropped.
  const torn = record(scalarEvent(3, "loss", 0.125)).subarray(0, 20);
  await writeFile(path.join(dir, "dreambooth-sd3-lora", "events.out.tfevents.1700000000.host.1.0"), Buffer.concat([...events, torn]));
}

describe("loss log", () => {
  it("reads the loss series from TensorBoard event files, skipping other tags and a torn last record", async () => {
    const logs = path.join(root, "logs-a");
    await writeLogs(logs);
    expect(await readScalars(logs, "loss")).toEqual([
      { step: 1, value: 0.5 },
      { step: 2, value: 0.25 },
    ]);
    expect(lossCsv(await readScalars(logs, "loss"))).toBe("step,loss\n1,0.5\n2,0.25\n");
    expect(await readScalars(path.join(root, "no-such-logs"), "loss")).toEqual([]);
    expect(tfRecords(Buffer.alloc(5))).toEqual([]);
  });
});

describe("uploadRunOutput", () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.close();
  });

  it("publishes diffusers/ and onnx/ side by side under models/{VERSION}/{name}/ and writes the loss log", async () => {
    const out = path.join(root, "run/output");
    await mkdir(path.join(out, "diffusers/unet"), { recursive: true });
    await mkdir(path.join(out, "onnx/unet"), { recursive: true });
    await writeFile(path.join(out, "diffusers/model_index.json"), "{}");
    await writeFile(path.join(out, "diffusers/unet/diffusion_pytorch_model.safetensors"), "weights");
    await writeFile(path.join(out, "onnx/model_index.json"), "{}");
    await writeFile(path.join(out, "onnx/unet/model.onnx"), "onnx");
    const logs = path.join(root, "run/train/logs");
    await writeLogs(logs);
    const lossLog = path.join(root, "artifacts/upload/loss_log");
    const messages: string[] = [];
    const r = await uploadRunOutput({ from: out, version: "v1", name: "rhteddy", connection: s3.connection, trainLogs: logs, lossLog, onLog: (m) => messages.push(m) });
    expect(r.lossPoints).toBe(2);
    expect(await readFile(lossLog, "utf8")).toBe("step,loss\n1,0.5\n2,0.25\n");
    const ctx = createS3Client(s3.connection);
    try {
      const keys = (await listPrefix(ctx, { bucket: "models-bucket", prefix: "models/" })).map((o) => o.key).sort();
      expect(keys).toEqual([
        "models/v1/rhteddy/diffusers/model_index.json",
        "models/v1/rhteddy/diffusers/unet/diffusion_pytorch_model.safetensors",
        "models/v1/rhteddy/diffusers/workbench-manifest.json",
        "models/v1/rhteddy/onnx/model_index.json",
        "models/v1/rhteddy/onnx/unet/model.onnx",
        "models/v1/rhteddy/onnx/workbench-manifest.json",
      ]);
    } finally {
      ctx.client.destroy();
    }
    expect(messages).toEqual([
      "loss log: 2 steps, last loss 0.2500",
      "uploaded diffusers/ to s3://models-bucket/models/v1/rhteddy/diffusers/ (2 files)",
      "uploaded onnx/ to s3://models-bucket/models/v1/rhteddy/onnx/ (2 files)",
    ]);
  });

  it("refuses an output without the two model folders, before uploading anything", async () => {
    const out = path.join(root, "run-b/output");
    await mkdir(path.join(out, "diffusers"), { recursive: true });
    await writeFile(path.join(out, "diffusers/model_index.json"), "{}");
    await expect(uploadRunOutput({ from: out, version: "v1", name: "x", connection: s3.connection })).rejects.toThrow(/from: .*onnx is not a model folder/);
  });
});

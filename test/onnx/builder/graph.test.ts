import { mkdtemp, rm, stat, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { GraphBuilder, attr } from "../../../lib/onnx/builder/graph.js";
import { OnnxProto } from "../../../lib/onnx/builder/onnx-proto.js";
import { fanInUniform } from "../../../lib/onnx/builder/random-weights.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "graph-builder-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** y = x @ W + b, then softmax over the last axis; W is a seeded weight, b an eager initializer. */
function linearSoftmax(seed: number): GraphBuilder {
  const g = new GraphBuilder({ name: "linear_softmax", seed });
  const x = g.input("x", "float32", ["batch_size", 300]);
  const w = g.weight("proj.weight", [300, 400], fanInUniform(300));
  const b = g.initializer("proj.bias", "float32", [400], Float32Array.from({ length: 400 }, (_, i) => i / 400));
  const y = g.scope("proj", () => g.softmax(g.add(g.matmul(x, w), b), -1));
  g.output(y, "y", "float32", ["batch_size", 400]);
  return g;
}

async function run(path: string, x: Float32Array, batch: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  try {
    const out = await session.run({ x: new ort.Tensor("float32", x, [batch, 300]) });
    return out.y.data as Float32Array;
  } finally {
    await session.release();
  }
}

const input = Float32Array.from({ length: 600 }, (_, i) => Math.sin(i));

describe("GraphBuilder", () => {
  it("saves a model that onnxruntime opens, with the declared inputs and outputs", async () => {
    const path = join(dir, "inline.onnx");
    const result = await linearSoftmax(1).save(path, { externalData: false });
    expect(result.external).toBe(false);
    const session = await ort.InferenceSession.create(path);
    expect(session.inputNames).toEqual(["x"]);
    expect(session.outputNames).toEqual(["y"]);
    const meta = session.inputMetadata[0];
    expect(meta.isTensor && meta.type).toBe("float32");
    expect(meta.isTensor && meta.shape).toEqual(["batch_size", 300]);
    await session.release();
    const y = await run(path, input, 2);
    expect(y.length).toBe(800);
    expect(y.slice(0, 400).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("decodes back with the weights named and shaped as declared", async () => {
    const path = join(dir, "decode.onnx");
    await linearSoftmax(1).save(path, { externalData: false });
    const model = OnnxProto.ModelProto.toObject(OnnxProto.ModelProto.decode(await readFile(path)), { longs: Number }) as {
      ir_version: number;
      opset_import: { version: number }[];
      graph: { initializer: { name: string; dims: number[]; raw_data: Uint8Array }[]; node: { name: string; op_type: string }[] };
    };
    expect(model.ir_version).toBe(8);
    expect(model.opset_import[0].version).toBe(17);
    const weight = model.graph.initializer.find((t) => t.name === "proj.weight");
    expect(weight?.dims).toEqual([300, 400]);
    expect(weight?.raw_data.byteLength).toBe(300 * 400 * 4);
    expect(model.graph.node.map((n) => n.name)).toEqual(["/proj/MatMul_0", "/proj/Add_1", "/proj/Softmax_2", "/Identity_3"]);
  });

  it("round-trips weights through external data with the same outputs", async () => {
    const inline = join(dir, "a.onnx");
    const external = join(dir, "b.onnx");
    await linearSoftmax(7).save(inline, { externalData: false });
    const result = await linearSoftmax(7).save(external, { externalData: "auto", externalThresholdBytes: 1000 });
    expect(result.external).toBe(true);
    const data = await stat(`${external}_data`);
    // the 480000-byte weight and the 1600-byte bias, the second at a 4 KiB-aligned offset
    expect(data.size).toBe(480000 + (4096 - (480000 % 4096)) + 1600);
    expect((await stat(external)).size).toBeLessThan(2000);
    expect(result.bytes).toBe((await stat(external)).size + data.size);
    expect(await run(external, input, 2)).toEqual(await run(inline, input, 2));
  });

  it("gives the same bytes for the same seed and different weights for another seed", async () => {
    const paths = ["s1a.onnx", "s1b.onnx", "s2.onnx"].map((f) => join(dir, f));
    await linearSoftmax(1).save(paths[0], { externalData: false });
    await linearSoftmax(1).save(paths[1], { externalData: false });
    await linearSoftmax(2).save(paths[2], { externalData: false });
    const [a, b, c] = await Promise.all(paths.map((p) => readFile(p)));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    expect(a.length).toBe(c.length);
  });

  it("refuses a name used twice", () => {
    const g = new GraphBuilder({ name: "dup", seed: 0 });
    g.input("x", "float32", [1]);
    expect(() => g.weight("x", [1], fanInUniform(1))).toThrow(/already used/);
  });

  it("writes typed attributes and multi-output nodes that run", async () => {
    const g = new GraphBuilder({ name: "split", seed: 0 });
    const x = g.input("x", "float32", [2, 6]);
    const [a, b] = g.split(x, -1, 2);
    const y = g.op("LeakyRelu", [g.sub(a, b)], { alpha: attr.float(0.5) });
    g.output(y, "y", "float32", [2, 3]);
    const path = join(dir, "split.onnx");
    await g.save(path);
    const session = await ort.InferenceSession.create(path);
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from([1, 2, 3, 0, 0, 0, 0, 0, 0, 1, 2, 3]), [2, 6]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([1, 2, 3, -0.5, -1, -1.5]);
    await session.release();
  });
});

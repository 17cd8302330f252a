/**
 * Reading the builder cross-check fixtures (test/reference/*_crosscheck.py writes them: a manifest.json and one raw
 * little-endian .f32/.i64 file per tensor) and running graphs once on them with onnxruntime-node.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { expect } from "vitest";

export interface CrosscheckManifest {
  files: Record<string, { dtype: "float32" | "int64"; shape: number[] }>;
}

/** The manifest of a fixture folder, and a reader of its tensors by key. */
export async function crosscheckFixture<M extends CrosscheckManifest = CrosscheckManifest>(
  dir: string,
): Promise<{ manifest: M; read: (key: string) => Promise<ort.Tensor> }> {
  const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as M;
  const read = async (key: string): Promise<ort.Tensor> => {
    const { dtype, shape } = manifest.files[key];
    const bytes = await readFile(path.join(dir, `${key}.${dtype === "float32" ? "f32" : "i64"}`));
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    return new ort.Tensor(dtype, dtype === "float32" ? new Float32Array(buffer) : new BigInt64Array(buffer), shape);
  };
  return { manifest, read };
}

/** Max |a - b| of two float tensors of the same dims (asserted). */
export function tensorMaxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  expect(a.dims).toEqual(b.dims);
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

/** Open a graph with one thread (as the reference ran), run it once, release it. */
export async function runOnce(file: string, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/**
 * The upload step: the run's output folder (diffusers/ and onnx/, each a model folder with
 * model_index.json) to `models/{VERSION}/{OUTPUT_NAME}/` in the data connection's bucket, each with
 * the push manifest; and the loss log from the training logs as a pipeline artifact.
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../../lib/errors.js";
import { modelPrefix, pushModel, type PushResult } from "../../lib/models/push.js";
import type { DataConnection } from "../../lib/storage/data-connection.js";
import type { S3ClientOptions } from "../../lib/storage/s3-client.js";
import { lossCsv, readScalars } from "./loss-log.js";

/** The two folders published side by side. */
export const OUTPUT_FOLDERS = ["diffusers", "onnx"] as const;

export interface UploadRunOptions {
  /** The run's output folder with diffusers/ and onnx/. */
  from: string;
  version: string;
  name: string;
  connection: DataConnection;
  s3?: S3ClientOptions;
  /** TensorBoard logs of training; with `lossLog`, the loss series is written there as CSV. */
  trainLogs?: string;
  lossLog?: string;
  onLog?: (message: string) => void;
  signal?: AbortSignal;
}

export interface UploadRunResult {
  pushed: Record<(typeof OUTPUT_FOLDERS)[number], PushResult>;
  lossPoints?: number;
}

export async function uploadRunOutput(o: UploadRunOptions): Promise<UploadRunResult> {
  const bucket = o.connection.bucket;
  if (!bucket) throw new InvalidInputError("AWS_S3_BUCKET", "is not set in the data connection", "the bucket models are published to");
  const prefix = modelPrefix(o.name, o.version);
  for (const f of OUTPUT_FOLDERS) {
    const st = await stat(path.join(o.from, f, "model_index.json")).catch(() => undefined);
    if (!st) throw new InvalidInputError("from", `${path.join(o.from, f)} is not a model folder (no model_index.json)`, `a run output with ${OUTPUT_FOLDERS.join("/ and ")}/`);
  }
  let lossPoints: number | undefined;
  if (o.lossLog) {
    const points = o.trainLogs ? await readScalars(o.trainLogs, "loss") : [];
    await mkdir(path.dirname(o.lossLog), { recursive: true });
    await writeFile(o.lossLog, lossCsv(points));
    lossPoints = points.length;
    o.onLog?.(`loss log: ${points.length} steps${points.length ? `, last loss ${points[points.length - 1].value.toFixed(4)}` : " (no TensorBoard events found)"}`);
  }
  const pushed = {} as UploadRunResult["pushed"];
  for (const f of OUTPUT_FOLDERS) {
    pushed[f] = await pushModel({
      dir: path.join(o.from, f),
      connection: o.connection,
      s3: o.s3,
      name: o.name,
      version: o.version,
      target: { bucket, prefix: `${prefix}${f}/` },
      signal: o.signal,
    });
    o.onLog?.(`uploaded ${f}/ to s3://${bucket}/${prefix}${f}/ (${pushed[f].manifest.files.length} files)`);
  }
  return { pushed, lossPoints };
}

/**
 * The training loss from the TensorBoard event files the diffusers scripts write
 * (`--report_to tensorboard`: accelerate logs {"loss", "lr"} every step under <output_dir>/logs/).
 *
 * Event files are TFRecord files of `tensorflow.Event` protos. The few messages needed are declared
 * here for protobufjs (field numbers from tensorflow/core/util/event.proto and
 * framework/summary.proto, tensor.proto). Record CRCs (CRC-32C) are not checked: a torn last record,
 * as left by a run still writing, is dropped by its length instead.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import protobuf from "protobufjs";

const root = protobuf.Root.fromJSON({
  nested: {
    tf: {
      nested: {
        Event: {
          fields: { wallTime: { type: "double", id: 1 }, step: { type: "int64", id: 2 }, summary: { type: "Summary", id: 5 } },
        },
        Summary: { fields: { value: { rule: "repeated", type: "SummaryValue", id: 1 } } },
        SummaryValue: {
          fields: { tag: { type: "string", id: 1 }, simpleValue: { type: "float", id: 2 }, tensor: { type: "TensorProto", id: 8 } },
        },
        // Scalars written "new style" (a rank-0 tensor) instead of simple_value.
        TensorProto: {
          fields: {
            dtype: { type: "int32", id: 1 },
            tensorContent: { type: "bytes", id: 4 },
            floatVal: { rule: "repeated", type: "float", id: 5 },
            doubleVal: { rule: "repeated", type: "double", id: 6 },
          },
        },
      },
    },
  },
});
const Event = root.lookupType("tf.Event");

interface DecodedEvent {
  step?: number | { toNumber(): number };
  summary?: { value?: { tag?: string; simpleValue?: number; tensor?: { dtype?: number; tensorContent?: Uint8Array; floatVal?: number[]; doubleVal?: number[] } }[] };
}

const DT_FLOAT = 1;
const DT_DOUBLE = 2;

function scalarOf(v: NonNullable<NonNullable<DecodedEvent["summary"]>["value"]>[number]): number | undefined {
  if (typeof v.simpleValue === "number" && v.tensor === undefined) return v.simpleValue;
  const t = v.tensor;
  if (!t) return v.simpleValue;
  if (t.floatVal?.length) return t.floatVal[0];
  if (t.doubleVal?.length) return t.doubleVal[0];
  const c = t.tensorContent;
  if (c && t.dtype === DT_FLOAT && c.length >= 4) return Buffer.from(c).readFloatLE(0);
  if (c && t.dtype === DT_DOUBLE && c.length >= 8) return Buffer.from(c).readDoubleLE(0);
  return undefined;
}

/** The records of one TFRecord file. */
export function tfRecords(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off + 12 <= bytes.length) {
    const len = Number(bytes.readBigUInt64LE(off));
    const start = off + 12;
    if (start + len + 4 > bytes.length) break;
    out.push(bytes.subarray(start, start + len));
    off = start + len + 4;
  }
  return out;
}

export interface ScalarPoint {
  step: number;
  value: number;
}

/** The scalar series `tag` from every event file under `dir` (recursively), sorted by step. */
export async function readScalars(dir: string, tag: string): Promise<ScalarPoint[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const points: ScalarPoint[] = [];
  for (const e of entries) {
    if (!e.isFile() || !e.name.startsWith("events.out.tfevents.")) continue;
    for (const rec of tfRecords(await readFile(path.join(e.parentPath, e.name)))) {
      const ev = Event.decode(rec) as unknown as DecodedEvent;
      for (const v of ev.summary?.value ?? []) {
        if (v.tag !== tag) continue;
        const value = scalarOf(v);
        const step = typeof ev.step === "object" ? ev.step.toNumber() : (ev.step ?? 0);
        if (value !== undefined) points.push({ step, value });
      }
    }
  }
  return points.sort((a, b) => a.step - b.step);
}

/** "step,loss" lines. */
export function lossCsv(points: ScalarPoint[]): string {
  return `step,loss\n${points.map((p) => `${p.step},${p.value}`).join("\n")}${points.length ? "\n" : ""}`;
}

/**
 * Serializes a built graph to model.onnx, streaming initializer bytes instead of building the whole
 * message in memory: protobuf's wire format lets a message be written as concatenated fields, so the
 * ModelProto is emitted as its small fields, then the graph field's header (its total length is
 * known up front from the initializers' dims), the graph's nodes and value infos, and one
 * length-delimited `initializer` record per tensor whose bytes are generated just before they are
 * written. Only one tensor's bytes live in memory at a time.
 *
 * External data follows the ONNX spec (TensorProto.external_data with `location`, `offset`,
 * `length`; `data_location` EXTERNAL): all tensors of at least 1 KiB go to `<model file>_data`
 * (optimum names it `model.onnx_data`) at 4 KiB-aligned offsets (ONNX Runtime can memory-map
 * them); smaller ones stay inline, as onnx's `convert_model_to_external_data` does by default.
 * Files are written under temporary names and renamed into place.
 */
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { endianness } from "node:os";
import { basename } from "node:path";
import { randomBytes } from "node:crypto";
import { InvalidInputError } from "../../errors.js";
import {
  DataLocation,
  FieldNumber,
  OnnxProto,
  TensorDataType,
  encodeMessage,
  lengthDelimitedHeader,
  type TensorProto,
} from "./onnx-proto.js";
import type { GraphContents, InitializerSpec } from "./graph.js";

/** `true`: weights in `<model>_data`; `false`: inside the model file; `"auto"`: external when large. */
export type ExternalDataOption = "auto" | boolean;

/** Protobuf refuses messages of 2 GiB and more; stay clear of it when deciding automatically. */
export const DEFAULT_EXTERNAL_THRESHOLD_BYTES = 1.9e9;
const PROTOBUF_LIMIT_BYTES = 2 ** 31 - 1;
/** Tensors below this size stay inside model.onnx even in external mode. */
const INLINE_BELOW_BYTES = 1024;
const EXTERNAL_ALIGNMENT = 4096;
/** IR version 8 goes with opset 17 (ONNX 1.12). */
const IR_VERSION = 8;

const DATA_TYPE: Record<InitializerSpec["elementType"], number> = {
  float32: TensorDataType.FLOAT,
  float16: TensorDataType.FLOAT16,
  int64: TensorDataType.INT64,
  int32: TensorDataType.INT32,
  bool: TensorDataType.BOOL,
};

interface PlannedTensor {
  spec: InitializerSpec;
  header: Uint8Array;
  /** Bytes after the tensor header inside model.onnx: the raw_data field header, when inline. */
  rawHeader: Uint8Array | null;
  externalOffset: number | null;
}

function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done);
    done += bytesWritten;
  }
}

function planTensors(initializers: readonly InitializerSpec[], external: boolean, location: string): { tensors: PlannedTensor[]; dataBytes: number } {
  let offset = 0;
  const tensors = initializers.map((spec): PlannedTensor => {
    const base: TensorProto = { name: spec.name, dims: [...spec.dims], data_type: DATA_TYPE[spec.elementType] };
    if (external && spec.byteLength >= INLINE_BELOW_BYTES) {
      offset = Math.ceil(offset / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
      const header = encodeMessage(OnnxProto.TensorProto, {
        ...base,
        data_location: DataLocation.EXTERNAL,
        external_data: [
          { key: "location", value: location },
          { key: "offset", value: String(offset) },
          { key: "length", value: String(spec.byteLength) },
        ],
      });
      const planned = { spec, header, rawHeader: null, externalOffset: offset };
      offset += spec.byteLength;
      return planned;
    }
    return {
      spec,
      header: encodeMessage(OnnxProto.TensorProto, base),
      rawHeader: lengthDelimitedHeader(FieldNumber.TensorProto.raw_data, spec.byteLength),
      externalOffset: null,
    };
  });
  return { tensors, dataBytes: offset };
}

function tensorRecordLength(t: PlannedTensor): number {
  return t.header.byteLength + (t.rawHeader ? t.rawHeader.byteLength + t.spec.byteLength : 0);
}

function checkedData(spec: InitializerSpec): Uint8Array {
  const data = spec.data();
  if (data.byteLength !== spec.byteLength) {
    throw new InvalidInputError("data", `initializer "${spec.name}" produced ${data.byteLength} bytes`, `${spec.byteLength} bytes`);
  }
  return bytesOf(data);
}

/** Writes the model (and its external data file when needed); returns whether data went external. */
export async function writeModel(
  graph: GraphContents,
  path: string,
  options: { externalData?: ExternalDataOption; externalThresholdBytes?: number } = {},
): Promise<{ external: boolean; bytes: number }> {
  // ONNX raw_data is little-endian; typed arrays use the host's order.
  if (endianness() !== "LE") throw new Error("writing ONNX raw_data needs a little-endian host");
  const choice = options.externalData ?? "auto";
  const totalBytes = graph.initializers.reduce((sum, s) => sum + s.byteLength, 0);
  const external = choice === "auto" ? totalBytes > (options.externalThresholdBytes ?? DEFAULT_EXTERNAL_THRESHOLD_BYTES) : choice;
  if (!external && totalBytes >= PROTOBUF_LIMIT_BYTES) {
    throw new InvalidInputError("externalData", `${totalBytes} bytes of weights cannot be stored inside one protobuf message`, '"auto" or true');
  }

  const dataPath = `${path}_data`;
  const { tensors, dataBytes } = planTensors(graph.initializers, external, basename(dataPath));

  const graphHead = encodeMessage(OnnxProto.GraphProto, {
    name: graph.name,
    node: graph.nodes,
    input: graph.inputs,
    output: graph.outputs,
    doc_string: graph.docString,
  });
  const records = tensors.map((t) => ({ t, header: lengthDelimitedHeader(FieldNumber.GraphProto.initializer, tensorRecordLength(t)) }));
  const graphLength = graphHead.byteLength + records.reduce((sum, r) => sum + r.header.byteLength + tensorRecordLength(r.t), 0);
  if (graphLength >= PROTOBUF_LIMIT_BYTES) {
    throw new InvalidInputError("externalData", `the graph would take ${graphLength} bytes inside model.onnx`, '"auto" or true');
  }
  const modelHead = encodeMessage(OnnxProto.ModelProto, {
    ir_version: IR_VERSION,
    producer_name: graph.producer,
    opset_import: graph.opsetImports,
  });
  const graphHeader = lengthDelimitedHeader(FieldNumber.ModelProto.graph, graphLength);

  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const tmpModel = `${path}${suffix}`;
  const tmpData = `${dataPath}${suffix}`;
  try {
    const model = await open(tmpModel, "w");
    const data = external ? await open(tmpData, "w") : null;
    try {
      await writeAll(model, modelHead);
      await writeAll(model, graphHeader);
      await writeAll(model, graphHead);
      let dataPosition = 0;
      for (const { t, header } of records) {
        await writeAll(model, header);
        await writeAll(model, t.header);
        if (t.rawHeader) {
          await writeAll(model, t.rawHeader);
          await writeAll(model, checkedData(t.spec));
        } else if (data && t.externalOffset !== null) {
          if (t.externalOffset > dataPosition) await writeAll(data, new Uint8Array(t.externalOffset - dataPosition));
          await writeAll(data, checkedData(t.spec));
          dataPosition = t.externalOffset + t.spec.byteLength;
        }
      }
    } finally {
      await model.close();
      await data?.close();
    }
    if (external) await rename(tmpData, dataPath);
    await rename(tmpModel, path);
  } catch (error) {
    await rm(tmpModel, { force: true });
    await rm(tmpData, { force: true });
    throw error;
  }
  return { external, bytes: modelHead.byteLength + graphHeader.byteLength + graphLength + dataBytes };
}

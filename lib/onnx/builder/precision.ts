/**
 * float16 model variants of built graphs, as fp16 exports come in the wild:
 * - "float16": weights and graph inputs/outputs in float16 (optimum's `--dtype fp16` export);
 * - "float16-fp32-io": float16 weights with float32 inputs and outputs, a Cast at each graph
 *   boundary (onnxconverter-common's `convert_float_to_float16(keep_io_types=True)`, what many Hub
 *   repos ship so that callers feed float32).
 * The conversion works on the graph contents before they are written, so big models still stream
 * one tensor at a time. Float32 initializers become float16, saturated to +-65504 (the largest
 * finite half, as onnxconverter-common clips: CLIP's causal mask holds float32's minimum), except
 * those ONNX requires in float32 (Resize's roi and scales); Cast nodes to float32 cast to float16.
 * ONNX Runtime's CPU provider runs such graphs by inserting casts around ops it has no float16
 * kernel for.
 */
import { InvalidInputError } from "../../errors.js";
import { float32ToFloat16Bits } from "../float16.js";
import type { GraphBuilder, GraphContents, InitializerSpec } from "./graph.js";
import { AttributeType, TensorDataType, type NodeProto, type ValueInfoProto } from "./onnx-proto.js";

export const PRECISIONS = ["float32", "float16", "float16-fp32-io"] as const;
export type Precision = (typeof PRECISIONS)[number];

/** The largest finite IEEE half. */
const HALF_MAX = 65504;
/** (op, input index) pairs ONNX types as float32 whatever the data's type. */
const FLOAT32_INPUTS: Readonly<Record<string, readonly number[]>> = { Resize: [1, 2] };

function toHalf(spec: InitializerSpec): InitializerSpec {
  return {
    name: spec.name,
    elementType: "float16",
    dims: spec.dims,
    byteLength: spec.byteLength / 2,
    data: () => {
      const x = spec.data() as Float32Array;
      const clipped = x.map((v) => (v > HALF_MAX ? HALF_MAX : v < -HALF_MAX ? -HALF_MAX : v));
      return float32ToFloat16Bits(clipped);
    },
  };
}

function withElemType(v: ValueInfoProto, elemType: number): ValueInfoProto {
  return { ...v, type: { ...v.type, tensor_type: { ...v.type!.tensor_type!, elem_type: elemType } } };
}

const isFloat32 = (v: ValueInfoProto) => v.type?.tensor_type?.elem_type === TensorDataType.FLOAT;

function castNode(name: string, input: string, output: string, to: number): NodeProto {
  return { op_type: "Cast", name, input: [input], output: [output], attribute: [{ name: "to", type: AttributeType.INT, i: to }] };
}

/** The graph's contents in `precision` (float32: unchanged). */
export function convertPrecision(graph: GraphContents, precision: Precision): GraphContents {
  if (precision === "float32") return graph;
  const floatInits = new Set(graph.initializers.filter((s) => s.elementType === "float32").map((s) => s.name));
  // Initializers some op needs in float32; one also used elsewhere gets a float32 copy for those uses.
  const keep = new Map<string, string>();
  const usedAsHalf = new Set<string>();
  for (const node of graph.nodes) {
    const fixed = FLOAT32_INPUTS[node.op_type] ?? [];
    node.input.forEach((name, i) => {
      if (!floatInits.has(name)) return;
      if (fixed.includes(i)) keep.set(name, name);
      else usedAsHalf.add(name);
    });
  }
  const copies: InitializerSpec[] = [];
  for (const name of keep.keys()) {
    if (!usedAsHalf.has(name)) continue;
    const spec = graph.initializers.find((s) => s.name === name)!;
    keep.set(name, `${name}/float32`);
    copies.push({ ...spec, name: `${name}/float32` });
  }
  const initializers = [
    ...graph.initializers.map((s) => (s.elementType === "float32" && !(keep.has(s.name) && keep.get(s.name) === s.name) ? toHalf(s) : s)),
    ...copies,
  ];

  const keepIo = precision === "float16-fp32-io";
  const rename = new Map<string, string>();
  const head: NodeProto[] = [];
  const tail: NodeProto[] = [];
  const inputs = graph.inputs.map((v) => {
    if (!isFloat32(v)) return v;
    if (!keepIo) return withElemType(v, TensorDataType.FLOAT16);
    rename.set(v.name, `${v.name}/float16`);
    head.push(castNode(`/${v.name}/cast_to_float16`, v.name, `${v.name}/float16`, TensorDataType.FLOAT16));
    return v;
  });
  const outputs = graph.outputs.map((v) => {
    if (!isFloat32(v)) return v;
    if (!keepIo) return withElemType(v, TensorDataType.FLOAT16);
    rename.set(v.name, `${v.name}/float16`);
    tail.push(castNode(`/${v.name}/cast_to_float32`, `${v.name}/float16`, v.name, TensorDataType.FLOAT));
    return v;
  });
  const nodes = graph.nodes.map((node): NodeProto => {
    const fixed = FLOAT32_INPUTS[node.op_type] ?? [];
    return {
      ...node,
      input: node.input.map((name, i) => (fixed.includes(i) && keep.has(name) ? keep.get(name)! : (rename.get(name) ?? name))),
      output: node.output.map((name) => rename.get(name) ?? name),
      attribute: node.attribute?.map((a) =>
        node.op_type === "Cast" && a.name === "to" && a.i === TensorDataType.FLOAT ? { ...a, i: TensorDataType.FLOAT16 } : a,
      ),
    };
  });
  return { ...graph, nodes: [...head, ...nodes, ...tail], inputs, outputs, initializers };
}

/** `graph` written in `precision`: a view whose `contents()` (what `save` writes) are converted. */
export function withPrecision(graph: GraphBuilder, precision: Precision): GraphBuilder {
  if (!(PRECISIONS as readonly string[]).includes(precision)) {
    throw new InvalidInputError("precision", `unknown value ${JSON.stringify(precision)}`, PRECISIONS.join(", "));
  }
  if (precision === "float32") return graph;
  const view = Object.create(graph) as GraphBuilder;
  view.contents = () => convertPrecision(graph.contents(), precision);
  return view;
}

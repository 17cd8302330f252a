/**
 * The subset of ONNX's protobuf messages the graph builder writes, declared with protobufjs'
 * reflection API from the field numbers of onnx.proto (ONNX 1.12, `package onnx`, proto2).
 *
 * Hand-written on purpose: the npm package `onnx-proto` (8.0.1) is generated for protobufjs 6 and
 * depends on `protobufjs ^6.11.2`, while this project uses protobufjs 8; no maintained package ships
 * typed ONNX messages for protobufjs 8. Only messages the builder emits are declared (no sparse
 * tensors, functions, training info); field names are onnx.proto's, so they can be grepped there.
 */
import protobuf from "protobufjs";

/** TensorProto.DataType values used by the builder. */
export const TensorDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
} as const;
export type TensorDataTypeCode = (typeof TensorDataType)[keyof typeof TensorDataType];

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** TensorProto.DataLocation. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface TensorProto {
  dims?: number[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  name?: string;
  doc_string?: string;
  raw_data?: Uint8Array;
  external_data?: StringStringEntryProto[];
  data_location?: number;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  doc_string?: string;
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
}

export interface TensorShapeDimension {
  dim_value?: number;
  dim_param?: string;
}

export interface TypeProto {
  tensor_type?: { elem_type: number; shape?: { dim: TensorShapeDimension[] } };
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  doc_string?: string;
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  doc_string?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}

export interface OperatorSetIdProto {
  domain?: string;
  version: number;
}

export interface ModelProto {
  ir_version?: number;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: StringStringEntryProto[];
}

/** Field numbers used when the writer emits a field by hand (length-delimited records it streams). */
export const FieldNumber = {
  ModelProto: { graph: 7 },
  GraphProto: { initializer: 5 },
  TensorProto: { raw_data: 9 },
} as const;

const packed = { options: { packed: true } };

const descriptor: protobuf.INamespace = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: {
          fields: { key: { type: "string", id: 1 }, value: { type: "string", id: 2 } },
        },
        TensorProto: {
          fields: {
            dims: { rule: "repeated", type: "int64", id: 1 },
            data_type: { type: "int32", id: 2 },
            float_data: { rule: "repeated", type: "float", id: 4, ...packed },
            int32_data: { rule: "repeated", type: "int32", id: 5, ...packed },
            int64_data: { rule: "repeated", type: "int64", id: 7, ...packed },
            name: { type: "string", id: 8 },
            raw_data: { type: "bytes", id: 9 },
            doc_string: { type: "string", id: 12 },
            external_data: { rule: "repeated", type: "StringStringEntryProto", id: 13 },
            data_location: { type: "int32", id: 14 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: "string", id: 1 },
            f: { type: "float", id: 2 },
            i: { type: "int64", id: 3 },
            s: { type: "bytes", id: 4 },
            t: { type: "TensorProto", id: 5 },
            floats: { rule: "repeated", type: "float", id: 7 },
            ints: { rule: "repeated", type: "int64", id: 8 },
            strings: { rule: "repeated", type: "bytes", id: 9 },
            doc_string: { type: "string", id: 13 },
            type: { type: "int32", id: 20 },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: "string", id: 1 },
            type: { type: "TypeProto", id: 2 },
            doc_string: { type: "string", id: 3 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: "repeated", type: "string", id: 1 },
            output: { rule: "repeated", type: "string", id: 2 },
            name: { type: "string", id: 3 },
            op_type: { type: "string", id: 4 },
            attribute: { rule: "repeated", type: "AttributeProto", id: 5 },
            doc_string: { type: "string", id: 6 },
            domain: { type: "string", id: 7 },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: "repeated", type: "Dimension", id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dim_value", "dim_param"] } },
              fields: {
                dim_value: { type: "int64", id: 1 },
                dim_param: { type: "string", id: 2 },
                denotation: { type: "string", id: 3 },
              },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ["tensor_type"] } },
          fields: {
            tensor_type: { type: "Tensor", id: 1 },
            denotation: { type: "string", id: 6 },
          },
          nested: {
            Tensor: {
              fields: {
                elem_type: { type: "int32", id: 1 },
                shape: { type: "TensorShapeProto", id: 2 },
              },
            },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: "repeated", type: "NodeProto", id: 1 },
            name: { type: "string", id: 2 },
            initializer: { rule: "repeated", type: "TensorProto", id: 5 },
            doc_string: { type: "string", id: 10 },
            input: { rule: "repeated", type: "ValueInfoProto", id: 11 },
            output: { rule: "repeated", type: "ValueInfoProto", id: 12 },
            value_info: { rule: "repeated", type: "ValueInfoProto", id: 13 },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } },
        },
        ModelProto: {
          fields: {
            ir_version: { type: "int64", id: 1 },
            producer_name: { type: "string", id: 2 },
            producer_version: { type: "string", id: 3 },
            domain: { type: "string", id: 4 },
            model_version: { type: "int64", id: 5 },
            doc_string: { type: "string", id: 6 },
            graph: { type: "GraphProto", id: 7 },
            opset_import: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
            metadata_props: { rule: "repeated", type: "StringStringEntryProto", id: 14 },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);

/** The reflected message types, for encoding (`encode(obj).finish()`) and decoding in tests. */
export const OnnxProto = {
  ModelProto: root.lookupType("onnx.ModelProto"),
  GraphProto: root.lookupType("onnx.GraphProto"),
  NodeProto: root.lookupType("onnx.NodeProto"),
  TensorProto: root.lookupType("onnx.TensorProto"),
  ValueInfoProto: root.lookupType("onnx.ValueInfoProto"),
  AttributeProto: root.lookupType("onnx.AttributeProto"),
};

/** Encodes one message of the given type into bytes. */
export function encodeMessage(type: protobuf.Type, message: object): Uint8Array {
  return type.encode(type.fromObject(message)).finish();
}

/** Bytes of a length-delimited field header: the tag (wire type 2) and the payload length. */
export function lengthDelimitedHeader(fieldNumber: number, length: number): Uint8Array {
  return protobuf.Writer.create()
    .uint32((fieldNumber << 3) | 2)
    .uint32(length)
    .finish();
}

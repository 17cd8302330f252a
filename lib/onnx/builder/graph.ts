/**
 * A small typed ONNX graph builder: graph inputs and outputs with symbolic or static dims,
 * initializers (eager or generated at save time), nodes with typed attributes, one helper per op
 * the model family uses, unique names, and `save()` with ONNX external data.
 *
 * Values are opaque handles (`Value`); shapes are not tracked (ONNX Runtime infers them). Node
 * names carry the current scope (`g.scope("down_blocks.0", ...)`) so that profiles and error
 * messages point at the module, as torch's exporter does.
 */
import { InvalidInputError } from "../../errors.js";
import { AttributeType, TensorDataType, type AttributeProto, type NodeProto, type ValueInfoProto } from "./onnx-proto.js";
import { fillWeights, type WeightInit } from "./random-weights.js";
import { writeModel, type ExternalDataOption } from "./model-writer.js";

/** Element types the builder declares for inputs, outputs and initializers. */
export type ElementType = "float32" | "float16" | "int64" | "int32" | "bool";

const ELEMENT_TYPE_CODE: Record<ElementType, number> = {
  float32: TensorDataType.FLOAT,
  float16: TensorDataType.FLOAT16,
  int64: TensorDataType.INT64,
  int32: TensorDataType.INT32,
  bool: TensorDataType.BOOL,
};

const BYTES_PER_ELEMENT: Record<ElementType, number> = { float32: 4, float16: 2, int64: 8, int32: 4, bool: 1 };

/** A dimension: a static size or a symbolic name such as "batch_size". */
export type Dim = number | string;

/** A tensor in the graph (a graph input, an initializer or a node output). */
export interface Value {
  readonly name: string;
}

/** Raw initializer contents in the element type's native layout (float16: IEEE half bits in a Uint16Array). */
export type TensorData = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

/** A typed node attribute; build with `attr.int(1)`, `attr.floats([...])`, ... */
export type Attribute =
  | { readonly type: "int"; readonly value: number }
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "ints"; readonly value: readonly number[] }
  | { readonly type: "floats"; readonly value: readonly number[] }
  | { readonly type: "string"; readonly value: string };

export const attr = {
  int: (value: number): Attribute => ({ type: "int", value }),
  float: (value: number): Attribute => ({ type: "float", value }),
  ints: (value: readonly number[]): Attribute => ({ type: "ints", value }),
  floats: (value: readonly number[]): Attribute => ({ type: "floats", value }),
  string: (value: string): Attribute => ({ type: "string", value }),
};

/** An initializer as the writer sees it: metadata plus a way to produce its bytes on demand. */
export interface InitializerSpec {
  readonly name: string;
  readonly elementType: ElementType;
  readonly dims: readonly number[];
  readonly byteLength: number;
  /** Produces the contents; called once, at save time, so big weights never sit in memory together. */
  readonly data: () => TensorData;
}

/** The graph without its initializers' bytes: what `writeModel` serializes. */
export interface GraphContents {
  readonly name: string;
  readonly opsetImports: ReadonlyArray<{ domain: string; version: number }>;
  readonly producer: string;
  readonly nodes: readonly NodeProto[];
  readonly inputs: readonly ValueInfoProto[];
  readonly outputs: readonly ValueInfoProto[];
  readonly initializers: readonly InitializerSpec[];
  readonly docString?: string;
}

export interface GraphBuilderOptions {
  /** Graph name written into the model. */
  name: string;
  /** Seed of the random weights made by `weight()`. */
  seed: number;
  /** Default-domain opset; 17 is the first with LayerNormalization. */
  opset?: number;
  producer?: string;
  docString?: string;
}

export interface SaveOptions {
  /**
   * Where initializer bytes go: `true` into `model.onnx_data` beside the model (ONNX external
   * data), `false` inside model.onnx, `"auto"` (default) external once they pass
   * `externalThresholdBytes` (protobuf cannot hold a message over 2 GB).
   */
  externalData?: ExternalDataOption;
  /** Byte total above which `"auto"` goes external. Default 1.9e9. */
  externalThresholdBytes?: number;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function toAttributeProto(name: string, a: Attribute): AttributeProto {
  switch (a.type) {
    case "int":
      return { name, type: AttributeType.INT, i: a.value };
    case "float":
      return { name, type: AttributeType.FLOAT, f: a.value };
    case "ints":
      return { name, type: AttributeType.INTS, ints: [...a.value] };
    case "floats":
      return { name, type: AttributeType.FLOATS, floats: [...a.value] };
    case "string":
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function valueInfo(name: string, elementType: ElementType, dims: readonly Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ELEMENT_TYPE_CODE[elementType],
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers = new Map<string, InitializerSpec>();
  private readonly usedNames = new Set<string>();
  private readonly constants = new Map<string, Value>();
  private readonly domains = new Map<string, number>();
  private readonly scopes: string[] = [];
  private counter = 0;
  readonly seed: number;

  constructor(private readonly options: GraphBuilderOptions) {
    this.seed = options.seed;
    this.domains.set("", options.opset ?? 17);
  }

  // ---- names -------------------------------------------------------------------------------

  /** Runs `build` with node names prefixed by `name` (nested scopes join with "/"). */
  scope<T>(name: string, build: () => T): T {
    this.scopes.push(name);
    try {
      return build();
    } finally {
      this.scopes.pop();
    }
  }

  private claim(name: string): string {
    if (this.usedNames.has(name)) throw new InvalidInputError("name", `"${name}" is already used in this graph`);
    this.usedNames.add(name);
    return name;
  }

  /** An unused name `/<scope>/<base>_<n>` (not yet claimed). */
  private unusedName(base: string): string {
    const prefix = this.scopes.length > 0 ? `/${this.scopes.join("/")}/` : "/";
    let name: string;
    do name = `${prefix}${base}_${this.counter++}`;
    while (this.usedNames.has(name));
    return name;
  }

  private freshName(base: string): string {
    return this.claim(this.unusedName(base));
  }

  // ---- graph inputs, outputs, initializers -------------------------------------------------------

  input(name: string, elementType: ElementType, dims: readonly Dim[]): Value {
    this.inputs.push(valueInfo(this.claim(name), elementType, dims));
    return { name };
  }

  /** Declares `value` as graph output `name` (through an Identity when the value has another name). */
  output(value: Value, name: string, elementType: ElementType, dims: readonly Dim[]): void {
    if (value.name !== name) {
      this.nodes.push({ op_type: "Identity", input: [value.name], output: [this.claim(name)], name: this.freshName("Identity") });
    }
    this.outputs.push(valueInfo(name, elementType, dims));
  }

  /** An initializer with given contents, or a function producing them at save time. */
  initializer(name: string, elementType: ElementType, dims: readonly number[], data: TensorData | (() => TensorData)): Value {
    const count = product(dims);
    if (typeof data !== "function" && data.length !== count) {
      throw new InvalidInputError("data", `initializer "${name}" has ${data.length} values for dims [${dims.join(", ")}]`, `${count} values`);
    }
    const spec: InitializerSpec = {
      name: this.claim(name),
      elementType,
      dims: [...dims],
      byteLength: count * BYTES_PER_ELEMENT[elementType],
      data: typeof data === "function" ? data : () => data,
    };
    this.initializers.set(name, spec);
    return { name };
  }

  /** A float32 weight filled from the graph's seed and its own name (generated at save time). */
  weight(name: string, dims: readonly number[], init: WeightInit): Value {
    const seed = this.seed;
    return this.initializer(name, "float32", dims, () => fillWeights(new Float32Array(product(dims)), init, seed, name));
  }

  /** A small constant tensor (deduplicated by contents). Rank 0 when `dims` is []. */
  constant(elementType: "int64" | "int32" | "float32", values: readonly number[], dims: readonly number[] = [values.length]): Value {
    const key = `${elementType}:${dims.join("x")}:${values.join(",")}`;
    const known = this.constants.get(key);
    if (known) return known;
    const data =
      elementType === "int64"
        ? BigInt64Array.from(values, (v) => BigInt(v))
        : elementType === "int32"
          ? Int32Array.from(values)
          : Float32Array.from(values);
    const value = this.initializer(this.unusedName(`const_${elementType}`), elementType, dims, data);
    this.constants.set(key, value);
    return value;
  }

  ints(values: readonly number[]): Value {
    return this.constant("int64", values);
  }

  scalar(value: number): Value {
    return this.constant("float32", [value], []);
  }

  // ---- nodes ---------------------------------------------------------------------------------

  /** Adds a node; `""` (or null) marks an omitted optional input. Returns its outputs. */
  node(
    opType: string,
    inputs: ReadonlyArray<Value | null>,
    attributes: Record<string, Attribute> = {},
    options: { outputs?: number; domain?: string } = {},
  ): Value[] {
    const domain = options.domain ?? "";
    if (domain !== "" && !this.domains.has(domain)) this.domains.set(domain, 1);
    const name = this.freshName(opType);
    const outputs = Array.from({ length: options.outputs ?? 1 }, (_, i) => this.claim(`${name}_output_${i}`));
    this.nodes.push({
      op_type: opType,
      domain: domain === "" ? undefined : domain,
      name,
      input: inputs.map((v) => (v === null ? "" : v.name)),
      output: outputs,
      attribute: Object.entries(attributes).map(([k, a]) => toAttributeProto(k, a)),
    });
    return outputs.map((o) => ({ name: o }));
  }

  /** Adds a node with one output. */
  op(opType: string, inputs: ReadonlyArray<Value | null>, attributes: Record<string, Attribute> = {}, domain?: string): Value {
    return this.node(opType, inputs, attributes, { domain })[0];
  }

  // ---- one helper per op --------------------------------------------------------------------

  add = (a: Value, b: Value): Value => this.op("Add", [a, b]);
  sub = (a: Value, b: Value): Value => this.op("Sub", [a, b]);
  mul = (a: Value, b: Value): Value => this.op("Mul", [a, b]);
  div = (a: Value, b: Value): Value => this.op("Div", [a, b]);
  matmul = (a: Value, b: Value): Value => this.op("MatMul", [a, b]);
  sigmoid = (x: Value): Value => this.op("Sigmoid", [x]);
  erf = (x: Value): Value => this.op("Erf", [x]);
  exp = (x: Value): Value => this.op("Exp", [x]);
  cos = (x: Value): Value => this.op("Cos", [x]);
  sin = (x: Value): Value => this.op("Sin", [x]);
  identity = (x: Value): Value => this.op("Identity", [x]);

  gemm(a: Value, b: Value, c: Value | null, options: { transA?: boolean; transB?: boolean } = {}): Value {
    return this.op("Gemm", [a, b, c], { transA: attr.int(options.transA ? 1 : 0), transB: attr.int(options.transB ? 1 : 0) });
  }

  conv(
    x: Value,
    w: Value,
    b: Value | null,
    options: { kernel: number; stride?: number; pads?: readonly [number, number, number, number]; group?: number },
  ): Value {
    const p = Math.floor(options.kernel / 2);
    return this.op("Conv", b === null ? [x, w] : [x, w, b], {
      kernel_shape: attr.ints([options.kernel, options.kernel]),
      strides: attr.ints([options.stride ?? 1, options.stride ?? 1]),
      pads: attr.ints(options.pads ?? [p, p, p, p]),
      dilations: attr.ints([1, 1]),
      group: attr.int(options.group ?? 1),
    });
  }

  /** Reshape; in a static shape 0 copies the input's dim and -1 is inferred (allowzero = 0). */
  reshape(x: Value, shape: readonly number[] | Value): Value {
    return this.op("Reshape", [x, Array.isArray(shape) ? this.ints(shape) : (shape as Value)]);
  }

  transpose(x: Value, perm: readonly number[]): Value {
    return this.op("Transpose", [x], { perm: attr.ints(perm) });
  }

  softmax(x: Value, axis = -1): Value {
    return this.op("Softmax", [x], { axis: attr.int(axis) });
  }

  layerNormalization(x: Value, scale: Value, bias: Value, epsilon: number, axis = -1): Value {
    return this.op("LayerNormalization", [x, scale, bias], { axis: attr.int(axis), epsilon: attr.float(epsilon) });
  }

  instanceNormalization(x: Value, scale: Value, bias: Value, epsilon: number): Value {
    return this.op("InstanceNormalization", [x, scale, bias], { epsilon: attr.float(epsilon) });
  }

  /** Nearest-neighbour resize by integer factors, matching torch's `F.interpolate(mode="nearest")`. */
  resizeNearest(x: Value, scales: readonly number[]): Value {
    return this.op("Resize", [x, null, this.constant("float32", scales)], {
      mode: attr.string("nearest"),
      coordinate_transformation_mode: attr.string("asymmetric"),
      nearest_mode: attr.string("floor"),
    });
  }

  concat(values: readonly Value[], axis: number): Value {
    return this.op("Concat", values, { axis: attr.int(axis) });
  }

  slice(x: Value, starts: readonly number[] | Value, ends: readonly number[] | Value, axes: readonly number[]): Value {
    const asValue = (v: readonly number[] | Value) => (Array.isArray(v) ? this.ints(v) : (v as Value));
    return this.op("Slice", [x, asValue(starts), asValue(ends), this.ints(axes)]);
  }

  /** Splits `x` into `parts` equal pieces along `axis`. */
  split(x: Value, axis: number, parts: number): Value[] {
    return this.node("Split", [x], { axis: attr.int(axis) }, { outputs: parts });
  }

  gather(x: Value, indices: Value, axis = 0): Value {
    return this.op("Gather", [x, indices], { axis: attr.int(axis) });
  }

  gatherND(x: Value, indices: Value, batchDims = 0): Value {
    return this.op("GatherND", [x, indices], { batch_dims: attr.int(batchDims) });
  }

  argMax(x: Value, axis: number, keepdims: boolean): Value {
    return this.op("ArgMax", [x], { axis: attr.int(axis), keepdims: attr.int(keepdims ? 1 : 0) });
  }

  cast(x: Value, to: ElementType): Value {
    return this.op("Cast", [x], { to: attr.int(ELEMENT_TYPE_CODE[to]) });
  }

  /** `Shape(x)[start:end]` (opset 15 attributes). */
  shape(x: Value, start?: number, end?: number): Value {
    const attributes: Record<string, Attribute> = {};
    if (start !== undefined) attributes.start = attr.int(start);
    if (end !== undefined) attributes.end = attr.int(end);
    return this.op("Shape", [x], attributes);
  }

  expand(x: Value, shape: Value): Value {
    return this.op("Expand", [x, shape]);
  }

  unsqueeze(x: Value, axes: readonly number[]): Value {
    return this.op("Unsqueeze", [x, this.ints(axes)]);
  }

  clip(x: Value, min: number, max: number): Value {
    return this.op("Clip", [x, this.scalar(min), this.scalar(max)]);
  }

  randomNormalLike(x: Value): Value {
    return this.op("RandomNormalLike", [x]);
  }

  // ---- activations (composites the runtime fuses) --------------------------------------------------

  /** SiLU / swish: x * sigmoid(x). */
  silu(x: Value): Value {
    return this.mul(x, this.sigmoid(x));
  }

  /** CLIP's quick_gelu: x * sigmoid(1.702 x). */
  quickGelu(x: Value): Value {
    return this.mul(x, this.sigmoid(this.mul(x, this.scalar(1.702))));
  }

  /** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)), the pattern ONNX Runtime fuses into one Gelu kernel. */
  gelu(x: Value): Value {
    const inner = this.erf(this.div(x, this.scalar(Math.SQRT2)));
    return this.mul(this.mul(x, this.add(inner, this.scalar(1))), this.scalar(0.5));
  }

  // ---- output -------------------------------------------------------------------------------

  /** Everything the writer needs; initializer bytes stay lazy. */
  contents(): GraphContents {
    return {
      name: this.options.name,
      producer: this.options.producer ?? "diffusion-workbench builder",
      opsetImports: [...this.domains].map(([domain, version]) => ({ domain, version })),
      nodes: this.nodes,
      inputs: this.inputs,
      outputs: this.outputs,
      initializers: [...this.initializers.values()],
      docString: this.options.docString,
    };
  }

  /** Total bytes of all initializers. */
  initializerBytes(): number {
    let total = 0;
    for (const spec of this.initializers.values()) total += spec.byteLength;
    return total;
  }

  /** Writes `path` (and `model.onnx_data` beside it when external); see `SaveOptions`. */
  save(path: string, options: SaveOptions = {}): Promise<{ external: boolean; bytes: number }> {
    return writeModel(this.contents(), path, options);
  }
}

/**
 * The library's own tensor value: a typed array, its ONNX element type and its dims. Everything
 * outside `lib/onnx/` works with these; only `session.ts` converts to and from onnxruntime's Tensor.
 */
export interface DataTypeMap {
  float32: Float32Array;
  /**
   * float16 travels as its IEEE half bits in a Uint16Array (what onnxruntime-node accepts on every
   * Node version); `float16.ts` converts to and from float32.
   */
  float16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
}
export type DataType = keyof DataTypeMap;

export interface Tensor<T extends DataType = DataType> {
  readonly type: T;
  readonly data: DataTypeMap[T];
  readonly dims: readonly number[];
}

export function tensor<T extends DataType>(type: T, data: DataTypeMap[T], dims: readonly number[]): Tensor<T> {
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) {
    throw new RangeError(`tensor data has ${data.length} elements, dims [${dims.join(",")}] need ${n}`);
  }
  return { type, data, dims: [...dims] };
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

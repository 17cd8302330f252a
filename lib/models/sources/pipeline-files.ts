/**
 * Which files of a remote model an ONNX pipeline needs: graphs and their external data, configs,
 * tokenizer files. PyTorch/Flax/TF weights (safetensors, bin, ckpt, msgpack, h5) that repositories
 * often carry beside an ONNX export are skipped: they are most of the bytes and none of the use.
 */
const KEEP = [
  /\.onnx$/,
  /\.onnx_data$/,
  /\.onnx\.data$/,
  /(^|\/)weights\.pb$/,
  /\.json$/,
  /(^|\/)merges\.txt$/,
  /(^|\/)vocab\.txt$/,
  /\.model$/, // SentencePiece (spiece.model) for T5
];

export function isPipelineFile(path: string): boolean {
  return KEEP.some((re) => re.test(path));
}

/**
 * The pinned Python stack of the training/export image. finetuning/containers/Containerfile.train
 * uses the same values (a test keeps them equal). diffusers' example scripts check
 * `check_min_version` against the installed release, so scripts and library come from one tag.
 */
export const TRAIN_STACK = {
  /** PyTorch CUDA base image (Python 3.11, CUDA 12.4, cuDNN 9). */
  baseImage: "docker.io/pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
  diffusers: "0.32.2",
  /** SD3 LoRA needs peft >= 0.11 (examples/dreambooth/requirements_sd3.txt); 0.14 also serves the SD 1.x/SDXL scripts. */
  peft: "0.14.0",
  accelerate: "1.2.1",
  /** optimum 1.24 is the first release whose ONNX exporter knows SD3 (SD3TransformerOnnxConfig); it needs transformers < 4.49. */
  optimum: "1.24.0",
  transformers: "4.48.3",
  onnx: "1.17.0",
  onnxruntime: "1.20.1",
} as const;

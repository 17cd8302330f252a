"""The export-onnx step: from a Dreambooth training run to the two folders the project publishes.

1. Load the base model and merge the LoRA weights into it (`--lora DIR`), or load the fully
   fine-tuned pipeline (`--full DIR`); save it as diffusers weights (`--diffusers-out`).
2. Render `--num-samples` images of the instance prompt (pipeline artifact `samples`).
3. Export the saved pipeline to ONNX with optimum's exporter (`optimum-cli export onnx
   --task text-to-image`), the folder layout this project loads (`--onnx-out`).

Only calls diffusers' and optimum's public APIs; no training code here.
"""
import argparse
import gc
import pathlib
import subprocess
import sys

import torch
from diffusers import DiffusionPipeline

DTYPES = {"no": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-model", required=True, help="Hub id or folder of the base model")
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--lora", help="training output folder with pytorch_lora_weights.safetensors")
    source.add_argument("--full", help="training output folder with a full diffusers pipeline")
    ap.add_argument("--diffusers-out", required=True)
    ap.add_argument("--onnx-out", required=True)
    ap.add_argument("--samples-out", required=True)
    ap.add_argument("--num-samples", type=int, default=4)
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="fp16", help="precision for merging and sampling")
    ap.add_argument("--steps", type=int, default=28, help="inference steps of the sample images")
    return ap.parse_args(argv)


def main(argv):
    a = parse_args(argv)
    dtype = DTYPES[a.dtype]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if a.lora:
        pipe = DiffusionPipeline.from_pretrained(a.base_model, torch_dtype=dtype)
        pipe.load_lora_weights(a.lora)
        # Fold the low-rank updates into the base weights, then drop the adapter modules, so the
        # saved model is a plain pipeline that any exporter reads.
        pipe.fuse_lora()
        pipe.unload_lora_weights()
    else:
        pipe = DiffusionPipeline.from_pretrained(a.full, torch_dtype=dtype)
    pipe.save_pretrained(a.diffusers_out)
    print(f"saved diffusers weights to {a.diffusers_out}", flush=True)

    samples = pathlib.Path(a.samples_out)
    samples.mkdir(parents=True, exist_ok=True)
    pipe.to(device)
    for i in range(a.num_samples):
        generator = torch.Generator(device=device).manual_seed(a.seed + i)
        image = pipe(a.prompt, num_inference_steps=a.steps, generator=generator).images[0]
        image.save(samples / f"sample-{i:02d}.png")
        print(f"sample {i + 1}/{a.num_samples}", flush=True)
    del pipe
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()

    # fp32 ONNX: loads on every execution provider the project's runtime uses, CPU included.
    cmd = ["optimum-cli", "export", "onnx", "--model", a.diffusers_out, "--task", "text-to-image", a.onnx_out]
    print(" ".join(cmd), flush=True)
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

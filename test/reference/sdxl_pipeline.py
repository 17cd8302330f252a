"""End-to-end reference for lib/diffusion/stable-diffusion-xl.ts: diffusers' StableDiffusionXLPipeline
run on the builder's tiny SDXL model.

Loads every component of a builder-made tiny SDXL folder (weights by state_dict name, configs and
tokenizers from the folder) into diffusers / transformers, runs StableDiffusionXLPipeline for the
cases below with a fixed seed (CPU torch.Generator), and writes test/fixtures/sdxl-pipeline/:
per case the final latents (output_type="latent") and the image (output_type="np") as raw
little-endian .f32 files, and in manifest.json the requests and the UNet's add_time_ids as diffusers
passed them (read with callback_on_step_end). test/diffusion/stable-diffusion-xl-diffusers.test.ts
runs the same requests and compares.

Regenerate (from the repo root):
    SDXL_PIPELINE_OUT=/tmp/sdxl-pipeline \
        PATH=$PWD/node_modules/.bin:$PATH npx vitest run test/diffusion/stable-diffusion-xl-diffusers.test.ts
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/sdxl_pipeline.py /tmp/sdxl-pipeline
"""
import json
import os
import sys

from sdxl_builder_crosscheck import load_weights, read_json, refenv, text_config, torch  # sets up the reference sources
from builder_crosscheck import initializers

import numpy as np  # noqa: E402
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel  # noqa: E402
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "sdxl-pipeline")

# The requests, in the project's wire names (the TS test sends them as they are).
CASES = {
    "zero-negative": {
        "prompt": "a photo of an astronaut riding a horse on the moon",
        "num_inference_steps": 3,
        "guidance_scale": 5.0,
        "seed": 0,
    },
    "prompt-2-negatives-micro-conditioning": {
        "prompt": "a photo of an astronaut riding a horse on the moon",
        "prompt_2": "a watercolor painting of a sailboat at sunrise",
        "negative_prompt": "lowres, blurry",
        "negative_prompt_2": "dark, noisy",
        "num_inference_steps": 3,
        "guidance_scale": 6.0,
        "seed": 1,
        "width": 96,
        "height": 64,
        "original_size": [512, 768],
        "crops_coords_top_left": [16, 8],
        "target_size": [480, 800],
    },
    "unguided-batch": {
        "prompt": ["a red dog", "a blue bird in a tree"],
        "num_inference_steps": 2,
        "guidance_scale": 1.0,
        "num_images_per_prompt": 2,
        "seed": 2,
        "width": 64,
        "height": 64,
    },
}


def load_vae(folder):
    vae = AutoencoderKL.from_config(read_json(os.path.join(folder, "vae_decoder", "config.json")))
    arrays = {}
    for part in ("vae_decoder", "vae_encoder"):
        arrays.update(initializers(os.path.join(folder, part, "model.onnx")))
    linear = {f"{name}.weight" for name, m in vae.named_modules() if isinstance(m, torch.nn.Linear)}
    state = {k: torch.from_numpy(np.ascontiguousarray(arrays[k].T if k in linear else arrays[k])) for k in vae.state_dict()}
    vae.load_state_dict(state, strict=True)
    return vae.eval()


def load_pipeline(folder):
    index = read_json(os.path.join(folder, "model_index.json"))
    unet_config = read_json(os.path.join(folder, "unet", "config.json"))
    return StableDiffusionXLPipeline(
        vae=load_vae(folder),
        text_encoder=load_weights(CLIPTextModel(text_config(folder, "text_encoder")), os.path.join(folder, "text_encoder", "model.onnx")),
        text_encoder_2=load_weights(CLIPTextModelWithProjection(text_config(folder, "text_encoder_2")), os.path.join(folder, "text_encoder_2", "model.onnx")),
        tokenizer=CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer")),
        tokenizer_2=CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer_2")),
        unet=load_weights(UNet2DConditionModel.from_config(unet_config), os.path.join(folder, "unet", "model.onnx")),
        scheduler=EulerDiscreteScheduler.from_pretrained(os.path.join(folder, "scheduler")),
        force_zeros_for_empty_prompt=index["force_zeros_for_empty_prompt"],
        add_watermarker=False,
    )


def run(pipe, request, output_type):
    kwargs = {k: v for k, v in request.items() if k != "seed"}
    for key in ("original_size", "crops_coords_top_left", "target_size"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    seen = {}

    def capture(_pipe, _i, _t, tensors):
        seen.setdefault("add_time_ids", tensors["add_time_ids"].tolist())
        return {}

    with torch.no_grad():
        out = pipe(
            **kwargs,
            generator=torch.Generator().manual_seed(request["seed"]),
            output_type=output_type,
            callback_on_step_end=capture,
            callback_on_step_end_tensor_inputs=["add_time_ids"],
        )
    return out.images, seen["add_time_ids"]


def main(folder):
    pipe = load_pipeline(folder)
    pipe.set_progress_bar_config(disable=True)
    os.makedirs(OUT, exist_ok=True)
    files = {}
    time_ids = {}

    def save(name, array):
        array = np.ascontiguousarray(array, dtype="<f4")
        array.tofile(os.path.join(OUT, f"{name}.f32"))
        files[name] = {"dtype": "float32", "shape": list(array.shape)}

    for name, request in CASES.items():
        latents, ids = run(pipe, request, "latent")
        images, _ = run(pipe, request, "np")
        save(f"{name}.latents", latents.numpy())
        save(f"{name}.images", images)
        time_ids[name] = ids
        print(name, "latents", tuple(latents.shape), "images", images.shape)

    manifest = {
        "about": "diffusers StableDiffusionXLPipeline on the builder's tiny SDXL model (test/reference/sdxl_pipeline.py)",
        "versions": {k: refenv.VERSIONS[k] for k in ("diffusers", "transformers")} | {"torch": torch.__version__},
        "cases": CASES,
        "add_time_ids": time_ids,
        "files": files,
    }
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: sdxl_pipeline.py <tiny SDXL folder built by stable-diffusion-xl-diffusers.test.ts>")
    main(sys.argv[1])

"""End-to-end reference for lib/diffusion/stable-diffusion-3.ts: diffusers v0.29.2's
StableDiffusion3Pipeline on the builder's tiny SD3 folders, weights loaded from the ONNX files.

For each case of test/diffusion/stable-diffusion-3.test.ts (folder <root>/<case>), runs the request
written below with a seeded CPU generator and writes test/fixtures/sd3-pipeline/<case>.json: the
request, T5 ids, the final latents (before the VAE) and the decoded image (output_type "np": HWC in
[0, 1]), as base64 float32. The pipeline gets the slow T5Tokenizer on a spiece.model written from the
folder's tokenizer.json (the Rust tokenizers package is absent; see t5_tokenizer.py), which gives the
same ids as the fast tokenizer for prompts without trailing spaces.

Regenerate (from the repo root):
    SD3_PIPELINE_OUT=/tmp/sd3-pipeline PATH=$PWD/node_modules/.bin:$PATH npx vitest run test/diffusion/stable-diffusion-3.test.ts
    REFSRC=/work/refsrc REF_DIFFUSERS=diffusers-v0.29.2 REF_HF_HUB=huggingface_hub-v0.29.3 \
        /usr/bin/python3 test/reference/sd3_pipeline.py /tmp/sd3-pipeline
"""
import base64
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sd3_common import diffusers_version, load_weights, refenv, torch  # noqa: E402
from t5_tokenizer import spiece_model  # noqa: E402

import numpy as np  # noqa: E402
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer, T5Config, T5EncoderModel, T5Tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "sd3-pipeline")

REQUESTS = {
    "sd3-tiny": {
        "prompt": "a photo of an astronaut riding a horse on the moon",
        "prompt_3": "a watercolor painting of a sailboat at sunrise",
        "negative_prompt": "blurry, lowres",
        "num_inference_steps": 3, "guidance_scale": 5.0, "width": 96, "height": 64, "seed": 42, "max_sequence_length": 32,
    },
    "sd3-tiny-no-t5": {
        "prompt": "portrait of a cat wearing a hat",
        "prompt_2": "red green blue",
        "num_inference_steps": 2, "guidance_scale": 4.0, "width": 64, "height": 64, "seed": 7,
    },
}


def b64(t):
    return base64.b64encode(np.ascontiguousarray(np.asarray(t, dtype="<f4")).tobytes()).decode("ascii")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def config_args(path):
    return {k: v for k, v in read_json(path).items() if not k.startswith("_")}


def load_pipeline(folder, tmp):
    def clip(part):
        cfg = CLIPTextConfig(**config_args(os.path.join(folder, part, "config.json")))
        return load_weights(CLIPTextModelWithProjection(cfg), os.path.join(folder, part, "model.onnx"))

    transformer = SD3Transformer2DModel.from_config(read_json(os.path.join(folder, "transformer", "config.json")))
    own = transformer.pos_embed.pos_embed.clone()
    load_weights(transformer, os.path.join(folder, "transformer", "model.onnx"))
    transformer.pos_embed.pos_embed.copy_(own)  # diffusers' own sin-cos table, not the builder's
    vae = AutoencoderKL.from_config(read_json(os.path.join(folder, "vae_decoder", "config.json")))
    load_weights(vae, os.path.join(folder, "vae_decoder", "model.onnx"), os.path.join(folder, "vae_encoder", "model.onnx"))
    t5, t5_tokenizer = None, None
    if os.path.isdir(os.path.join(folder, "text_encoder_3")):
        t5 = load_weights(T5EncoderModel(T5Config(**config_args(os.path.join(folder, "text_encoder_3", "config.json")))),
                          os.path.join(folder, "text_encoder_3", "model.onnx"))
        spm = os.path.join(tmp, "spiece.model")
        with open(spm, "wb") as f:
            f.write(spiece_model(read_json(os.path.join(folder, "tokenizer_3", "tokenizer.json"))))
        t5_tokenizer = T5Tokenizer(spm, extra_ids=0, legacy=True)
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler.from_config(read_json(os.path.join(folder, "scheduler", "scheduler_config.json"))),
        vae=vae,
        text_encoder=clip("text_encoder"),
        tokenizer=CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer")),
        text_encoder_2=clip("text_encoder_2"),
        tokenizer_2=CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer_2")),
        text_encoder_3=t5,
        tokenizer_3=t5_tokenizer,
    )


def main(root):
    if diffusers_version() != "diffusers-v0.29.2":
        raise SystemExit("run with REF_DIFFUSERS=diffusers-v0.29.2")
    os.makedirs(OUT, exist_ok=True)
    for case, request in REQUESTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            pipe = load_pipeline(os.path.join(root, case), tmp)
            steps = []

            def on_step(p, i, t, kwargs):
                steps.append({"t": float(t), "latents": kwargs["latents"].clone()})
                return kwargs

            args = {k: v for k, v in request.items() if k != "seed"}
            with torch.no_grad():
                image = pipe(**args, generator=torch.Generator().manual_seed(request["seed"]), output_type="np",
                             callback_on_step_end=on_step).images
            t5_ids = None
            if pipe.tokenizer_3 is not None:
                t5_ids = pipe.tokenizer_3([request.get("prompt_3", request["prompt"])], padding="max_length",
                                          max_length=request.get("max_sequence_length", 256), truncation=True).input_ids
        out = {
            "about": "diffusers StableDiffusion3Pipeline on the builder's tiny SD3 folder (test/reference/sd3_pipeline.py)",
            "versions": {"diffusers": refenv.VERSIONS["diffusers-v0.29.2"], "transformers": refenv.VERSIONS["transformers"], "torch": torch.__version__},
            "request": request,
            "timesteps": [s["t"] for s in steps],
            "t5_input_ids": t5_ids,
            "latents_shape": list(steps[-1]["latents"].shape),
            "final_latents": b64(steps[-1]["latents"].numpy()),
            "first_step_latents": b64(steps[0]["latents"].numpy()),
            "image_shape": list(image.shape),
            "image": b64(image),
        }
        with open(os.path.join(OUT, f"{case}.json"), "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
        print(case, "written", out["latents_shape"], out["image_shape"])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: sd3_pipeline.py <folder with the cases built by stable-diffusion-3.test.ts>")
    main(sys.argv[1])

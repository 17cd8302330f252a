"""Architecture cross-check of lib/onnx/builder/sdxl against transformers / diffusers.

Loads the initializers of a builder-made tiny SDXL folder (by state_dict name) into transformers'
CLIPTextModel and CLIPTextModelWithProjection and diffusers' UNet2DConditionModel (text_time), each
built from the config.json written beside the model, runs them in PyTorch on fixed inputs and writes
inputs and outputs to test/fixtures/sdxl-builder/ (raw little-endian .f32/.i64 files plus
manifest.json). test/onnx/builder/sdxl/crosscheck.test.ts runs the same inputs through
onnxruntime-node and compares.

Regenerate (from the repo root):
    SDXL_CROSSCHECK_OUT=/tmp/sdxl-crosscheck \
        PATH=$PWD/node_modules/.bin:$PATH npx vitest run test/onnx/builder/sdxl/crosscheck.test.ts
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/sdxl_builder_crosscheck.py /tmp/sdxl-crosscheck/optimum
"""
import json
import os
import sys

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

refenv.setup()
import transformers.utils.import_utils as transformers_imports  # noqa: E402

# With python3-sentencepiece installed, transformers' model registry imports T5's slow-tokenizer
# converter, which needs the Rust `tokenizers` package Debian lacks; these scripts need no T5.
transformers_imports._sentencepiece_available = False

from builder_crosscheck import load_weights, read_json, torch  # noqa: E402

import numpy as np  # noqa: E402
from diffusers import UNet2DConditionModel  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "sdxl-builder")


def text_config(folder, name):
    config = read_json(os.path.join(folder, name, "config.json"))
    return CLIPTextConfig(**{k: v for k, v in config.items() if not k.startswith("_") and k != "architectures"})


def main(folder):
    rng = np.random.default_rng(20240602)
    os.makedirs(OUT, exist_ok=True)
    files = {}

    def save(name, array, dtype="float32"):
        array = np.ascontiguousarray(array, dtype=dtype)
        array.astype("<" + array.dtype.str[1:]).tofile(os.path.join(OUT, f"{name}.{'f32' if dtype == 'float32' else 'i64'}"))
        files[name] = {"dtype": dtype, "shape": list(array.shape)}

    config = text_config(folder, "text_encoder")
    te = load_weights(CLIPTextModel(config), os.path.join(folder, "text_encoder", "model.onnx"))
    te2 = load_weights(CLIPTextModelWithProjection(text_config(folder, "text_encoder_2")), os.path.join(folder, "text_encoder_2", "model.onnx"))
    vocab = config.vocab_size
    # Two prompts: BOS (vocab - 2), a few ids, EOS (vocab - 1, the highest), then padding: tokenizer
    # pads with EOS, tokenizer_2 with "!" (id 0).
    ids = np.full((2, 77), vocab - 1, dtype=np.int64)
    ids[:, 0] = vocab - 2
    ids[0, 1:6] = rng.integers(1, vocab - 2, 5)
    ids[1, 1:12] = rng.integers(1, vocab - 2, 11)
    ids2 = ids.copy()
    ids2[0, 7:] = 0
    ids2[1, 13:] = 0
    with torch.no_grad():
        out = te(input_ids=torch.from_numpy(ids), output_hidden_states=True)
        out2 = te2(input_ids=torch.from_numpy(ids2), output_hidden_states=True)
    save("input_ids", ids, "int64")
    save("input_ids_2", ids2, "int64")
    save("te_last_hidden_state", out.last_hidden_state.numpy())
    save("te_pooler_output", out.pooler_output.numpy())
    for i, h in enumerate(out.hidden_states):
        save(f"te_hidden_states_{i}", h.numpy())
    save("te2_text_embeds", out2.text_embeds.numpy())
    save("te2_last_hidden_state", out2.last_hidden_state.numpy())
    for i, h in enumerate(out2.hidden_states):
        save(f"te2_hidden_states_{i}", h.numpy())

    unet = load_weights(UNet2DConditionModel.from_config(read_json(os.path.join(folder, "unet", "config.json"))), os.path.join(folder, "unet", "model.onnx"))
    sample = rng.standard_normal((2, 4, 8, 8), dtype=np.float32)
    context = torch.cat([out.hidden_states[-2], out2.hidden_states[-2]], dim=-1)
    time_ids = np.array([[64, 64, 0, 0, 64, 64], [48, 80, 16, 8, 96, 160]], dtype=np.float32)
    t = np.array(981.0, dtype=np.float32)
    with torch.no_grad():
        result = unet(
            torch.from_numpy(sample),
            torch.from_numpy(t),
            encoder_hidden_states=context,
            added_cond_kwargs={"text_embeds": out2.text_embeds, "time_ids": torch.from_numpy(time_ids)},
        ).sample
    save("unet_sample", sample)
    save("unet_timestep", t)
    save("unet_encoder_hidden_states", context.numpy())
    save("unet_time_ids", time_ids)
    save("unet_out_sample", result.numpy())

    manifest = {
        "about": "SDXL builder cross-check: transformers/diffusers outputs with the builder's weights (test/reference/sdxl_builder_crosscheck.py)",
        "versions": {k: refenv.VERSIONS[k] for k in ("diffusers", "transformers")} | {"torch": torch.__version__},
        "textEncoderLayers": config.num_hidden_layers,
        "files": files,
    }
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("written:", ", ".join(files))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: sdxl_builder_crosscheck.py <tiny SDXL folder built by crosscheck.test.ts>")
    main(sys.argv[1])

"""Parameter counts of the SDXL-size components as diffusers / transformers build them from the
config.json files the builder writes for the `sdxl` preset (test/onnx/builder/sdxl/presets.test.ts
compares the builder's graphs with them). The models are instantiated without memory: torch.empty
is redirected to the meta device and weight init is skipped, so only shapes exist.

Regenerate (from the repo root):
    SDXL_CONFIGS_OUT=/tmp/sdxl-configs \
        PATH=$PWD/node_modules/.bin:$PATH npx vitest run test/onnx/builder/sdxl/presets.test.ts
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/sdxl_param_counts.py /tmp/sdxl-configs
"""
import json
import os
import sys

from sdxl_builder_crosscheck import read_json, refenv, torch  # sets up the reference sources

import torch.nn.init as init  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "sdxl-builder", "sdxl-param-counts.json")

_empty = torch.empty


def _meta_empty(*args, **kwargs):
    kwargs["device"] = "meta"
    return _empty(*args, **kwargs)


def main(folder):
    torch.empty = _meta_empty
    for name in ("kaiming_uniform_", "uniform_", "normal_", "zeros_", "ones_", "constant_", "xavier_uniform_", "trunc_normal_"):
        setattr(init, name, lambda t, *a, **k: t)
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    def text(name, cls):
        config = read_json(os.path.join(folder, name, "config.json"))
        return cls(CLIPTextConfig(**{k: v for k, v in config.items() if not k.startswith("_") and k != "architectures"}))

    models = {
        "text_encoder": text("text_encoder", CLIPTextModel),
        "text_encoder_2": text("text_encoder_2", CLIPTextModelWithProjection),
        "unet": UNet2DConditionModel.from_config(read_json(os.path.join(folder, "unet", "config.json"))),
    }
    counts = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}
    result = {
        "about": "parameter counts of the sdxl preset's configs in diffusers/transformers (test/reference/sdxl_param_counts.py)",
        "versions": {k: refenv.VERSIONS[k] for k in ("diffusers", "transformers")} | {"torch": torch.__version__},
        "parameters": counts,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(counts)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: sdxl_param_counts.py <folder with text_encoder/, text_encoder_2/, unet/ config.json>")
    main(sys.argv[1])

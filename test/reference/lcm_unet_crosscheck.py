"""Cross-check of the builder's LCM UNet (time_cond_proj_dim, input `timestep_cond`) against
diffusers v0.27.2's UNet2DConditionModel with the same weights.

Regenerate (from the repo root): build the model folder, then write the fixture
    LCM_CROSSCHECK_OUT=/tmp/lcm-crosscheck PATH=$PWD/node_modules/.bin:$PATH npx vitest run test/diffusion/lcm-unet.test.ts
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/lcm_unet_crosscheck.py /tmp/lcm-crosscheck
Writes test/fixtures/img2img/lcm-unet.json: fixed inputs (float32 base64) and the module's output.
"""
import base64
import json
import os
import sys
import types

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

refenv.setup()
# transformers 4.34 imports every model package with one, and mt5/t5 pull in convert_slow_tokenizer,
# which needs the absent Rust `tokenizers`; nothing here tokenizes: a stand-in module is enough.
_stub = types.ModuleType("transformers.convert_slow_tokenizer")
_stub.import_protobuf = lambda *a, **k: None
_stub.SLOW_TO_FAST_CONVERTERS = {}
sys.modules["transformers.convert_slow_tokenizer"] = _stub
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import builder_crosscheck as bc  # noqa: E402  (load_weights: ONNX initializers into a torch module)

torch = bc.torch
import numpy as np  # noqa: E402
from diffusers import UNet2DConditionModel  # noqa: E402

OUT = os.path.join("test", "fixtures", "img2img", "lcm-unet.json")


def b64(t):
    return base64.b64encode(np.ascontiguousarray(t.detach().numpy(), dtype="<f4").tobytes()).decode("ascii")


def main(folder):
    config = bc.read_json(os.path.join(folder, "unet", "config.json"))
    unet = bc.load_weights(UNet2DConditionModel.from_config(config), os.path.join(folder, "unet", "model.onnx"))
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    hidden = torch.randn(2, 77, config["cross_attention_dim"], generator=g)
    cond = torch.randn(2, config["time_cond_proj_dim"], generator=g)
    timestep = torch.tensor(499.0)
    with torch.no_grad():
        out = unet(sample, timestep, encoder_hidden_states=hidden, timestep_cond=cond).sample
        without = unet(sample, timestep, encoder_hidden_states=hidden, timestep_cond=torch.zeros_like(cond)).sample
    data = {"timestep": 499.0, "sample": b64(sample), "encoder_hidden_states": b64(hidden), "timestep_cond": b64(cond),
            "out_sample": b64(out), "cond_effect": float((out - without).abs().max())}
    with open(OUT, "w") as f:
        json.dump(data, f)
        f.write("\n")
    print("wrote", OUT, "cond effect", data["cond_effect"])


if __name__ == "__main__":
    main(sys.argv[1])

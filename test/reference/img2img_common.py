"""Shared set-up of the image-to-image reference scripts (img2img.py, img2img_families.py).

* refenv (see /work/shared/reference/README.md) with the diffusers version named by REF_DIFFUSERS;
* a stand-in for transformers.convert_slow_tokenizer: transformers 4.34 imports every model package
  when one is imported, and mt5/t5 pull in convert_slow_tokenizer, which needs the absent Rust
  `tokenizers`; nothing here tokenizes, so a module with the names those imports ask for is enough;
* float32 arrays as base64, writing the fixture JSON, a stand-in pipeline `self`, and a stand-in VAE whose encoder returns
  fixed `latent_parameters` (integer formulas the TypeScript tests repeat: test/diffusion/img2img-helpers.ts).
"""
import base64
import json
import os
import sys
import types

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

torch = refenv.setup()
_stub = types.ModuleType("transformers.convert_slow_tokenizer")
_stub.import_protobuf = lambda *a, **k: None
_stub.SLOW_TO_FAST_CONVERTERS = {}
sys.modules["transformers.convert_slow_tokenizer"] = _stub
import numpy as np  # noqa: E402
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution  # noqa: E402


def b64(t):
    """Little-endian float32 bytes, base64."""
    a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
    return base64.b64encode(a.tobytes()).decode("ascii")


def write_json(path, data):
    """The fixture file (relative to the repo root, where the scripts run), one space of indent."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


def pipe_with(scheduler, vae=None):
    """A stand-in `self` for the pipeline methods: only the attributes they read."""
    return types.SimpleNamespace(scheduler=scheduler, vae=vae)


def latent_parameters(shape):
    """[1, 2C, h, w]: mean in [-2, 2], logvar from -34 to 22 (beyond both clamps) as integer formulas."""
    n = int(np.prod(shape))
    i = torch.arange(n)
    mean = ((i * 29 + 3) % 61).to(torch.float32) / 15.0 - 2.0
    logvar = ((i * 17 + 5) % 57).to(torch.float32) - 34.0
    return torch.cat([mean.reshape(shape), logvar.reshape(shape)], dim=1)


class StandInVae:
    """The VAE as prepare_latents reads it: encode() gives the fixed distribution; `config` what each family reads."""

    def __init__(self, params, **config):
        self.params = params
        self.config = types.SimpleNamespace(force_upcast=False, latents_mean=None, latents_std=None, **config)

    def encode(self, image):
        return types.SimpleNamespace(latent_dist=DiagonalGaussianDistribution(self.params))

    def to(self, *a, **k):
        return self

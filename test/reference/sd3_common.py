"""Shared set-up of the SD3 reference scripts (sd3_builder_crosscheck.py, sd3_pipeline.py).

* refenv (see /work/shared/reference/README.md) with the diffusers version named by REF_DIFFUSERS;
* a stand-in for transformers.convert_slow_tokenizer, which imports the Rust `tokenizers` package
  (absent here) at module level; only its `import_protobuf` is named by the modules loaded here, and
  only T5Tokenizer(legacy=False) would call it;
* torch.nn.functional.scaled_dot_product_attention for Debian's torch 1.13, which lacks it and whose
  absence diffusers' SD3 attention processor refuses: plain softmax(q k^T * scale) v, the math the
  PyTorch 2 function documents (no mask or dropout is used by SD3's processors);
* loading ONNX initializers (by state_dict key; Linear weights are stored [in, out]) into a module.
"""
import os
import sys
import types

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

torch = refenv.setup()
torch.set_num_threads(1)

_stub = types.ModuleType("transformers.convert_slow_tokenizer")
_stub.import_protobuf = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("not available here: use T5Tokenizer(legacy=True)"))
sys.modules.setdefault("transformers.convert_slow_tokenizer", _stub)

import torch.nn.functional as F  # noqa: E402


def _sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    if attn_mask is not None or dropout_p or is_causal:
        raise NotImplementedError("SD3 reference runs use neither masks nor dropout")
    s = scale if scale is not None else query.shape[-1] ** -0.5
    return torch.softmax((query @ key.transpose(-2, -1)) * s, dim=-1) @ value


if not hasattr(F, "scaled_dot_product_attention"):
    F.scaled_dot_product_attention = _sdpa

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

ALIASES = {"encoder.embed_tokens.weight": "shared.weight"}  # T5's tied embedding


def initializers(paths):
    out = {}
    for path in paths:
        model = onnx.load(path)  # reads model.onnx_data beside it when the tensors are external
        out.update({t.name: numpy_helper.to_array(t) for t in model.graph.initializer})
    return out


def load_weights(module, *paths):
    """Copy ONNX initializers into `module` by state_dict key; every key must be there."""
    arrays = initializers(paths)
    linear = {f"{name}.weight" for name, m in module.named_modules() if isinstance(m, torch.nn.Linear)}
    state = module.state_dict()
    missing = []
    for key, param in state.items():
        name = key if key in arrays else ALIASES.get(key, key)
        if name not in arrays:
            missing.append(key)
            continue
        value = arrays[name].T if key in linear else arrays[name]
        if tuple(value.shape) != tuple(param.shape):
            raise SystemExit(f"{paths}: {key} has shape {value.shape}, the module wants {tuple(param.shape)}")
        state[key] = torch.from_numpy(np.array(value))  # a writable copy
    if missing:
        raise SystemExit(f"{paths}: no initializer for {missing[:5]} ({len(missing)} in all)")
    module.load_state_dict(state, strict=True)
    return module.eval()


def diffusers_version():
    return os.path.basename(refenv.DIFFUSERS)

"""Architecture cross-check of lib/onnx/builder against diffusers / transformers.

Loads the initializers of builder-made ONNX models (by their state_dict names; external data too)
into diffusers' UNet2DConditionModel / AutoencoderKL and transformers' CLIPTextModel, each built
from the config.json the builder wrote beside the model, runs them in PyTorch on fixed inputs and
writes inputs and outputs to test/fixtures/builder/<case>/ (raw little-endian float32 .f32 files
plus manifest.json). test/onnx/builder/crosscheck.test.ts runs the same inputs through
onnxruntime-node on freshly built models and compares. The builder is deterministic, so the
fixture stays valid until the builder's weights or graphs change.

Regenerate (from the repo root):
    BUILDER_CROSSCHECK_OUT=/tmp/builder-crosscheck \
        PATH=$PWD/node_modules/.bin:$PATH npx vitest run test/onnx/builder/crosscheck.test.ts
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/builder_crosscheck.py /tmp/builder-crosscheck

The first command writes the model folders (it also compares against the current fixture, which
fails where the fixture is stale); the second rewrites the fixture.
"""
import json
import os
import sys

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

torch = refenv.setup()
torch.set_num_threads(1)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from diffusers import AutoencoderKL, UNet2DConditionModel  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "builder")

# case name -> how the TS test built it (must match crosscheck.test.ts)
CASES = {
    "sd1-tiny": {"timestep": [981.0], "timestep_dtype": "float32", "timestep_shape": []},
    "sd2-tiny": {"timestep": [999, 17], "timestep_dtype": "int64", "timestep_shape": [2]},
}


def initializers(path):
    model = onnx.load(path)  # reads model.onnx_data beside it when the tensors are external
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def load_weights(module, path):
    """Copy ONNX initializers into `module` by state_dict key; Linear weights are stored [in, out]."""
    arrays = initializers(path)
    linear = {f"{name}.weight" for name, m in module.named_modules() if isinstance(m, torch.nn.Linear)}
    state = module.state_dict()
    missing = []
    for key, param in state.items():
        if key not in arrays:
            missing.append(key)
            continue
        value = arrays[key].T if key in linear else arrays[key]
        if tuple(value.shape) != tuple(param.shape):
            raise SystemExit(f"{path}: {key} has shape {value.shape}, the module wants {tuple(param.shape)}")
        state[key] = torch.from_numpy(np.ascontiguousarray(value))
    if missing:
        raise SystemExit(f"{path}: no initializer for {missing[:5]} ({len(missing)} in all)")
    module.load_state_dict(state, strict=True)
    return module.eval()


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(models_root):
    rng = np.random.default_rng(20240601)
    for case, spec in CASES.items():
        folder = os.path.join(models_root, case)
        out_dir = os.path.join(OUT, case)
        os.makedirs(out_dir, exist_ok=True)
        files = {}

        def save(name, array, dtype="float32"):
            array = np.ascontiguousarray(array, dtype=dtype)
            array.astype("<" + array.dtype.str[1:]).tofile(os.path.join(out_dir, f"{name}.{'f32' if dtype == 'float32' else 'i64'}"))
            files[name] = {"dtype": dtype, "shape": list(array.shape)}

        text_config = CLIPTextConfig(**{k: v for k, v in read_json(os.path.join(folder, "text_encoder", "config.json")).items() if not k.startswith("_")})
        text = load_weights(CLIPTextModel(text_config), os.path.join(folder, "text_encoder", "model.onnx"))
        vocab = text_config.vocab_size
        # Two prompts: BOS, a few ids, EOS (the highest id), then padding, as the tokenizer pads.
        ids = np.full((2, 77), vocab - 1, dtype=np.int64)
        ids[:, 0] = vocab - 2
        ids[0, 1:6] = rng.integers(0, vocab - 2, 5)
        ids[1, 1:12] = rng.integers(0, vocab - 2, 11)
        ids[1, 12:] = 0 if case.startswith("sd2") else vocab - 1  # SD 2.x pads with "!" (id 0)
        with torch.no_grad():
            result = text(input_ids=torch.from_numpy(ids))
        save("input_ids", ids, "int64")
        save("last_hidden_state", result.last_hidden_state.numpy())
        save("pooler_output", result.pooler_output.numpy())

        unet_config = read_json(os.path.join(folder, "unet", "config.json"))
        unet = load_weights(UNet2DConditionModel.from_config(unet_config), os.path.join(folder, "unet", "model.onnx"))
        sample = rng.standard_normal((2, 4, 8, 8), dtype=np.float32)
        t = np.array(spec["timestep"], dtype=spec["timestep_dtype"]).reshape(spec["timestep_shape"])
        with torch.no_grad():
            out = unet(torch.from_numpy(sample), torch.from_numpy(t), encoder_hidden_states=result.last_hidden_state).sample
        save("unet_sample", sample)
        save("unet_timestep", t, spec["timestep_dtype"])
        save("unet_out_sample", out.numpy())

        vae_config = read_json(os.path.join(folder, "vae_decoder", "config.json"))
        vae = AutoencoderKL.from_config(vae_config)
        arrays = {}
        for part in ("vae_decoder", "vae_encoder"):
            arrays.update(initializers(os.path.join(folder, part, "model.onnx")))
        linear = {f"{name}.weight" for name, m in vae.named_modules() if isinstance(m, torch.nn.Linear)}
        state = {k: torch.from_numpy(np.ascontiguousarray(arrays[k].T if k in linear else arrays[k])) for k in vae.state_dict()}
        vae.load_state_dict(state, strict=True)
        vae.eval()
        latent = rng.standard_normal((1, 4, 4, 4), dtype=np.float32)
        image = np.tanh(rng.standard_normal((1, 3, 32, 32), dtype=np.float32))
        with torch.no_grad():
            decoded = vae.decode(torch.from_numpy(latent)).sample
            moments = vae.quant_conv(vae.encoder(torch.from_numpy(image)))
            parameters = vae.encode(torch.from_numpy(image)).latent_dist.parameters
        assert torch.equal(moments, parameters)
        save("vae_latent_sample", latent)
        save("vae_decoded", decoded.numpy())
        save("vae_image", image)
        save("vae_latent_parameters", parameters.numpy())

        manifest = {
            "about": "builder cross-check: diffusers/transformers outputs with the builder's weights (test/reference/builder_crosscheck.py)",
            "versions": {k: refenv.VERSIONS[k] for k in ("diffusers", "transformers")} | {"torch": torch.__version__},
            "case": case,
            "files": files,
        }
        with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        print(case, "written:", ", ".join(files))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: builder_crosscheck.py <folder with sd1-tiny/ and sd2-tiny/ built by crosscheck.test.ts>")
    main(sys.argv[1])

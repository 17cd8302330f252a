"""Architecture cross-check of lib/onnx/builder/sd3 against diffusers / transformers.

Loads the initializers of builder-made SD3 folders into transformers' CLIPTextModelWithProjection and
T5EncoderModel (v4.34.0) and diffusers' SD3Transformer2DModel / AutoencoderKL, each built from the
config.json the builder wrote, runs them on fixed inputs and writes inputs and outputs to
test/fixtures/sd3-builder/<case>/ (raw little-endian .f32 / .i64 files plus manifest.json);
test/onnx/builder/sd3/crosscheck.test.ts runs the same inputs through onnxruntime-node.

The transformer's `pos_embed.pos_embed` (a buffer diffusers computes itself) is NOT loaded from the
ONNX file: the module keeps its own, so the outputs also check the builder's sin-cos table.

Cases and the diffusers version each needs (SD3.5's dual attention and qk norm appeared in v0.31.0):
    sd3-tiny   diffusers-v0.29.2     sd35-tiny   diffusers-v0.31.0 (laid out beside v0.29.2 with
               `git archive v0.31.0 src` of the diffusers mirror into $REFSRC/diffusers-v0.31.0)

Regenerate (from the repo root):
    SD3_CROSSCHECK_OUT=/tmp/sd3-crosscheck PATH=$PWD/node_modules/.bin:$PATH npx vitest run test/onnx/builder/sd3/crosscheck.test.ts
    REFSRC=/work/refsrc REF_DIFFUSERS=diffusers-v0.29.2 REF_HF_HUB=huggingface_hub-v0.29.3 \
        /usr/bin/python3 test/reference/sd3_builder_crosscheck.py /tmp/sd3-crosscheck sd3-tiny
    REFSRC=/work/refsrc REF_DIFFUSERS=diffusers-v0.31.0 REF_HF_HUB=huggingface_hub-v0.29.3 \
        /usr/bin/python3 test/reference/sd3_builder_crosscheck.py /tmp/sd3-crosscheck sd35-tiny
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sd3_common import diffusers_version, load_weights, refenv, torch  # noqa: E402

import numpy as np  # noqa: E402
from diffusers import AutoencoderKL, SD3Transformer2DModel  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModelWithProjection, T5Config, T5EncoderModel  # noqa: E402
from transformers.models.t5.modeling_t5 import T5Attention  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "sd3-builder")
NEEDS = {"sd3-tiny": "diffusers-v0.29.2", "sd35-tiny": "diffusers-v0.31.0"}


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def config_args(path):
    return {k: v for k, v in read_json(path).items() if not k.startswith("_")}


def main(models_root, case):
    if diffusers_version() != NEEDS[case]:
        raise SystemExit(f"case {case} needs REF_DIFFUSERS={NEEDS[case]} (got {diffusers_version()})")
    rng = np.random.default_rng(20240612 + len(case))
    folder = os.path.join(models_root, case)
    out_dir = os.path.join(OUT, case)
    os.makedirs(out_dir, exist_ok=True)
    files = {}

    def save(name, array, dtype="float32"):
        array = np.ascontiguousarray(array, dtype=dtype)
        array.astype("<" + array.dtype.str[1:]).tofile(os.path.join(out_dir, f"{name}.{'f32' if dtype == 'float32' else 'i64'}"))
        files[name] = {"dtype": dtype, "shape": list(array.shape)}

    # CLIP-L and CLIP-G with projection: text_embeds and the penultimate hidden state SD3 uses.
    for part in ("text_encoder", "text_encoder_2"):
        config = CLIPTextConfig(**config_args(os.path.join(folder, part, "config.json")))
        model = load_weights(CLIPTextModelWithProjection(config), os.path.join(folder, part, "model.onnx"))
        vocab = config.vocab_size
        ids = np.full((2, 77), vocab - 1 if part == "text_encoder" else 0, dtype=np.int64)  # pads: eos / "!"
        ids[:, 0] = vocab - 2
        ids[0, 1:6] = rng.integers(1, vocab - 2, 5)
        ids[0, 6] = vocab - 1
        ids[1, 1:20] = rng.integers(1, vocab - 2, 19)
        ids[1, 20] = vocab - 1
        with torch.no_grad():
            r = model(input_ids=torch.from_numpy(ids), output_hidden_states=True)
        save(f"{part}.input_ids", ids, "int64")
        save(f"{part}.text_embeds", r.text_embeds.numpy())
        save(f"{part}.last_hidden_state", r.last_hidden_state.numpy())
        save(f"{part}.penultimate", r.hidden_states[-2].numpy())

    # T5: 150 tokens, past max_distance 128, so every kind of relative-position bucket is used.
    t5_config = T5Config(**config_args(os.path.join(folder, "text_encoder_3", "config.json")))
    t5 = load_weights(T5EncoderModel(t5_config), os.path.join(folder, "text_encoder_3", "model.onnx"))
    ids = np.zeros((2, 150), dtype=np.int64)
    ids[0, :140] = rng.integers(2, t5_config.vocab_size, 140)
    ids[0, 140] = 1
    ids[1, :9] = rng.integers(2, t5_config.vocab_size, 9)
    ids[1, 9] = 1
    with torch.no_grad():
        hidden = t5(input_ids=torch.from_numpy(ids))[0]
    save("text_encoder_3.input_ids", ids, "int64")
    save("text_encoder_3.last_hidden_state", hidden.numpy())
    relative = torch.arange(-300, 301)
    buckets = T5Attention._relative_position_bucket(relative, bidirectional=True, num_buckets=t5_config.relative_attention_num_buckets,
                                                     max_distance=t5_config.relative_attention_max_distance)
    save("t5_buckets_-300_300", buckets.numpy(), "int64")

    # Transformer, on a non-square latent (crop and unpatchify in both directions), own pos_embed buffer.
    tconfig = read_json(os.path.join(folder, "transformer", "config.json"))
    transformer = SD3Transformer2DModel.from_config(tconfig)
    own = transformer.pos_embed.pos_embed.clone()
    load_weights(transformer, os.path.join(folder, "transformer", "model.onnx"))
    pos_diff = float((transformer.pos_embed.pos_embed - own).abs().max())
    transformer.pos_embed.pos_embed.copy_(own)
    sample = rng.standard_normal((2, tconfig["in_channels"], 8, 12), dtype=np.float32)
    context = rng.standard_normal((2, 117, tconfig["joint_attention_dim"]), dtype=np.float32)
    pooled = rng.standard_normal((2, tconfig["pooled_projection_dim"]), dtype=np.float32)
    timestep = np.array([999.0, 333.25], dtype=np.float32)
    with torch.no_grad():
        out = transformer(hidden_states=torch.from_numpy(sample), encoder_hidden_states=torch.from_numpy(context),
                          pooled_projections=torch.from_numpy(pooled), timestep=torch.from_numpy(timestep)).sample
    save("transformer.hidden_states", sample)
    save("transformer.encoder_hidden_states", context)
    save("transformer.pooled_projections", pooled)
    save("transformer.timestep", timestep)
    save("transformer.out_hidden_states", out.numpy())

    vae = AutoencoderKL.from_config(read_json(os.path.join(folder, "vae_decoder", "config.json")))
    load_weights(vae, os.path.join(folder, "vae_decoder", "model.onnx"), os.path.join(folder, "vae_encoder", "model.onnx"))
    latent = rng.standard_normal((1, 16, 4, 4), dtype=np.float32)
    image = np.tanh(rng.standard_normal((1, 3, 32, 32), dtype=np.float32))
    with torch.no_grad():
        decoded = vae.decode(torch.from_numpy(latent)).sample
        parameters = vae.encode(torch.from_numpy(image)).latent_dist.parameters
    save("vae_latent_sample", latent)
    save("vae_decoded", decoded.numpy())
    save("vae_image", image)
    save("vae_latent_parameters", parameters.numpy())

    manifest = {
        "about": "SD3 builder cross-check: diffusers/transformers outputs with the builder's weights (test/reference/sd3_builder_crosscheck.py)",
        "versions": {"diffusers": diffusers_version(), "transformers": refenv.VERSIONS["transformers"], "torch": torch.__version__},
        "case": case,
        "pos_embed_max_abs_diff": pos_diff,
        "files": files,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(case, "written; builder pos_embed vs diffusers' own:", pos_diff)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in NEEDS:
        raise SystemExit(f"usage: sd3_builder_crosscheck.py <folder built by crosscheck.test.ts> <{'|'.join(NEEDS)}>")
    main(sys.argv[1], sys.argv[2])

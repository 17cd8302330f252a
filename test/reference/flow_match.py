"""Reference values for lib/schedulers/flow-match-euler-discrete.ts: diffusers v0.29.2's
FlowMatchEulerDiscreteScheduler (the version that added it).

Run from the repo root (writes test/fixtures/schedulers/flow-match.json):
    REFSRC=/work/refsrc REF_DIFFUSERS=diffusers-v0.29.2 REF_HF_HUB=huggingface_hub-v0.29.3 \
        /usr/bin/python3 test/reference/flow_match.py

Loops run as test/reference/schedulers.py runs them (same LATENT_SHAPE, x_init and stand-in "UNet"
base(k) + 0.05 * sample, in the LoopCase format of test/schedulers/reference-loop.ts). FlowMatch has
no scale_model_input or init_noise_sigma: the input scale is 1 and the loop starts from x_init.
scale_noise (image-to-image's forward process) is recorded at a few timesteps.
"""
import base64
import json
import os
import sys

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

torch = refenv.setup(patch_tokenizers=False)
import numpy as np  # noqa: E402
from diffusers import FlowMatchEulerDiscreteScheduler  # noqa: E402

OUT = os.path.join("test", "fixtures", "schedulers", "flow-match.json")
LATENT_SHAPE = [2, 4, 4, 4]
COUNT = int(np.prod(LATENT_SHAPE))
SD3_FILE = {"_class_name": "FlowMatchEulerDiscreteScheduler", "_diffusers_version": "0.29.0.dev0",
            "num_train_timesteps": 1000, "shift": 3.0}


def b64(t):
    return base64.b64encode(np.ascontiguousarray(np.asarray(t, dtype="<f4")).tobytes()).decode("ascii")


def x_init():
    i = torch.arange(COUNT)
    return (((i * 53 + 7) % 199).to(torch.float32) / 64.0 - 1.5).reshape(LATENT_SHAPE)


def base(k):
    i = torch.arange(COUNT)
    return (((i * 37 + k * 101) % 257).to(torch.float32) / 128.0 - 1.0).reshape(LATENT_SHAPE)


def run_case(name, file, config, steps, seed=None):
    sched = FlowMatchEulerDiscreteScheduler.from_config({**(file or {}), **config})
    sched.set_timesteps(steps)
    sample = x_init()
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    timesteps = sched.timesteps.clone()
    first_prev = None
    for k, t in enumerate(timesteps):
        model_output = base(k) + 0.05 * sample
        sample = sched.step(model_output, t, sample, generator=gen).prev_sample
        if k == 0:
            first_prev = sample
    return {
        "name": name, "file": file, "config": config, "steps": steps, "seed": seed, "step_kwargs": {},
        "timesteps": [float(v) for v in timesteps.tolist()], "timesteps_dtype": str(timesteps.dtype).replace("torch.", ""),
        "sigmas": [float(v) for v in sched.sigmas.tolist()], "init_noise_sigma": 1.0,
        "input_scales": [1.0] * len(timesteps), "first_prev_sample": b64(first_prev),
        "first_pred_original_sample": None, "final_sample": b64(sample),
        "generator_after": float(torch.randn(1, generator=gen)[0]) if gen is not None else None,
    }


def main():
    cases = []
    for shift in (1.0, 3.0, 6.0):
        for steps in (1, 2, 4, 7, 28):
            cases.append(run_case(f"shift {shift}, {steps} steps", None, {"shift": shift}, steps))
    cases.append(run_case("SD3 scheduler_config.json, 28 steps", SD3_FILE, {}, 28))
    cases.append(run_case("SD3 scheduler_config.json, 5 steps, generator", SD3_FILE, {}, 5, seed=7))
    cases.append(run_case("1000 train steps in full, shift 3", None, {"shift": 3.0}, 1000))

    training = {}
    for shift in (1.0, 3.0):
        s = FlowMatchEulerDiscreteScheduler(shift=shift)
        training[str(shift)] = {"timesteps": b64(s.timesteps), "sigmas": b64(s.sigmas),
                                "sigma_min": s.sigma_min, "sigma_max": s.sigma_max}

    scale_noise = []
    for steps, index in ((10, 0), (10, 3), (28, 27)):
        s = FlowMatchEulerDiscreteScheduler.from_config(SD3_FILE)
        s.set_timesteps(steps)
        t = s.timesteps[index]
        noise = base(5)
        out = s.scale_noise(x_init(), t.reshape(1), noise)
        scale_noise.append({"steps": steps, "index": index, "timestep": float(t), "sample": b64(out)})

    out = {"class": "FlowMatchEulerDiscreteScheduler", "versions": {"diffusers": refenv.VERSIONS["diffusers-v0.29.2"],
           "torch": torch.__version__}, "latent_shape": LATENT_SHAPE, "cases": cases, "training": training,
           "scale_noise": scale_noise}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("written", OUT, len(cases), "cases")


if __name__ == "__main__":
    main()

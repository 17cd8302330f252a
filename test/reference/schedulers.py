"""Reference values for lib/schedulers/*.ts: what diffusers v0.27.2's schedulers compute.

Run from the repo root (writes test/fixtures/schedulers/<file>.json, one per scheduler, and betas.json):
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/schedulers.py

Every loop runs as a pipeline runs it, on a small latent of LATENT_SHAPE:
    scheduler = Class.from_config(config); scheduler.set_timesteps(n)
    sample = x_init * scheduler.init_noise_sigma
    for k, t in enumerate(scheduler.timesteps):
        model_input = scheduler.scale_model_input(sample, t)
        model_output = base(k) + 0.05 * model_input          # a stand-in "UNet"
        sample = scheduler.step(model_output, t, sample, **step_kwargs).prev_sample
x_init and base(k) are exact float32 values from integer formulas (repeated in the TypeScript
tests), so both sides start from the same numbers. Where a case has a "seed", step_kwargs holds
generator=torch.Generator().manual_seed(seed), one generator for the whole loop.

Float32 arrays are stored as base64 of little-endian float32 bytes (exact and compact).
"""
import base64
import json
import os
import re
import sys

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

torch = refenv.setup(patch_tokenizers=False)
import numpy as np  # noqa: E402
import diffusers  # noqa: E402

OUT = os.path.join("test", "fixtures", "schedulers")
LATENT_SHAPE = [2, 4, 4, 4]
COUNT = int(np.prod(LATENT_SHAPE))
SD = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000}
# the scheduler_config.json of the shared tiny SD fixture (what the ONNX converter writes for SD 1.x)
SD_PNDM_FILE = {
    "_class_name": "PNDMScheduler", "_diffusers_version": "0.27.2", "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
    "num_train_timesteps": 1000, "prediction_type": "epsilon", "set_alpha_to_one": False,
    "skip_prk_steps": True, "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": None,
}
GRID_STEPS = [1, 2, 3, 5, 6, 7, 9, 10, 12, 16, 25, 33, 50, 64, 100]
GRID_SPACINGS = [("linspace", 0), ("leading", 0), ("leading", 1), ("trailing", 0)]


def b64(t):
    a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
    return base64.b64encode(a.tobytes()).decode("ascii")


def x_init():
    i = torch.arange(COUNT)
    return (((i * 53 + 7) % 199).to(torch.float32) / 64.0 - 1.5).reshape(LATENT_SHAPE)


def base(k):
    i = torch.arange(COUNT)
    return (((i * 37 + k * 101) % 257).to(torch.float32) / 128.0 - 1.0).reshape(LATENT_SHAPE)


def as_list(t):
    return None if t is None else [float(v) for v in torch.as_tensor(t).flatten().tolist()]


def run_case(cls, case):
    sched = cls.from_config({**case.get("file", {}), **case.get("config", {})})
    n = case["steps"]
    sched.set_timesteps(n)
    sample = x_init() * sched.init_noise_sigma
    gen = torch.Generator().manual_seed(case["seed"]) if "seed" in case else None
    kwargs = dict(case.get("step_kwargs", {}))
    if gen is not None:
        kwargs["generator"] = gen
    scales, first_prev, first_x0 = [], None, None
    timesteps = sched.timesteps.clone()
    for k, t in enumerate(timesteps):
        model_input = sched.scale_model_input(sample, t)
        scales.append(float(sched.scale_model_input(torch.ones(1), t)[0]))
        model_output = base(k) + 0.05 * model_input
        out = sched.step(model_output, t, sample, **kwargs)
        sample = out.prev_sample
        if k == 0:
            first_prev = out.prev_sample
            first_x0 = getattr(out, "pred_original_sample", None)
            if first_x0 is None:
                first_x0 = getattr(out, "denoised", None)
    sigmas = getattr(sched, "sigmas", None)
    return {
        "name": case["name"],
        "file": case.get("file"),
        "config": case.get("config", {}),
        "steps": n,
        "seed": case.get("seed"),
        "step_kwargs": case.get("step_kwargs", {}),
        "timesteps": as_list(timesteps),
        "timesteps_dtype": str(timesteps.dtype).replace("torch.", ""),
        "sigmas": as_list(sigmas),
        "init_noise_sigma": float(sched.init_noise_sigma),
        "input_scales": scales,
        "first_prev_sample": b64(first_prev),
        "first_pred_original_sample": None if first_x0 is None else b64(first_x0),
        "final_sample": b64(sample),
    }


def grid(cls, extra=None, steps=None, spacings=None):
    out = []
    for spacing, offset in spacings or GRID_SPACINGS:
        for n in steps or GRID_STEPS:
            sched = cls(**SD, **(extra or {}), timestep_spacing=spacing, steps_offset=offset)
            sched.set_timesteps(n)
            out.append({"spacing": spacing, "steps_offset": offset, "steps": n, "timesteps": as_list(sched.timesteps)})
    return out


def dump(data, path):
    """json.dump with each list of numbers on one line, so the files stay short."""
    text = json.dumps(data, indent=1)
    text = re.sub(r"\[\s+([-0-9.e, \n]+?)\s+\]", lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text)
    with open(path, "w") as fh:
        fh.write(text + "\n")


def write(name, cls, cases, grid_extra=None, grid_steps=None, grid_spacings=None):
    data = {
        "about": f"diffusers v0.27.2 {cls.__name__}: full loops (see test/reference/schedulers.py) and set_timesteps over a grid",
        "script": "test/reference/schedulers.py",
        "diffusers": refenv.VERSIONS["diffusers"],
        "torch": torch.__version__,
        "latent_shape": LATENT_SHAPE,
        "class": cls.__name__,
        "cases": [run_case(cls, c) for c in cases],
        "timestep_grid": {"base_config": SD, "extra": grid_extra or {}, "entries": grid(cls, grid_extra, grid_steps, grid_spacings)},
    }
    dump(data, os.path.join(OUT, f"{name}.json"))


def betas_file():
    out = []
    configs = [
        ("linear", {}),
        ("scaled_linear (SD)", dict(SD)),
        ("squaredcos_cap_v2", {"beta_schedule": "squaredcos_cap_v2"}),
        ("scaled_linear, rescale_betas_zero_snr", {**SD, "rescale_betas_zero_snr": True}),
        ("linear, 100 train steps", {"num_train_timesteps": 100, "beta_start": 0.001, "beta_end": 0.05}),
    ]
    for name, cfg in configs:
        s = diffusers.DDIMScheduler(**cfg)
        out.append({"name": name, "config": cfg, "betas": b64(s.betas), "alphas_cumprod": b64(s.alphas_cumprod)})
    h = diffusers.HeunDiscreteScheduler(beta_schedule="exp")
    out.append({"name": "exp (Heun)", "config": {"beta_schedule": "exp"}, "betas": b64(h.betas), "alphas_cumprod": b64(h.alphas_cumprod)})
    dump({"about": "betas and alphas_cumprod of diffusers v0.27.2 (DDIMScheduler, HeunDiscreteScheduler)",
          "script": "test/reference/schedulers.py", "schedules": out}, os.path.join(OUT, "betas.json"))


TRAINED = [float(v) for v in np.linspace(0.001, 0.05, 100)]

PNDM_CASES = [
    {"name": "the tiny SD scheduler_config.json, 10 steps", "file": SD_PNDM_FILE, "steps": 10},
    {"name": "Runge-Kutta warm-up (skip_prk_steps false), linear betas, 10 steps", "config": {}, "steps": 10},
    {"name": "trailing, v_prediction, 7 steps", "config": {**SD, "skip_prk_steps": True, "timestep_spacing": "trailing", "prediction_type": "v_prediction"}, "steps": 7},
    {"name": "linspace, 1 step", "config": {**SD, "skip_prk_steps": True, "timestep_spacing": "linspace"}, "steps": 1},
    {"name": "Runge-Kutta, linspace, v_prediction, set_alpha_to_one, 6 steps", "config": {**SD, "timestep_spacing": "linspace", "prediction_type": "v_prediction", "set_alpha_to_one": True}, "steps": 6},
    {"name": "squaredcos_cap_v2, leading, 4 steps", "config": {"beta_schedule": "squaredcos_cap_v2", "skip_prk_steps": True}, "steps": 4},
]

DDIM_CASES = [
    {"name": "the tiny SD scheduler_config.json, 6 steps", "file": SD_PNDM_FILE, "steps": 6},
    {"name": "class defaults (clip_sample, set_alpha_to_one), 10 steps", "config": {}, "steps": 10},
    {"name": "trailing, v_prediction, rescale_betas_zero_snr, 5 steps", "config": {**SD, "timestep_spacing": "trailing", "prediction_type": "v_prediction", "rescale_betas_zero_snr": True, "clip_sample": False}, "steps": 5},
    {"name": "linspace, sample prediction, 1 step", "config": {**SD, "timestep_spacing": "linspace", "prediction_type": "sample"}, "steps": 1},
    {"name": "trained_betas over 100 train steps, steps_offset 1, 10 steps", "config": {"num_train_timesteps": 100, "trained_betas": TRAINED, "steps_offset": 1, "clip_sample": False}, "steps": 10},
    {"name": "eta 0.5 draws noise from the generator, 8 steps", "file": SD_PNDM_FILE, "steps": 8, "seed": 1234, "step_kwargs": {"eta": 0.5}},
]

EULER_CASES = [
    {"name": "the tiny SD scheduler_config.json (leading, steps_offset 1), 8 steps", "file": SD_PNDM_FILE, "steps": 8, "seed": 5},
    {"name": "class defaults (linspace), 10 steps", "config": {}, "steps": 10},
    {"name": "trailing, v_prediction, 5 steps", "config": {**SD, "timestep_spacing": "trailing", "prediction_type": "v_prediction"}, "steps": 5},
    {"name": "Karras sigmas, linspace, 12 steps", "config": {**SD, "use_karras_sigmas": True}, "steps": 12},
    {"name": "Karras sigmas, leading, v_prediction, 6 steps", "config": {**SD, "use_karras_sigmas": True, "timestep_spacing": "leading", "prediction_type": "v_prediction"}, "steps": 6},
    {"name": "linspace, 1 step", "config": dict(SD), "steps": 1},
    {"name": "rescale_betas_zero_snr, trailing, v_prediction, 4 steps", "config": {**SD, "rescale_betas_zero_snr": True, "timestep_spacing": "trailing", "prediction_type": "v_prediction"}, "steps": 4},
    {"name": "continuous timesteps, v_prediction, 6 steps", "config": {**SD, "timestep_type": "continuous", "prediction_type": "v_prediction"}, "steps": 6},
    {"name": "Karras sigmas between configured sigma_min and sigma_max, sample prediction, 7 steps", "config": {**SD, "use_karras_sigmas": True, "sigma_min": 0.1, "sigma_max": 10.0, "prediction_type": "sample"}, "steps": 7},
]

EULER_A_CASES = [
    {"name": "the tiny SD scheduler_config.json (leading, steps_offset 1), 8 steps", "file": SD_PNDM_FILE, "steps": 8, "seed": 42},
    {"name": "linspace, v_prediction, 5 steps", "config": {**SD, "prediction_type": "v_prediction"}, "steps": 5, "seed": 7},
    {"name": "trailing, 1 step", "config": {**SD, "timestep_spacing": "trailing"}, "steps": 1, "seed": 3},
    {"name": "rescale_betas_zero_snr, trailing, v_prediction, 4 steps", "config": {**SD, "rescale_betas_zero_snr": True, "timestep_spacing": "trailing", "prediction_type": "v_prediction"}, "steps": 4, "seed": 2**32 + 11},
]

DPM_CASES = [
    {"name": "the tiny SD scheduler_config.json (leading, steps_offset 1), 5 steps", "file": SD_PNDM_FILE, "steps": 5},
    {"name": "class defaults (linspace), 10 steps", "config": {}, "steps": 10},
    {"name": "DPM++ 2M Karras, 12 steps", "file": SD_PNDM_FILE, "config": {"use_karras_sigmas": True}, "steps": 12},
    {"name": "Karras sigmas, v_prediction, 20 steps (no lower-order final step but the zero sigma)", "config": {**SD, "use_karras_sigmas": True, "prediction_type": "v_prediction"}, "steps": 20},
    {"name": "trailing, 1 step", "config": {**SD, "timestep_spacing": "trailing"}, "steps": 1},
    {"name": "final_sigmas_type sigma_min, 15 steps", "config": {**SD, "final_sigmas_type": "sigma_min"}, "steps": 15},
    {"name": "final_sigmas_type sigma_min, 8 steps, lower_order_final false", "config": {**SD, "final_sigmas_type": "sigma_min", "lower_order_final": False}, "steps": 8},
    {"name": "solver_order 3, 8 steps", "config": {**SD, "solver_order": 3}, "steps": 8},
    {"name": "solver_type heun, sample prediction, 6 steps", "config": {**SD, "solver_type": "heun", "prediction_type": "sample"}, "steps": 6},
    {"name": "solver_order 1, trailing, 3 steps", "config": {**SD, "solver_order": 1, "timestep_spacing": "trailing"}, "steps": 3},
    {"name": "euler_at_final, sigma_min, 20 steps", "config": {**SD, "euler_at_final": True, "final_sigmas_type": "sigma_min"}, "steps": 20},
]

LMS_CASES = [
    {"name": "the tiny SD scheduler_config.json (leading, steps_offset 1), 9 steps", "file": SD_PNDM_FILE, "steps": 9},
    {"name": "class defaults (linspace), 10 steps", "config": {}, "steps": 10},
    {"name": "Karras sigmas, v_prediction, 12 steps", "config": {**SD, "use_karras_sigmas": True, "prediction_type": "v_prediction"}, "steps": 12},
    {"name": "trailing, 1 step", "config": {**SD, "timestep_spacing": "trailing"}, "steps": 1},
    {"name": "sample prediction, 3 steps", "config": {**SD, "prediction_type": "sample"}, "steps": 3},
]

HEUN_CASES = [
    {"name": "the tiny SD scheduler_config.json (leading, steps_offset 1), 5 steps", "file": SD_PNDM_FILE, "steps": 5},
    {"name": "class defaults (linspace), 10 steps", "config": {}, "steps": 10},
    {"name": "Karras sigmas, v_prediction, 6 steps", "config": {**SD, "use_karras_sigmas": True, "prediction_type": "v_prediction"}, "steps": 6},
    {"name": "trailing, 1 step", "config": {**SD, "timestep_spacing": "trailing"}, "steps": 1},
    {"name": "sample prediction, clip_sample, exp betas, 4 steps", "config": {"beta_schedule": "exp", "prediction_type": "sample", "clip_sample": True}, "steps": 4},
]

LCM_CASES = [
    {"name": "class defaults, 4 steps", "config": {}, "steps": 4, "seed": 0},
    {"name": "1 step", "config": {}, "steps": 1, "seed": 1},
    {"name": "v_prediction, original_inference_steps 100, 8 steps", "config": {"prediction_type": "v_prediction", "original_inference_steps": 100}, "steps": 8, "seed": 99},
    {"name": "50 steps of 50", "config": {}, "steps": 50, "seed": 2024},
    {"name": "sample prediction, set_alpha_to_one false, timestep_scaling 5, clip_sample, 6 steps", "config": {"prediction_type": "sample", "set_alpha_to_one": False, "timestep_scaling": 5.0, "clip_sample": True}, "steps": 6, "seed": 31337},
    {"name": "built from the tiny SD scheduler_config.json, 3 steps", "file": SD_PNDM_FILE, "steps": 3, "seed": 77},
]

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    betas_file()
    write("pndm", diffusers.PNDMScheduler, PNDM_CASES, {"skip_prk_steps": True})
    write("pndm-prk", diffusers.PNDMScheduler, [], {"skip_prk_steps": False}, [n for n in GRID_STEPS if n >= 4])
    write("ddim", diffusers.DDIMScheduler, DDIM_CASES)
    write("euler", diffusers.EulerDiscreteScheduler, EULER_CASES)
    write("euler-karras", diffusers.EulerDiscreteScheduler, [], {"use_karras_sigmas": True})
    write("euler-ancestral", diffusers.EulerAncestralDiscreteScheduler, EULER_A_CASES)
    write("dpm-solver-multistep", diffusers.DPMSolverMultistepScheduler, DPM_CASES)
    write("dpm-solver-multistep-karras", diffusers.DPMSolverMultistepScheduler, [], {"use_karras_sigmas": True})
    write("lms", diffusers.LMSDiscreteScheduler, LMS_CASES)
    write("heun", diffusers.HeunDiscreteScheduler, HEUN_CASES)
    write("lcm", diffusers.LCMScheduler, LCM_CASES, {}, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 25, 33, 49, 50], [("leading", 0)])

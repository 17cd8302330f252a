"""Reference values for image-to-image in the LCM, SDXL and SD3 families (lib/diffusion/img2img.ts,
lib/schedulers/lcm.ts, lib/schedulers/flow-match-euler-discrete.ts): what diffusers v0.29.2 computes.

Run from the repo root (writes test/fixtures/img2img/families.json):
    REFSRC=/work/refsrc REF_DIFFUSERS=diffusers-v0.29.2 REF_HF_HUB=huggingface_hub-v0.29.3 \
        /usr/bin/python3 test/reference/img2img_families.py

- "timesteps": per family, step count and strength, the timesteps the img2img pipeline runs and the
  starting noise level, from the scheduler configs the project's builder writes:
  - lcm: LatentConsistencyModelImg2ImgPipeline hands strength to LCMScheduler.set_timesteps
    (through retrieve_timesteps); "signal"/"noise" are add_noise(1, 0, t0) and add_noise(0, 1, t0).
  - sdxl: StableDiffusionXLImg2ImgPipeline.get_timesteps (denoising_start None) over SDXL's Euler.
  - sd3: StableDiffusion3Img2ImgPipeline.get_timesteps (which sets the begin index) over
    FlowMatchEulerDiscreteScheduler(shift 3); "sigma" is sigmas[begin index], "signal"/"noise" are
    scale_noise(1, t0, 0) and scale_noise(0, t0, 1).
  A case whose schedule diffusers refuses (LCM: original_steps x strength below the step count) has
  "error": true and no timesteps.
- "latents": each pipeline's prepare_latents with a stand-in VAE whose encoder returns fixed
  `latent_parameters` (integer formulas repeated in the TypeScript test), a seeded generator and two
  images per prompt: the draw order (the latent sample, then the noise) and the arithmetic
  (scaling_factor, SD3's shift_factor, add_noise / scale_noise).

Float32 arrays are stored as base64 of little-endian float32 bytes.
"""
import os
import types

from img2img_common import StandInVae, b64, latent_parameters, pipe_with, torch, write_json
import diffusers  # noqa: E402
from diffusers import (  # noqa: E402
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    LatentConsistencyModelImg2ImgPipeline,
    LCMScheduler,
    StableDiffusion3Img2ImgPipeline,
    StableDiffusionXLImg2ImgPipeline,
)
from diffusers.pipelines.latent_consistency_models.pipeline_latent_consistency_img2img import retrieve_timesteps  # noqa: E402

OUT = os.path.join("test", "fixtures", "img2img", "families.json")
# The configs lib/onnx/builder writes (pipeline-kinds.ts, sdxl/model-folder.ts, sd3/model-folder.ts).
LCM_CONFIG = {
    "_class_name": "LCMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
    "clip_sample": False, "clip_sample_range": 1.0, "num_train_timesteps": 1000, "original_inference_steps": 50,
    "prediction_type": "epsilon", "rescale_betas_zero_snr": False, "set_alpha_to_one": True, "steps_offset": 1,
    "thresholding": False, "timestep_scaling": 10.0, "timestep_spacing": "leading", "trained_betas": None,
}
SDXL_CONFIG = {
    "_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
    "clip_sample": False, "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
    "sample_max_value": 1.0, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
    "timestep_spacing": "leading", "trained_betas": None, "use_karras_sigmas": False,
}
SD3_CONFIG = {"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": 3.0}
STRENGTHS = [0.05, 0.3, 0.5, 0.6, 0.75, 0.8, 1.0]


ONE = torch.ones(1, 1, 1, 1)
ZERO = torch.zeros(1, 1, 1, 1)


def lcm_cases():
    cases = []
    for steps in [1, 2, 4, 8]:
        for strength in STRENGTHS:
            s = LCMScheduler.from_config(LCM_CONFIG)
            case = {"steps": steps, "strength": strength}
            try:
                timesteps, n = retrieve_timesteps(s, steps, "cpu", None, strength=strength)
            except ValueError:
                case["error"] = True
                cases.append(case)
                continue
            t0 = timesteps[:1]
            case.update({"num_steps": int(n), "timesteps": [int(t) for t in timesteps],
                         "signal": float(s.add_noise(ONE, ZERO, t0).flatten()[0]),
                         "noise": float(s.add_noise(ZERO, ONE, t0).flatten()[0])})
            cases.append(case)
    return cases


def sdxl_cases():
    cases = []
    for steps in [4, 10, 25, 50]:
        for strength in STRENGTHS:
            s = EulerDiscreteScheduler.from_config(SDXL_CONFIG)
            s.set_timesteps(steps)
            timesteps, n = StableDiffusionXLImg2ImgPipeline.get_timesteps(pipe_with(s), steps, strength, "cpu")
            case = {"steps": steps, "strength": strength, "num_steps": int(n), "timesteps": [float(t) for t in timesteps]}
            if len(timesteps) > 0:
                t0 = timesteps[:1]
                case["signal"] = float(s.add_noise(ONE, ZERO, t0).flatten()[0])
                case["noise"] = float(s.add_noise(ZERO, ONE, t0).flatten()[0])
            cases.append(case)
    return cases


def sd3_scheduler(steps):
    s = FlowMatchEulerDiscreteScheduler.from_config(SD3_CONFIG)
    s.set_timesteps(steps)
    return s


def sd3_cases():
    cases = []
    for steps in [4, 10, 28]:
        for strength in STRENGTHS:
            s = sd3_scheduler(steps)
            timesteps, n = StableDiffusion3Img2ImgPipeline.get_timesteps(pipe_with(s), steps, strength, "cpu")
            case = {"steps": steps, "strength": strength, "num_steps": int(n), "timesteps": [float(t) for t in timesteps]}
            if len(timesteps) > 0:
                t0 = timesteps[:1]
                case["sigma"] = float(s.sigmas[s.begin_index])
                # scale_noise keeps the step index it sets: one scheduler per call
                a = sd3_scheduler(steps)
                StableDiffusion3Img2ImgPipeline.get_timesteps(pipe_with(a), steps, strength, "cpu")
                case["signal"] = float(a.scale_noise(ONE, t0, ZERO).flatten()[0])
                b = sd3_scheduler(steps)
                StableDiffusion3Img2ImgPipeline.get_timesteps(pipe_with(b), steps, strength, "cpu")
                case["noise"] = float(b.scale_noise(ZERO, t0, ONE).flatten()[0])
            cases.append(case)
    return cases


def latent_cases():
    cases = []
    image = torch.zeros(1, 3, 24, 40)  # only its channel count is read: the VAE is a stand-in
    per_prompt, seed = 2, 42

    def run(family, scheduler, timesteps, vae, prepare, shape, **extra):
        latent_timestep = timesteps[:1].repeat(per_prompt)
        generator = torch.Generator().manual_seed(seed)
        self = types.SimpleNamespace(scheduler=scheduler, vae=vae, device=torch.device("cpu"))
        latents = prepare(self, image, latent_timestep, 1, per_prompt, torch.float32, torch.device("cpu"), generator, **extra)
        cases.append({"family": family, "steps": steps, "strength": strength, "seed": seed, "images_per_prompt": per_prompt,
                      "latent_shape": shape, "latents_shape": list(latents.shape), "latents": b64(latents)})

    shape4, shape16 = [1, 4, 3, 5], [1, 16, 3, 5]
    steps, strength = 4, 0.6
    s = LCMScheduler.from_config(LCM_CONFIG)
    timesteps, _ = retrieve_timesteps(s, steps, "cpu", None, strength=strength)
    run("lcm", s, timesteps, StandInVae(latent_parameters(shape4), scaling_factor=0.18215),
        LatentConsistencyModelImg2ImgPipeline.prepare_latents, shape4)

    steps, strength = 10, 0.3
    s = EulerDiscreteScheduler.from_config(SDXL_CONFIG)
    s.set_timesteps(steps)
    timesteps, _ = StableDiffusionXLImg2ImgPipeline.get_timesteps(pipe_with(s), steps, strength, "cpu")
    run("sdxl", s, timesteps, StandInVae(latent_parameters(shape4), scaling_factor=0.13025),
        StableDiffusionXLImg2ImgPipeline.prepare_latents, shape4)

    steps, strength = 10, 0.6
    s = sd3_scheduler(steps)
    timesteps, _ = StableDiffusion3Img2ImgPipeline.get_timesteps(pipe_with(s), steps, strength, "cpu")
    run("sd3", s, timesteps, StandInVae(latent_parameters(shape16), scaling_factor=1.5305, shift_factor=0.0609, latent_channels=16),
        StableDiffusion3Img2ImgPipeline.prepare_latents, shape16)
    return cases


def main():
    data = {"diffusers": diffusers.__version__, "lcm": lcm_cases(), "sdxl": sdxl_cases(), "sd3": sd3_cases(),
            "latents": latent_cases()}
    write_json(OUT, data)
    print(f"wrote {OUT}: {len(data['lcm'])} LCM, {len(data['sdxl'])} SDXL, {len(data['sd3'])} SD3 timestep cases, {len(data['latents'])} latent cases")


main()

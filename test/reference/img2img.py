"""Reference values for image-to-image and LCM guidance (lib/diffusion/img2img.ts, lib/diffusion/stable-diffusion.ts):
what diffusers v0.27.2 computes.

Run from the repo root (writes test/fixtures/img2img/reference.json):
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/img2img.py

- "timesteps": for each scheduler (built from SD's PNDM scheduler_config.json, as the pipeline
  builds it), step count and strength: the timesteps StableDiffusionImg2ImgPipeline.get_timesteps
  keeps, the number of steps it reports, and the scheduler's add_noise coefficients at the first
  kept timestep (add_noise(1, 0, t) and add_noise(0, 1, t): the signal and noise levels).
- "latents": StableDiffusionImg2ImgPipeline.prepare_latents with a stand-in VAE whose encoder
  returns fixed `latent_parameters` (mean and logvar from integer formulas repeated in the
  TypeScript test), a seeded generator and two images per prompt: diffusers' draw order (the
  latent sample first, then the noise) and its arithmetic.
- "guidance_embedding": LatentConsistencyModelPipeline.get_guidance_scale_embedding(w - 1, 256).

Float32 arrays are stored as base64 of little-endian float32 bytes.
"""
import os

from img2img_common import StandInVae, b64, latent_parameters, pipe_with, torch, write_json
import diffusers  # noqa: E402
from diffusers import StableDiffusionImg2ImgPipeline, LatentConsistencyModelPipeline  # noqa: E402

OUT = os.path.join("test", "fixtures", "img2img", "reference.json")
SD_PNDM_FILE = {
    "_class_name": "PNDMScheduler", "_diffusers_version": "0.27.2", "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
    "num_train_timesteps": 1000, "prediction_type": "epsilon", "set_alpha_to_one": False,
    "skip_prk_steps": True, "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": None,
}
# (name the TypeScript side asks for, diffusers class, from_config overrides)
SCHEDULERS = [
    ("PNDMScheduler", "PNDMScheduler", {}),
    ("DDIMScheduler", "DDIMScheduler", {}),
    ("EulerDiscreteScheduler", "EulerDiscreteScheduler", {}),
    ("EulerAncestralDiscreteScheduler", "EulerAncestralDiscreteScheduler", {}),
    ("DPM++ 2M Karras", "DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True}),
    ("LMSDiscreteScheduler", "LMSDiscreteScheduler", {}),
    ("HeunDiscreteScheduler", "HeunDiscreteScheduler", {}),
    ("LCMScheduler", "LCMScheduler", {}),
]
STEPS = [4, 10, 25, 50]
STRENGTHS = [0.05, 0.3, 0.5, 0.75, 0.8, 1.0]


def make_scheduler(cls_name, overrides):
    return getattr(diffusers, cls_name).from_config(SD_PNDM_FILE, **overrides)


def timestep_cases():
    cases = []
    for name, cls_name, overrides in SCHEDULERS:
        for steps in STEPS:
            for strength in STRENGTHS:
                s = make_scheduler(cls_name, overrides)
                s.set_timesteps(steps)
                timesteps, n = StableDiffusionImg2ImgPipeline.get_timesteps(pipe_with(s), steps, strength, "cpu")
                case = {"scheduler": name, "steps": steps, "strength": strength, "num_steps": int(n),
                        "timesteps": [float(t) for t in timesteps]}
                if len(timesteps) > 0:
                    t0 = timesteps[:1]
                    one = torch.ones(1, 1, 1, 1)
                    zero = torch.zeros(1, 1, 1, 1)
                    case["signal"] = float(s.add_noise(one, zero, t0).flatten()[0])
                    case["noise"] = float(s.add_noise(zero, one, t0).flatten()[0])
                cases.append(case)
    return cases


LATENT_SHAPE = [1, 4, 3, 5]


def latent_cases():
    cases = []
    params = latent_parameters(LATENT_SHAPE)
    image = torch.zeros(1, 3, 24, 40)  # only its channel count is read: the VAE is a stand-in
    for name, cls_name, overrides, strength, seed in [
        ("EulerDiscreteScheduler", "EulerDiscreteScheduler", {}, 0.6, 42),
        ("DDIMScheduler", "DDIMScheduler", {}, 0.35, 7),
    ]:
        s = make_scheduler(cls_name, overrides)
        steps = 10
        s.set_timesteps(steps)
        self = pipe_with(s, StandInVae(params, scaling_factor=0.18215))
        timesteps, _ = StableDiffusionImg2ImgPipeline.get_timesteps(self, steps, strength, "cpu")
        batch, per_prompt = 1, 2
        latent_timestep = timesteps[:1].repeat(batch * per_prompt)
        generator = torch.Generator().manual_seed(seed)
        latents = StableDiffusionImg2ImgPipeline.prepare_latents(
            self, image, latent_timestep, batch, per_prompt, torch.float32, torch.device("cpu"), generator)
        cases.append({"scheduler": name, "steps": steps, "strength": strength, "seed": seed,
                      "images_per_prompt": per_prompt, "latent_shape": LATENT_SHAPE,
                      "latents_shape": list(latents.shape), "latents": b64(latents)})
    return cases


def guidance_embedding():
    ws = [8.5, 1.0, 2.0, 0.0, 4.25]
    w = torch.tensor([x - 1 for x in ws])
    emb = LatentConsistencyModelPipeline.get_guidance_scale_embedding(None, w, embedding_dim=256)
    return {"guidance_scales": ws, "embedding_dim": 256, "embedding": b64(emb)}


def main():
    data = {"diffusers": diffusers.__version__, "timesteps": timestep_cases(), "latents": latent_cases(),
            "guidance_embedding": guidance_embedding()}
    write_json(OUT, data)
    print(f"wrote {OUT}: {len(data['timesteps'])} timestep cases")


main()

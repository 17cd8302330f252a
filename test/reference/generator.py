"""Reference values for lib/diffusion/generator.ts: what torch's CPU generator draws.

Run from the repo root (writes test/fixtures/generator/torch-randn.json):
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/generator.py

Each sequence is a list of calls on ONE generator, `torch.Generator().manual_seed(seed)`:
randn/rand of `count` float32 elements. It runs twice: with torch's default kernels (AVX2 on this
machine, as diffusers users get) and, in a child process, with ATEN_CPU_CAPABILITY=default (torch's
scalar kernels), because the two differ in the last bits of the Box-Muller transform.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

torch = refenv.setup(patch_tokenizers=False)

SEEDS = [0, 1, 2**31 - 1, 2**32 + 5, 2**53 - 1, -1, 6_004_799_503_160_661]
SIZES = [1, 5, 15, 16, 17, 31, 100, 1000]
WHOLE_UP_TO = 100  # keep whole arrays up to this size, summaries beyond

SEQUENCES = (
    [{"name": f"seed {s}, randn({n})", "seed": s, "calls": [["randn", n]]} for s in SEEDS for n in SIZES]
    + [
        {"name": "two small randn calls share the cached normal", "seed": 7, "calls": [["randn", 5], ["randn", 3]]},
        {"name": "small, large, small randn calls", "seed": 99, "calls": [["randn", 3], ["randn", 40], ["randn", 1], ["randn", 2]]},
        {"name": "two large randn calls", "seed": 42, "calls": [["randn", 256], ["randn", 1000]]},
        {"name": "rand then randn then rand", "seed": 2024, "calls": [["rand", 10], ["randn", 33], ["rand", 20], ["randn", 7]]},
        {"name": "randn of an SD latent [1,4,64,64]", "seed": 31337, "calls": [["randn", 16384]]},
    ]
)


def summary(t):
    flat = t.flatten()
    out = {"count": flat.numel(), "sum_f64": float(flat.double().sum()), "abs_sum_f64": float(flat.double().abs().sum())}
    if flat.numel() <= WHOLE_UP_TO:
        out["values"] = flat.tolist()
    else:
        out["first16"] = flat[:16].tolist()
        out["last16"] = flat[-16:].tolist()
    return out


def draw():
    results = []
    for seq in SEQUENCES:
        g = torch.Generator().manual_seed(seq["seed"])
        outs = []
        for op, n in seq["calls"]:
            fn = torch.randn if op == "randn" else torch.rand
            outs.append({"op": op, **summary(fn(n, generator=g, dtype=torch.float32))})
        results.append({"name": seq["name"], "seed": seq["seed"], "initial_seed": str(g.initial_seed()), "calls": outs})
    return results


if __name__ == "__main__":
    if os.environ.get("GENERATOR_CHILD") == "1":
        json.dump(draw(), sys.stdout)
        sys.exit(0)
    child_env = dict(os.environ, GENERATOR_CHILD="1", ATEN_CPU_CAPABILITY="default")
    scalar = json.loads(subprocess.run([sys.executable, __file__], env=child_env, check=True,
                                       capture_output=True, text=True).stdout)
    default = draw()
    for d, s in zip(default, scalar):
        for cd, cs in zip(d["calls"], s["calls"]):
            cd["scalar"] = {k: v for k, v in cs.items() if k != "op"}
    doc = {
        "about": "torch.randn / torch.rand on torch.Generator().manual_seed(seed), CPU float32, calls in order on one "
                 "generator. Top-level values: torch's default kernels (AVX2 here); `scalar`: ATEN_CPU_CAPABILITY=default.",
        "script": "test/reference/generator.py",
        "torch": torch.__version__ + " (Debian python3-torch, CPU), capability " + torch.backends.cpu.get_cpu_capability()
                 if hasattr(torch.backends, "cpu") else torch.__version__,
        "sequences": default,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "generator", "torch-randn.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))

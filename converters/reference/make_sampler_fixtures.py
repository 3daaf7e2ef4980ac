"""UniPC sampler fixtures: the original Wan solver on a toy model-output function.

Writes Tests/Fixtures/samplers/wan_unipc.safetensors: for each case (shift, steps), the solver's sigmas and
integer timesteps, the initial sample, and per step i the sample fed to `step`, the velocity fed, and the
returned sample. The Swift test feeds the same velocities, so it tests the solver alone.

The solver is the original `FlowUniPCMultistepScheduler` of Wan2.1 (wan/utils/fm_solvers_unipc.py), built as
`wan/text2video.py` and `wan/vace.py` build it (num_train_timesteps 1000, shift 1, use_dynamic_shifting False,
then set_timesteps(steps, shift=s)). It is imported by path from a copy outside this repository:

    git -C <Wan2.1 clone> show HEAD:wan/utils/fm_solvers_unipc.py > /tmp/fm_solvers_unipc.py
    python converters/reference/make_sampler_fixtures.py --solver /tmp/fm_solvers_unipc.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "samplers")
CASES = [(16.0, 12), (5.0, 4), (3.0, 1), (16.0, 50)]
EULER_CASES = [(3.0, 4), (16.0, 50), (5.0, 1), (1.0, 7)]
SHAPE = (1, 16, 2, 2, 4)  # 256 values


def load_solver(path: str):
    spec = importlib.util.spec_from_file_location("wan_fm_solvers_unipc", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FlowUniPCMultistepScheduler


def toy_velocity(x: torch.Tensor, sigma: float, direction: torch.Tensor) -> torch.Tensor:
    """A smooth, sample-dependent stand-in for the transformer: v = 1.1·tanh(x) + σ·d − 0.2·x²·sin(x)."""
    return 1.1 * torch.tanh(x) + sigma * direction - 0.2 * x * x * torch.sin(x)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--solver", required=True, help="path to a copy of Wan2.1 wan/utils/fm_solvers_unipc.py")
    args = parser.parse_args()
    Solver = load_solver(args.solver)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    out: dict[str, torch.Tensor] = {}
    for shift, steps in CASES:
        name = f"shift{int(shift)}_steps{steps}"
        solver = Solver(num_train_timesteps=1000, shift=1, use_dynamic_shifting=False)
        solver.set_timesteps(steps, device="cpu", shift=shift)
        x = torch.randn(SHAPE, generator=g)
        direction = torch.randn(SHAPE, generator=g)
        out[f"{name}.sigmas"] = solver.sigmas.clone().float()
        out[f"{name}.timesteps"] = solver.timesteps.clone().double()
        out[f"{name}.initial"] = x.clone()
        for i, t in enumerate(solver.timesteps):
            v = toy_velocity(x, float(solver.sigmas[i]), direction)
            out[f"{name}.step{i}.sample"] = x.clone()
            out[f"{name}.step{i}.velocity"] = v.clone()
            x = solver.step(v, t, x, return_dict=False)[0]
            out[f"{name}.step{i}.next"] = x.clone()
    # diffusers' FlowMatchEulerDiscreteScheduler grid (what --sampler euler reproduces).
    from diffusers import FlowMatchEulerDiscreteScheduler
    for shift, steps in EULER_CASES:
        name = f"euler_shift{int(shift)}_steps{steps}"
        euler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
        euler.set_timesteps(steps)
        out[f"{name}.sigmas"] = euler.sigmas.clone().float()
        out[f"{name}.timesteps"] = euler.timesteps.clone().float()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "wan_unipc.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, path)
    notes = {
        "what": "Original Wan2.1 FlowUniPCMultistepScheduler (wan/utils/fm_solvers_unipc.py), shift 1 at "
                "construction then set_timesteps(steps, shift=s), stepped with toy velocities "
                "v = 1.1*tanh(x) + sigma*d - 0.2*x^2*sin(x) (d a fixed N(0,1) tensor), float32 CPU.",
        "cases": [f"shift{int(s)}_steps{n}" for s, n in CASES],
        "euler_cases": "euler_shift{s}_steps{n}.sigmas [N+1] / .timesteps [N] (f32): diffusers 0.42.1 "
                       "FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=s).set_timesteps(n), for "
                       + ", ".join(f"(s={int(s)}, n={n})" for s, n in EULER_CASES) + ".",
        "tensors": "<case>.sigmas [N+1] f32 (last 0), <case>.timesteps [N] (integers, stored f64), "
                   "<case>.initial, <case>.step{i}.sample / .velocity / .next (the sample given to step i, the "
                   "velocity given, the sample returned), shape " + str(list(SHAPE)) + ".",
    }
    with open(os.path.join(OUT, "README.json"), "w") as f:
        json.dump(notes, f, indent=2)
        f.write("\n")
    print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()

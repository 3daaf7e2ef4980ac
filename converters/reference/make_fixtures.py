#!/usr/bin/env python3
"""Make the reference fixtures under Tests/Fixtures/ with diffusers, in float32 on the CPU.

Usage (from the repository root):
    python converters/reference/make_fixtures.py

Builds tiny random Wan2.1-VACE and LTX-Video 0.9 models with the diffusers classes, re-randomises every
parameter, saves each model in the ORIGINAL (official) key layout and in the diffusers layout, and records
inputs and outputs of: the Wan VACE transformer, the Wan VAE, a 4-step WanVACEPipeline run, the LTX
transformer and the LTX VAE. Tests/Fixtures/manifest.json lists every file, its tensors and notes per case.

Reruns are byte-identical (fixed seeds, one thread, deterministic writers); see README.md.
"""

from __future__ import annotations

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Everything is local: never let huggingface_hub reach for the network (from_single_file checks below).
os.environ["HF_HUB_OFFLINE"] = "1"

import diffusers  # noqa: E402
import numpy  # noqa: E402
import safetensors  # noqa: E402
import torch  # noqa: E402

import common  # noqa: E402
import ltx  # noqa: E402
import wan  # noqa: E402

SEED = 20250601
OWNED = ("wan_vace", "wan_vae", "ltx", "reference", "manifest.json")  # under Tests/Fixtures


def verify_single_file_loading() -> None:
    """Second, independent proof of the official layouts: diffusers' own `from_single_file` loader (key
    detection, prefix stripping, .pth reading, converters) must turn each official file into exactly the
    weights of the diffusers-layout copy."""
    from diffusers import (AutoencoderKLLTXVideo, AutoencoderKLWan, LTXVideoTransformer3DModel,
                           WanVACETransformer3DModel)

    F = common.FIXTURES
    cases = [
        (WanVACETransformer3DModel, "wan_vace/official/diffusion_pytorch_model.safetensors", "wan_vace/diffusers",
         "transformer"),
        (AutoencoderKLWan, "wan_vae/official/Wan2.1_VAE.pth", "wan_vae/diffusers", "vae"),
        (AutoencoderKLWan, "wan_vae/official/Wan2.1_VAE.safetensors", "wan_vae/diffusers", "vae"),
        (LTXVideoTransformer3DModel, f"ltx/official/{ltx.SINGLE_FILE}", "ltx/diffusers", "transformer"),
        (AutoencoderKLLTXVideo, f"ltx/official/{ltx.SINGLE_FILE}", "ltx/diffusers", "vae"),
    ]
    for cls, official, repo, sub in cases:
        model = cls.from_single_file(os.path.join(F, official), config=os.path.join(F, repo), subfolder=sub,
                                     local_files_only=True)
        ref = common.load_safetensors(os.path.join(F, repo, sub, "diffusion_pytorch_model.safetensors"))
        sd = model.state_dict()
        assert set(sd) == set(ref), f"{official}: key sets differ"
        assert all(torch.equal(sd[k], ref[k]) for k in ref), f"{official}: values differ"


def main() -> None:
    common.setup_determinism()
    # Remove what this script owns (and only that) so that no stale file survives a change of layout.
    for owned in OWNED:
        path = os.path.join(common.FIXTURES, owned)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    os.makedirs(common.FIXTURES, exist_ok=True)

    man = common.Manifest(SEED)
    man.notes["environment"] = {
        "torch": torch.__version__, "diffusers": diffusers.__version__, "safetensors": safetensors.__version__,
        "numpy": numpy.__version__, "dtype": "float32", "device": "cpu", "threads": 1,
    }
    man.notes["conventions"] = (
        "Tensors in reference files are float32 in diffusers' calling conventions: Wan latents [B,C,F,H,W]; "
        "LTX transformer tokens [B,N,C]; videos [B,3,T,H,W] in [-1,1] unless said otherwise. 'layout' is given "
        "for weights/configs only (official = original release key names, diffusers = diffusers names). "
        "'bytes' is the file size."
    )
    wan.run(SEED, man)
    ltx.run(SEED, man)
    verify_single_file_loading()
    path = man.write()
    print(f"wrote {len(man.files)} files + {os.path.relpath(path, common.REPO_ROOT)}")


if __name__ == "__main__":
    main()

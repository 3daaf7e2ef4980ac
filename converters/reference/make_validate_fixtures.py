"""Layer-by-layer dumps for the `vacekit validate` tests (Tests/Fixtures/validate), made by dump_reference.py
from the tiny random fixture models of the other generators, on inputs written here in `vacekit forward` /
`vae` / `encode-text` naming.

    nice /work/venv-ref/bin/python converters/reference/make_validate_fixtures.py [--only NAME ...] \
        [--ltx-video /work/scratch/LTX-Video --vace /work/scratch/VACE]   # the VACE-LTX dump needs both checkouts

Each dump is `dump_reference.py CHECKPOINT --inputs IN --output DUMP`; the inputs are kept beside it
(`<name>_inputs.safetensors` in a temporary folder, not committed: the dump holds them again).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dump_reference  # noqa: E402
from common import FIXTURES, generator  # noqa: E402

OUT = os.path.join(FIXTURES, "validate")
SEED = 20261203


def ltx_inputs(g, batch: int, vace: bool) -> dict[str, torch.Tensor]:
    f, h, w, length = 2, 3, 4, 8  # latent grid (H != W), caption tokens
    out = {"latents": torch.randn(batch, 128, f, h, w, generator=g),
           "timestep": torch.tensor([625.0, 375.0][:batch]),
           "context": torch.randn(batch, length, 48, generator=g),  # padded rows random, not 0
           "context_mask": torch.zeros(batch, length), "frame_rate": torch.tensor([26.47])}
    out["context_mask"][:, :5] = 1
    if vace:
        out["vace_context"] = torch.randn(1, 384, f, h, w, generator=g)
        out["vace_scale"] = torch.tensor([0.5])
        out["stg_skip_layers"] = torch.tensor([2], dtype=torch.int32)  # a layer with a context block, last row
    return out


def video(g, t: int, h: int, w: int) -> dict[str, torch.Tensor]:
    return {"video": torch.rand(1, 3, t, h, w, generator=g) * 2 - 1}


def latent(g, shape, **extra) -> dict[str, torch.Tensor]:
    return {"latent": torch.randn(*shape, generator=g), **{k: torch.tensor(v) for k, v in extra.items()}}


def tokens(g, vocab: int, length: int = 12) -> dict[str, torch.Tensor]:
    mask = torch.ones(2, length, dtype=torch.int64)
    mask[1, 7:] = 0  # the second prompt is shorter: its padding is masked
    ids = torch.randint(2, vocab, (2, length), generator=g) * mask
    return {"input_ids": ids, "attention_mask": mask}


def cases(args):
    """name: (checkpoint, inputs maker, extra flags)."""
    return {
        "ltx": ("ltx/official/ltx-video-2b-v0.9-tiny.safetensors", lambda g: ltx_inputs(g, 1, vace=False), []),
        "vace_ltx": ("ltx_vace/vace-ltx-video-0.9-tiny.safetensors", lambda g: ltx_inputs(g, 2, vace=True),
                     ["--ltx-video", args.ltx_video or "", "--vace", args.vace or ""]),
        "wan_vae_encode": ("wan_vae/official/Wan2.1_VAE.pth", lambda g: video(g, 5, 16, 24), []),
        "wan_vae_decode": ("wan_vae/official/Wan2.1_VAE.pth", lambda g: latent(g, (1, 16, 2, 2, 3)), []),
        "ltx_vae_encode": ("ltx/diffusers/vae", lambda g: video(g, 9, 32, 64), []),
        "ltx_vae_decode": ("ltx/diffusers/vae", lambda g: latent(g, (1, 128, 2, 1, 2)), []),
        "ltx_vae_095_encode": ("ltx_vae/0.9.5/diffusers/vae", lambda g: video(g, 9, 32, 64), []),
        "ltx_vae_095_decode": ("ltx_vae/0.9.5/diffusers/vae", lambda g: latent(g, (1, 16, 2, 1, 2), decode_timestep=[0.05]), []),
        # The official layouts through LTX-Video's own code (0.9 from the transformer's single file; 0.9.1 encoder).
        "ltx_vae_official_decode": ("ltx/official/ltx-video-2b-v0.9-tiny.safetensors", lambda g: latent(g, (1, 128, 2, 1, 2)),
                                    ["--family", "ltx-vae", "--ltx-video", args.ltx_video or ""]),
        "ltx_vae_091_encode": ("ltx_vae/0.9.1/official/ltx-video-vae-0.9.1-tiny.safetensors", lambda g: video(g, 9, 32, 64), ["--ltx-video", args.ltx_video or ""]),
        "t5": ("text/t5_hf", lambda g: tokens(g, 256), []),
        "umt5": ("text/umt5_hf", lambda g: tokens(g, 384), []),
        "umt5_wan": ("text/umt5_wan.pth", lambda g: tokens(g, 384), []),  # Wan2.1's own layout
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="dump names to make (default: all)")
    ap.add_argument("--ltx-video", default=os.environ.get("VACEKIT_LTX_VIDEO"))
    ap.add_argument("--vace", default=os.environ.get("VACEKIT_VACE"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, (checkpoint, make, flags)) in enumerate(cases(args).items()):
            if args.only and name not in args.only:
                continue
            inputs = os.path.join(tmp, f"{name}_inputs.safetensors")
            save_file({key: v.contiguous() for key, v in make(generator(SEED + k)).items()}, inputs)
            rc = dump_reference.main([os.path.join(FIXTURES, checkpoint), "--inputs", inputs,
                                      "--output", os.path.join(OUT, f"{name}_dump.safetensors")] + flags)
            if rc != 0:
                sys.exit(rc)


if __name__ == "__main__":
    main()

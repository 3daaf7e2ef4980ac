"""The layer-by-layer dumps of the tiny LTX-Video 0.9.1 VAE decoder (Tests/Fixtures/ltx_vae_noise), made by
dump_reference.py from both layouts of one checkpoint: the official single file through LTX-Video's own code (a
checkout at tag ltx-video-0.9.1, --ltx-video or $VACEKIT_LTX_VIDEO) and the diffusers folder through diffusers'
AutoencoderKLLTXVideo. The decoder injects noise inside its resnets; dump_reference.py fixes those draws (maps
seeded by their official names, so both layouts draw the same ones) and writes them into the dump as
decoder_noise.<path>, which `vacekit validate` replays. The two dumps must agree with each other: a check of
the layout mapping and of the noise fixing on the diffusers side.

    python make_ltx091_decoder_dump.py --ltx-video /path/to/LTX-Video
"""
import argparse
import os
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dump_reference  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "Fixtures")
CHECKPOINT = os.path.join(FIXTURES, "ltx_vae", "0.9.1", "official", "ltx-video-vae-0.9.1-tiny.safetensors")
DIFFUSERS = os.path.join(FIXTURES, "ltx_vae", "0.9.1", "diffusers", "vae")
OUT = os.path.join(FIXTURES, "ltx_vae_noise")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ltx-video", default=os.environ.get("VACEKIT_LTX_VIDEO"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(91)
    # 2 latent frames of 1 × 2 latent pixels (9 frames of 32 × 64 pixels), one decode timestep.
    inputs = {"latent": torch.randn(1, 16, 2, 1, 2, generator=g), "decode_timestep": torch.tensor([0.05])}
    official = os.path.join(OUT, "ltx_vae_091_decode_dump.safetensors")
    diffusers = os.path.join(OUT, "ltx_vae_091_diffusers_decode_dump.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "inputs.safetensors")
        save_file(inputs, path)
        for checkpoint, out, extra in ((CHECKPOINT, official, ["--ltx-video", args.ltx_video or ""]), (DIFFUSERS, diffusers, [])):
            if dump_reference.main([checkpoint, "--inputs", path, "--output", out] + extra) != 0:
                return 1
    a, b = load_file(official), load_file(diffusers)
    if sorted(a) != sorted(b):
        print(f"the two layouts dumped different tensors: {sorted(set(a) ^ set(b))}", file=sys.stderr)
        return 1
    worst = max(float((a[k] - b[k]).norm() / a[k].norm().clamp_min(1e-30)) for k in a)
    print(f"official vs diffusers layout: worst relative L2 over {len(a)} tensors {worst:.1e}")
    return 0 if worst < 1e-5 else 1

if __name__ == "__main__":
    sys.exit(main())

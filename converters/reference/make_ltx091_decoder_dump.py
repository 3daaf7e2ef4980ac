"""The layer-by-layer dump of the tiny LTX-Video 0.9.1 VAE decoder (Tests/Fixtures/ltx_vae_noise), made by
dump_reference.py through LTX-Video's own code (a checkout at tag ltx-video-0.9.1, --ltx-video or
$VACEKIT_LTX_VIDEO). The decoder injects noise inside its resnets; dump_reference.py fixes those draws and
writes them into the dump as decoder_noise.<path>, which `vacekit validate` replays.

    python make_ltx091_decoder_dump.py --ltx-video /path/to/LTX-Video
"""
import argparse
import os
import sys
import tempfile

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dump_reference  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "Fixtures")
CHECKPOINT = os.path.join(FIXTURES, "ltx_vae", "0.9.1", "official", "ltx-video-vae-0.9.1-tiny.safetensors")
OUT = os.path.join(FIXTURES, "ltx_vae_noise")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ltx-video", default=os.environ.get("VACEKIT_LTX_VIDEO"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(91)
    # 2 latent frames of 1 × 2 latent pixels (9 frames of 32 × 64 pixels), one decode timestep.
    inputs = {"latent": torch.randn(1, 16, 2, 1, 2, generator=g), "decode_timestep": torch.tensor([0.05])}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "inputs.safetensors")
        save_file(inputs, path)
        return dump_reference.main([CHECKPOINT, "--inputs", path, "--output", os.path.join(OUT, "ltx_vae_091_decode_dump.safetensors"),
                                    "--ltx-video", args.ltx_video or ""])


if __name__ == "__main__":
    sys.exit(main())

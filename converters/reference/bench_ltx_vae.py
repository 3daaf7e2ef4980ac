"""LTX-Video VAE decode at real widths, PyTorch side of scripts/bench-ltx-vae (BENCHMARKS.md).

  make DIR      a random-weight 0.9 VAE with the released config, diffusers layout (DIR/vae/), bf16 on disk
  decode DIR    time AutoencoderKLLTXVideo.decode (CPU; float32, or --dtype bfloat16, PyTorch's fastest dtype on
                CPUs with AVX512_BF16) of a random latent; one JSON line per case (untiled, tiled), each case in
                its own process so that its peak RSS is its own
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch

# The released 0.9 VAE (diffusers/LTX-Video-0.9.0 vae config).
V09 = dict(in_channels=3, out_channels=3, latent_channels=128, block_out_channels=(128, 256, 512, 512),
           decoder_block_out_channels=(128, 256, 512, 512), layers_per_block=(4, 3, 3, 3, 4),
           decoder_layers_per_block=(4, 3, 3, 3, 4), spatio_temporal_scaling=(True, True, True, False),
           decoder_spatio_temporal_scaling=(True, True, True, False), decoder_inject_noise=(False,) * 5,
           upsample_residual=(False,) * 4, upsample_factor=(1,) * 4, timestep_conditioning=False, patch_size=4,
           patch_size_t=1, resnet_norm_eps=1e-6, scaling_factor=1.0, encoder_causal=True, decoder_causal=False)


def make(out):
    from diffusers import AutoencoderKLLTXVideo
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(**V09).eval()
    with torch.no_grad():
        vae.latents_std.fill_(1.0)
    vae.to(torch.bfloat16).save_pretrained(os.path.join(out, "vae"), safe_serialization=True)
    print(json.dumps({"parameters": sum(p.numel() for p in vae.parameters()), "path": os.path.join(out, "vae")}))


def decode_one(path, latent, threads, tiled, runs, dtype="float32"):
    from diffusers import AutoencoderKLLTXVideo
    torch.set_num_threads(threads)
    vae = AutoencoderKLLTXVideo.from_pretrained(path, torch_dtype=getattr(torch, dtype)).eval()
    if tiled:
        vae.enable_tiling()
    g = torch.Generator().manual_seed(42)
    z = torch.randn(1, 128, *latent, generator=g).to(getattr(torch, dtype))
    times = []
    with torch.no_grad():
        for _ in range(runs):
            start = time.perf_counter()
            out = vae.decode(z, return_dict=False)[0]
            times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"impl": "diffusers AutoencoderKLLTXVideo", "dtype": dtype, "tiling": tiled, "threads": threads,
                      "latent": latent, "output": list(out.shape), "seconds": min(times), "runs": runs,
                      "peak_rss_bytes": peak, "torch": torch.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["make", "decode", "one"])
    ap.add_argument("dir")
    ap.add_argument("--latent", nargs=3, type=int, default=[2, 16, 24])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--tiled", action="store_true")
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    a = ap.parse_args()
    if a.what == "make":
        make(a.dir)
    elif a.what == "one":
        decode_one(os.path.join(a.dir, "vae"), a.latent, a.threads, a.tiled, a.runs, a.dtype)
    else:
        for tiled in (False, True):
            cmd = [sys.executable, __file__, "one", a.dir, "--latent", *map(str, a.latent), "--threads", str(a.threads),
                   "--runs", str(a.runs), "--dtype", a.dtype] + (["--tiled"] if tiled else [])
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch + diffusers side of BENCHMARKS.md: one WanVACETransformer3DModel forward at the real
Wan2.1-VACE-1.3B dimensions (random weights), in float32 and bfloat16, on the same inputs shapes as
`vacekit bench wan` (latent 16×3×60×104 = 1170 tokens, 512 text tokens).

Each dtype runs in its own process so that its peak RSS is its own. Prints one JSON line per dtype.

    python converters/reference/bench_torch.py wan [--threads 2] [--dtypes float32 bfloat16]
"""
import argparse
import json
import resource
import subprocess
import sys
import time


def run_wan(dtype_name, threads, latent):
    import torch
    from diffusers import WanVACETransformer3DModel

    torch.set_num_threads(threads)
    dtype = getattr(torch, dtype_name)
    torch.manual_seed(0)
    model = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
        text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        eps=1e-6, vace_layers=list(range(0, 30, 2)), vace_in_channels=96,
    ).to(dtype).eval()
    f, h, w = latent
    g = torch.Generator().manual_seed(42)
    latents = torch.randn(1, 16, f, h, w, generator=g).to(dtype)
    text = (torch.randn(1, 512, 4096, generator=g) * 0.1).to(dtype)
    vace = torch.randn(1, 96, f, h, w, generator=g).to(dtype)
    t = torch.tensor([500.0])
    with torch.inference_mode():
        model(latents, t, text, control_hidden_states=vace)  # warm-up
        start = time.perf_counter()
        model(latents, t, text, control_hidden_states=vace)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"impl": "diffusers", "dtype": dtype_name, "threads": threads, "tokens": f * h * w // 4,
                      "seconds": seconds, "peak_rss_bytes": peak, "torch": torch.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["wan"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    ap.add_argument("--latent", nargs=3, type=int, default=[3, 60, 104])
    ap.add_argument("--single", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.single:
        run_wan(args.single, args.threads, args.latent)
        return
    for dtype in args.dtypes:
        subprocess.run([sys.executable, __file__, args.what, "--threads", str(args.threads), "--single", dtype,
                        "--latent", *map(str, args.latent)], check=True)


if __name__ == "__main__":
    main()

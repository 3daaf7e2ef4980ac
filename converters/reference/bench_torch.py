#!/usr/bin/env python3
"""PyTorch + diffusers side of BENCHMARKS.md: one WanVACETransformer3DModel forward at the real
Wan2.1-VACE-1.3B dimensions (random weights), in float32 and bfloat16, on the same inputs shapes as
`vacekit bench wan` (latent 16×3×30×52 = 1170 tokens, 512 text tokens).

Each dtype runs in its own process so that its peak RSS is its own. Prints one JSON line per dtype.

    python converters/reference/bench_torch.py wan [--threads 2] [--dtypes float32 bfloat16]
"""
import argparse
import json
import resource
import subprocess
import sys
import time


def run_wan(dtype_name, threads, latent, warmup=True):
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
        if warmup:
            model(latents, t, text, control_hidden_states=vace)
        start = time.perf_counter()
        model(latents, t, text, control_hidden_states=vace)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"impl": "diffusers", "dtype": dtype_name, "threads": threads, "tokens": f * h * w // 4,
                      "seconds": seconds, "warmup": warmup, "peak_rss_bytes": peak, "torch": torch.__version__}), flush=True)


def run_ops(threads, runs):
    """Attention (SDPA) and the VAE conv3d of `vacekit bench ops`, same shapes, f32."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(7)

    def best(fn):
        fn()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    rows = []
    with torch.inference_mode():
        for tokens in (1170, 4680):
            q = torch.randn(1, 12, tokens, 128, generator=g)
            s = best(lambda: F.scaled_dot_product_attention(q, q, q))
            rows.append({"op": "attention", "shape": f"{tokens} tokens, 12×128", "dtype": "f32", "seconds": s,
                         "gflops": 4.0 * tokens * tokens * 12 * 128 / s / 1e9})
        c, t, h, w = 192, 4, 120, 208
        x = torch.randn(1, c, t, h, w, generator=g)
        weight = torch.randn(c, c, 3, 3, 3, generator=g) * 0.02
        # Causal: two frames of zeros in front, none behind (Wan's CausalConv3d).
        s = best(lambda: F.conv3d(F.pad(x, (1, 1, 1, 1, 2, 0)), weight))
        rows.append({"op": "conv3d causal 3×3×3", "shape": f"[1,{c},{t},{h},{w}]→{c}", "dtype": "f32", "seconds": s,
                     "gflops": 2.0 * c * c * 27 * t * h * w / s / 1e9})
    for row in rows:
        row["impl"] = "torch"
        print(json.dumps(row), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["wan", "ops"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    ap.add_argument("--latent", nargs=3, type=int, default=[3, 30, 52])
    ap.add_argument("--single", help=argparse.SUPPRESS)
    ap.add_argument("--no-warmup", action="store_true", help="time the first call (for very slow runs)")
    args = ap.parse_args()
    if args.what == "ops":
        run_ops(args.threads, args.runs)
        return
    if args.single:
        run_wan(args.single, args.threads, args.latent, warmup=not args.no_warmup)
        return
    for dtype in args.dtypes:
        subprocess.run([sys.executable, __file__, args.what, "--threads", str(args.threads), "--single", dtype,
                        "--latent", *map(str, args.latent)] + (["--no-warmup"] if args.no_warmup else []), check=True)


if __name__ == "__main__":
    main()

"""The PyTorch side of `vacekit bench vae`: diffusers' AutoencoderKLWan at the real Wan2.1 VAE config with
random weights, one decode of a seeded random latent (and optionally one encode), time and peak RSS.

    python converters/reference/bench_vae.py wan --save DIR            # the random VAE, diffusers layout
    python converters/reference/bench_vae.py wan --load DIR --frames 17 --size 832x480 [--tiling] [--dtype float32]

Each measurement runs in a process of its own, so ru_maxrss is the peak of that decode alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def bench_conv() -> None:
    """The same shapes as `vacekit bench vae --conv`: input with its 2 cached frames, no temporal padding."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(7)
    for c, t, h, w in [(384, 1, 60, 104), (192, 4, 120, 208), (96, 4, 240, 416)]:
        x = torch.randn(1, c, t + 2, h, w, generator=g)
        weight = torch.randn(c, c, 3, 3, 3, generator=g) * 0.02
        with torch.inference_mode():
            F.conv3d(x, weight, padding=(0, 1, 1))
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                F.conv3d(x, weight, padding=(0, 1, 1))
                best = min(best, time.perf_counter() - start)
        gflop = 2.0 * c * c * 27 * t * h * w / 1e9
        print(json.dumps({"impl": "torch", "op": "conv3d 3x3x3", "shape": f"[1,{c},{t}+2,{h},{w}]", "seconds": round(best, 4),
                          "gflops": round(gflop / best, 1)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("family", choices=["wan", "conv"], help="conv: the decoder convolutions of `vacekit bench vae --conv`")
    ap.add_argument("--save", help="write a random VAE at the real config (diffusers layout) here and exit")
    ap.add_argument("--load", help="the VAE folder written by --save")
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--size", default="832x480")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--tiling", action="store_true", help="diffusers' enable_tiling() (its default tile sizes)")
    ap.add_argument("--encode", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.family == "conv":
        return bench_conv()

    from diffusers import AutoencoderKLWan

    if args.save:
        torch.manual_seed(0)
        vae = AutoencoderKLWan()  # the released config: base_dim 96, z_dim 16, dim_mult [1,2,4,4]
        with torch.no_grad():
            for p in vae.parameters():  # re-randomised, scaled so activations stay in range
                p.copy_(torch.randn_like(p) * (0.5 / max(1, p[0].numel()) ** 0.5) if p.dim() > 1 else 1 + 0.1 * torch.randn_like(p))
        vae.save_pretrained(args.save, safe_serialization=True)
        print(json.dumps({"saved": args.save, "parameters": sum(p.numel() for p in vae.parameters())}))
        return

    dtype = getattr(torch, args.dtype)
    vae = AutoencoderKLWan.from_pretrained(args.load, torch_dtype=dtype).eval()
    if args.tiling:
        vae.enable_tiling()
    width, height = (int(v) for v in args.size.split("x"))
    g = torch.Generator().manual_seed(11)
    latent = torch.randn(1, 16, (args.frames - 1) // 4 + 1, height // 8, width // 8, generator=g, dtype=dtype)
    with torch.inference_mode():
        start = time.perf_counter()
        video = vae.decode(latent, return_dict=False)[0]
        decode_seconds = time.perf_counter() - start
        decode_peak = peak_rss()
        encode_seconds = None
        if args.encode:
            x = (torch.randn(1, 3, args.frames, height, width, generator=g) * 0.5).clamp(-1, 1).to(dtype)
            start = time.perf_counter()
            vae.encode(x).latent_dist.mean
            encode_seconds = time.perf_counter() - start
    print(json.dumps({"impl": "diffusers", "dtype": args.dtype, "frames": args.frames, "width": width, "height": height,
                      "tiling": args.tiling, "decoded_frames": video.shape[2], "decode_seconds": decode_seconds,
                      "decode_peak_rss_bytes": decode_peak, "encode_seconds": encode_seconds, "peak_rss_bytes": peak_rss()}))


if __name__ == "__main__":
    main()

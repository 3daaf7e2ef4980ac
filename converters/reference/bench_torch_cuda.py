#!/usr/bin/env python3
"""PyTorch on a CUDA GPU at the shapes of `vacekit bench ops --device vulkan --gpu-sizes`: the yardstick
of the Vulkan backend on the same GPU (cuBLAS for the linear layers, SDPA for attention).

Usage (from the repository root, on the machine with the GPU, in the same session as the Vulkan run):
    python converters/reference/bench_torch_cuda.py [--device cuda] [--repeats 5]

Rows, as the Swift benchmark prints them: linear layers of Wan2.1 1.3B and LTX-Video 2B at 4680 tokens in
f16 and bf16 (torch.matmul → cuBLAS), int8 × int8 → int32 (torch._int_mm, the bare kernel), and
self-attention (12 heads of 128, f16, torch.nn.functional.scaled_dot_product_attention) at 4680, 16380 and
32760 tokens. Each time is the best of --repeats after a warm-up, between device synchronisations.
`--device cpu --m 64 --tokens 256` runs the same code on the CPU, to check the script without a GPU.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

SHAPES = [  # (label, K, N), as OpsBenchmark.gemmShapes
    ("wan 1536→1536", 1536, 1536),
    ("wan 1536→8960", 1536, 8960),
    ("wan 8960→1536", 8960, 1536),
    ("ltx 2048→2048", 2048, 2048),
    ("ltx 2048→8192", 2048, 8192),
    ("ltx 8192→2048", 8192, 2048),
]


def best_time(fn, repeats: int, device: torch.device) -> float:
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--m", type=int, default=4680)
    parser.add_argument("--tokens", type=int, nargs="+", default=[4680, 16380, 32760])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    half = torch.float16 if device.type == "cuda" else torch.bfloat16  # f16 GEMM is slow on CPUs

    rows = []

    def add(op: str, shape: str, dtype: str, flops: float, fn) -> None:
        seconds = best_time(fn, args.repeats, device)
        rows.append({"op": op, "shape": shape, "dtype": dtype, "seconds": seconds, "gflops": flops / seconds / 1e9})

    with torch.inference_mode():
        m = args.m
        for label, k, n in SHAPES:
            shape, flops = f"{m}×{k}→{n}", 2.0 * m * k * n
            x = torch.randn(m, k, device=device)
            w = (torch.rand(n, k, device=device) * 2 - 1) / k**0.5
            for name, dtype in ([("f16", torch.float16)] if device.type == "cuda" else []) + [("bf16", torch.bfloat16)]:
                xh, wh = x.to(dtype), w.to(dtype)
                add(f"linear {label}", shape, f"torch {name}", flops, lambda: torch.matmul(xh, wh.t()))
            xq = torch.randint(-127, 128, (m, k), dtype=torch.int8, device=device)
            wq = torch.randint(-127, 128, (n, k), dtype=torch.int8, device=device)
            add(f"linear {label}", shape, "torch _int_mm", flops, lambda: torch._int_mm(xq, wq.t()))
        heads, d = 12, 128
        for tokens in args.tokens:
            q = torch.randn(1, heads, tokens, d, device=device, dtype=half)
            add("attention", f"{tokens} tokens, {heads}×{d}", "torch sdpa", 4.0 * tokens * tokens * heads * d,
                lambda: F.scaled_dot_product_attention(q, q, q))

    meta = {"torch": torch.__version__, "device": str(device),
            "name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}
    print(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

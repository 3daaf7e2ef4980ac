#!/usr/bin/env python3
"""PyTorch GEMM timings at the real DiT shapes, the yardstick of Benchmarks.GEMMBenchmark (`vacekit bench gemm`).

Usage (from the repository root; run it in the same session as the Swift benchmark):
    python converters/reference/bench_torch_gemm.py [--threads 2] [--m 1170] [--repeats 3]

For each linear layer of Wan2.1 1.3B (dim 1536, FFN 8960) and LTX-Video 2B (dim 2048, FFN 8192) at M tokens:
x [M, K] · Wᵀ with W [N, K] as nn.Linear stores it, in f32 and bf16 (torch.matmul), and int8 × int8 → int32
(torch._int_mm, the bare kernel: no activation quantization, no scales). Prints one JSON array of rows
{op, shape, dtype, seconds, gflops}, shape = "MxKxN", best of --repeats runs after one warm-up; the same
row form as the Swift benchmark (dtype q8a8 is int8 activations × int8 weights there too).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

SHAPES = [  # (model, K, N)
    ("wan2.1-1.3b", 1536, 1536),
    ("wan2.1-1.3b", 1536, 8960),
    ("wan2.1-1.3b", 8960, 1536),
    ("ltx-video-2b", 2048, 2048),
    ("ltx-video-2b", 2048, 8192),
    ("ltx-video-2b", 8192, 2048),
]


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up (and lazy kernel selection)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--m", type=int, default=1170)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    rows = []
    with torch.inference_mode():
        for model, k, n in SHAPES:
            m = args.m
            ops = 2.0 * m * k * n
            shape = f"{m}x{k}x{n}"
            x = torch.randn(m, k)
            w = (torch.rand(n, k) * 2 - 1) / k**0.5

            def add(op: str, dtype: str, fn) -> None:
                seconds = best_time(fn, args.repeats)
                rows.append({"op": op, "shape": shape, "dtype": dtype, "seconds": seconds,
                             "gflops": ops / seconds / 1e9, "model": model})

            add("matmul", "f32", lambda: torch.matmul(x, w.t()))
            xb, wb = x.to(torch.bfloat16), w.to(torch.bfloat16)
            add("matmul", "bf16", lambda: torch.matmul(xb, wb.t()))
            xq = torch.randint(-127, 128, (m, k), dtype=torch.int8)
            wq = torch.randint(-127, 128, (n, k), dtype=torch.int8)
            add("int_mm", "q8a8", lambda: torch._int_mm(xq, wq.t()))

    meta = {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    print(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

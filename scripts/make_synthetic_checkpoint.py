#!/usr/bin/env python3
"""Writes a synthetic Wan2.1-VACE-1.3B checkpoint: the real tensor names and shapes (official layout,
1264 tensors, 2.15 B parameters), random bf16 values, one safetensors file (~4.3 GB) plus config.json.

Used to measure `vacekit convert` at real scale (BENCHMARKS.md). Only numpy is needed. Values are
slices of one random pool at random offsets: fast to make, and no two tensors are alike (zstd compresses
each tensor on its own, so the pool does not flatter the ratios).

    python3 scripts/make_synthetic_checkpoint.py OUT_DIR [--layers 30] [--vace-layers 15]
"""
import argparse
import json
import os
import struct

import numpy as np

DIM, FFN, TEXT, FREQ, IN, VACE_IN = 1536, 8960, 4096, 256, 16, 96


def tensor_list(layers, vace_blocks):
    t = [("patch_embedding.weight", [DIM, IN, 1, 2, 2]), ("patch_embedding.bias", [DIM]),
         ("text_embedding.0.weight", [DIM, TEXT]), ("text_embedding.0.bias", [DIM]),
         ("text_embedding.2.weight", [DIM, DIM]), ("text_embedding.2.bias", [DIM]),
         ("time_embedding.0.weight", [DIM, FREQ]), ("time_embedding.0.bias", [DIM]),
         ("time_embedding.2.weight", [DIM, DIM]), ("time_embedding.2.bias", [DIM]),
         ("time_projection.1.weight", [6 * DIM, DIM]), ("time_projection.1.bias", [6 * DIM]),
         ("head.modulation", [1, 2, DIM]), ("head.head.weight", [64, DIM]), ("head.head.bias", [64]),
         ("vace_patch_embedding.weight", [DIM, VACE_IN, 1, 2, 2]), ("vace_patch_embedding.bias", [DIM])]
    prefixes = [f"blocks.{i}" for i in range(layers)] + [f"vace_blocks.{k}" for k in range(vace_blocks)]
    for p in prefixes:
        t.append((f"{p}.modulation", [1, 6, DIM]))
        for attn in ("self_attn", "cross_attn"):
            for x in "qkvo":
                t += [(f"{p}.{attn}.{x}.weight", [DIM, DIM]), (f"{p}.{attn}.{x}.bias", [DIM])]
            t += [(f"{p}.{attn}.norm_q.weight", [DIM]), (f"{p}.{attn}.norm_k.weight", [DIM])]
        t += [(f"{p}.norm3.weight", [DIM]), (f"{p}.norm3.bias", [DIM]),
              (f"{p}.ffn.0.weight", [FFN, DIM]), (f"{p}.ffn.0.bias", [FFN]),
              (f"{p}.ffn.2.weight", [DIM, FFN]), (f"{p}.ffn.2.bias", [DIM])]
    for k in range(vace_blocks):
        if k == 0:
            t += [("vace_blocks.0.before_proj.weight", [DIM, DIM]), ("vace_blocks.0.before_proj.bias", [DIM])]
        t += [(f"vace_blocks.{k}.after_proj.weight", [DIM, DIM]), (f"vace_blocks.{k}.after_proj.bias", [DIM])]
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--vace-layers", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tensors = tensor_list(args.layers, args.vace_layers)

    header, offset = {}, 0
    for name, shape in tensors:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)

    rng = np.random.default_rng(args.seed)
    pool_size = 1 << 26
    pool = (rng.standard_normal(pool_size, dtype=np.float32) * 0.02).view(np.uint32)
    pool = (pool >> 16).astype(np.uint16)  # truncation to bf16 is fine for random data
    path = os.path.join(args.out, "diffusion_pytorch_model.safetensors")
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape in tensors:
            n = int(np.prod(shape))
            start = int(rng.integers(0, pool_size - n))
            f.write(pool[start:start + n].tobytes())
    os.replace(path + ".tmp", path)
    config = {"_class_name": "VaceWanModel", "dim": DIM, "eps": 1e-6, "ffn_dim": FFN, "freq_dim": FREQ, "in_dim": IN,
              "model_type": "vace", "num_heads": DIM // 128, "num_layers": args.layers, "out_dim": IN, "text_len": 512,
              "vace_in_dim": VACE_IN, "vace_layers": list(range(0, 2 * args.vace_layers, 2))}
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    params = sum(int(np.prod(s)) for _, s in tensors)
    # A GGUF Q8_0 file of the same tensors: every >=2-D tensor in Q8_0 (34 bytes per 32 values), 1-D in F32.
    gguf = sum(int(np.prod(s)) * 34 // 32 if len(s) >= 2 else int(np.prod(s)) * 4 for _, s in tensors)
    print(json.dumps({"path": path, "tensors": len(tensors), "parameters": params, "bytes": os.path.getsize(path),
                      "gguf_q8_0_bytes_estimate": gguf}))


if __name__ == "__main__":
    main()

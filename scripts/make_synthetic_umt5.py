#!/usr/bin/env python3
"""Writes a synthetic umT5-XXL encoder: the transformers UMT5EncoderModel names and the REAL shapes
(vocab 256384, d_model 4096, 64 heads × 64, d_ff 10240, 32 buckets), random bf16 values, one
safetensors file plus config.json. `--layers` sets the block count (24 in the release; fewer keep the
PyTorch float32 side within this machine's memory: time scales with the block count, see BENCHMARKS.md).

Streamed: one tensor at a time goes to disk, so memory stays at the largest tensor (the embedding,
2 GB in bf16). Values are slices of one random pool at random offsets, scaled per tensor like an
initialisation (1/√fan_in for matrices, 1 for norms), so activations stay finite.

    python3 scripts/make_synthetic_umt5.py OUT_DIR [--layers 24]
"""
import argparse
import json
import os
import struct

import numpy as np

VOCAB, DIM, HEADS, DKV, FFN, BUCKETS = 256384, 4096, 64, 64, 10240, 32


def tensor_list(layers):
    t = [("shared.weight", [VOCAB, DIM], 1.0)]
    for i in range(layers):
        p = f"encoder.block.{i}.layer"
        t += [(f"{p}.0.layer_norm.weight", [DIM], None)]
        t += [(f"{p}.0.SelfAttention.{x}.weight", [HEADS * DKV, DIM], DIM ** -0.5) for x in "qkv"]
        t += [(f"{p}.0.SelfAttention.o.weight", [DIM, HEADS * DKV], (HEADS * DKV) ** -0.5),
              (f"{p}.0.SelfAttention.relative_attention_bias.weight", [BUCKETS, HEADS], 0.5),
              (f"{p}.1.layer_norm.weight", [DIM], None),
              (f"{p}.1.DenseReluDense.wi_0.weight", [FFN, DIM], DIM ** -0.5),
              (f"{p}.1.DenseReluDense.wi_1.weight", [FFN, DIM], DIM ** -0.5),
              (f"{p}.1.DenseReluDense.wo.weight", [DIM, FFN], FFN ** -0.5)]
    t.append(("encoder.final_layer_norm.weight", [DIM], None))
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tensors = tensor_list(args.layers)
    header, offset = {}, 0
    for name, shape, _ in tensors:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    rng = np.random.default_rng(args.seed)
    pool = rng.standard_normal(1 << 24, dtype=np.float32)
    chunk = 1 << 22
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape, scale in tensors:
            count = int(np.prod(shape))
            for start in range(0, count, chunk):
                n = min(chunk, count - start)
                if scale is None:
                    values = np.ones(n, dtype=np.float32)
                else:
                    at = int(rng.integers(0, pool.size - n))
                    values = pool[at:at + n] * np.float32(scale)
                f.write((values.view(np.uint32) >> 16).astype(np.uint16).tobytes())
    config = {"architectures": ["UMT5EncoderModel"], "model_type": "umt5", "vocab_size": VOCAB, "d_model": DIM, "d_kv": DKV,
              "d_ff": FFN, "num_layers": args.layers, "num_heads": HEADS, "relative_attention_num_buckets": BUCKETS,
              "relative_attention_max_distance": 128, "feed_forward_proj": "gated-gelu", "dense_act_fn": "gelu_new",
              "is_gated_act": True, "layer_norm_epsilon": 1e-6, "dropout_rate": 0.0, "tie_word_embeddings": False,
              "torch_dtype": "bfloat16"}
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    params = sum(int(np.prod(s)) for _, s, _ in tensors)
    print(json.dumps({"layers": args.layers, "tensors": len(tensors), "parameters": params, "bytes": offset}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a synthetic LTX-Video 2B (0.9) or VACE-LTX-Video-0.9 transformer in the single-file layout: the real
tensor names and shapes (`model.diffusion_model.*`, 1.92 B parameters; VACE: + 14 context blocks at layers
0, 2, …, 26 = 2.93 B), random bf16 values, and the safetensors metadata `config` (JSON string with the
`transformer` object, LTX-Video naming). No VAE tensors. Only numpy is needed.

Used for `vacekit bench ltx` at real scale (BENCHMARKS.md).

    python3 scripts/make_synthetic_ltx_checkpoint.py OUT.safetensors [--vace]
"""
import argparse
import json
import os
import struct

import numpy as np

D, FFN, IN, CAPTION, LAYERS, CONTEXT_IN = 2048, 8192, 128, 4096, 28, 384


def block(p):
    t = [(f"{p}.scale_shift_table", [6, D])]
    for attn in ("attn1", "attn2"):
        for x in ("to_q", "to_k", "to_v", "to_out.0"):
            t += [(f"{p}.{attn}.{x}.weight", [D, D]), (f"{p}.{attn}.{x}.bias", [D])]
        t += [(f"{p}.{attn}.q_norm.weight", [D]), (f"{p}.{attn}.k_norm.weight", [D])]
    return t + [(f"{p}.ff.net.0.proj.weight", [FFN, D]), (f"{p}.ff.net.0.proj.bias", [FFN]),
                (f"{p}.ff.net.2.weight", [D, FFN]), (f"{p}.ff.net.2.bias", [D])]


def tensor_list(context_layers):
    t = [("patchify_proj.weight", [D, IN]), ("patchify_proj.bias", [D]),
         ("adaln_single.emb.timestep_embedder.linear_1.weight", [D, 256]), ("adaln_single.emb.timestep_embedder.linear_1.bias", [D]),
         ("adaln_single.emb.timestep_embedder.linear_2.weight", [D, D]), ("adaln_single.emb.timestep_embedder.linear_2.bias", [D]),
         ("adaln_single.linear.weight", [6 * D, D]), ("adaln_single.linear.bias", [6 * D]),
         ("caption_projection.linear_1.weight", [D, CAPTION]), ("caption_projection.linear_1.bias", [D]),
         ("caption_projection.linear_2.weight", [D, D]), ("caption_projection.linear_2.bias", [D]),
         ("scale_shift_table", [2, D]), ("proj_out.weight", [IN, D]), ("proj_out.bias", [IN])]
    for i in range(LAYERS):
        t += block(f"transformer_blocks.{i}")
    if context_layers:
        t += [("patchify_context_proj.weight", [D, CONTEXT_IN]), ("patchify_context_proj.bias", [D])]
    for d in context_layers:
        t += block(f"transformer_context_blocks.{d}")
        if d == 0:
            t += [("transformer_context_blocks.0.before_proj.weight", [D, D]), ("transformer_context_blocks.0.before_proj.bias", [D])]
        t += [(f"transformer_context_blocks.{d}.after_proj.weight", [D, D]), (f"transformer_context_blocks.{d}.after_proj.bias", [D])]
    return [("model.diffusion_model." + n, s) for n, s in t]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--vace", action="store_true", help="add the 14 VACE context blocks")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    context = list(range(0, LAYERS, 2)) if args.vace else []
    tensors = tensor_list(context)
    config = {"_class_name": "Transformer3DModel", "activation_fn": "gelu-approximate", "attention_bias": True,
              "attention_head_dim": 64, "caption_channels": CAPTION, "cross_attention_dim": D, "in_channels": IN,
              "norm_elementwise_affine": False, "norm_eps": 1e-6, "num_attention_heads": D // 64, "num_layers": LAYERS,
              "out_channels": IN, "positional_embedding_max_pos": [20, 2048, 2048], "positional_embedding_theta": 10000.0,
              "positional_embedding_type": "rope", "qk_norm": "rms_norm", "standardization_norm": "rms_norm",
              "timestep_scale_multiplier": 1000}
    if context:
        config.update(context_num_layers=context, in_context_channels=CONTEXT_IN)
    header, offset = {"__metadata__": {"config": json.dumps({"transformer": config})}}, 0
    for name, shape in tensors:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    rng = np.random.default_rng(args.seed)
    pool_size = 1 << 26
    pool = ((rng.standard_normal(pool_size, dtype=np.float32) * 0.02).view(np.uint32) >> 16).astype(np.uint16)
    with open(args.out + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape in tensors:
            n = int(np.prod(shape))
            start = int(rng.integers(0, pool_size - n))
            f.write(pool[start:start + n].tobytes())
    os.replace(args.out + ".tmp", args.out)
    print(json.dumps({"path": args.out, "tensors": len(tensors), "parameters": sum(int(np.prod(s)) for _, s in tensors),
                      "bytes": os.path.getsize(args.out), "context_layers": context}))


if __name__ == "__main__":
    main()

"""The inputs of `make demo`: a short synthetic clip, a mask, a reference image and text embeddings.

Writes demo/clip/00000.png … (17 frames, 160x96, a lossless image sequence), demo/mask.png (white box =
regenerate), demo/ref.png (a 64x64 disc: letter-boxed onto the canvas by the pipeline) and
models/demo/text-embeddings.safetensors (context [1,16,48] and negative_context [1,8,48], random N(0,1)), and
models/demo/umt5-tiny/ (a 2-block umT5 encoder of width 48 in the Hugging Face layout, every parameter random, with
the small SentencePiece model of Tests/Fixtures/text), so that the demo can start from a prompt. Deterministic
(seeded). `make demo-assets` converts the encoder to models/demo/umt5-tiny-random.vkq.
"""

from __future__ import annotations

import os

import shutil

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import UMT5Config, UMT5EncoderModel

from make_text_fixtures import rerandomise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
T, H, W = 17, 96, 160
TEXT_DIM = 48  # text_dim of the tiny demo transformer (Tests/Fixtures/wan_vace)


def main() -> None:
    demo = os.path.join(ROOT, "demo")
    os.makedirs(os.path.join(demo, "clip"), exist_ok=True)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    for t in range(T):
        # A diagonal colour wave drifting to the right, and a bright square moving across.
        frame = np.stack([0.5 + 0.4 * np.sin(0.08 * x + 0.05 * y - 0.4 * t + 2.1 * c) for c in range(3)], axis=-1)
        x0 = 10 + 6 * t
        frame[30:60, x0:x0 + 30] = (0.95, 0.9, 0.2)
        Image.fromarray((frame.clip(0, 1) * 255).astype(np.uint8)).save(os.path.join(demo, "clip", f"{t:05d}.png"))
    mask = np.zeros((H, W), np.uint8)
    mask[24:72, 48:112] = 255
    Image.fromarray(mask).save(os.path.join(demo, "mask.png"))
    ry, rx = np.mgrid[0:64, 0:64].astype(np.float32)
    disc = ((ry - 32) ** 2 + (rx - 32) ** 2) < 26 ** 2
    ref = np.full((64, 64, 3), 40, np.uint8)
    ref[disc] = (220, 60, 90)
    Image.fromarray(ref).save(os.path.join(demo, "ref.png"))

    g = torch.Generator().manual_seed(2025)
    text = {"context": torch.randn(1, 16, TEXT_DIM, generator=g), "negative_context": torch.randn(1, 8, TEXT_DIM, generator=g)}
    os.makedirs(os.path.join(ROOT, "models", "demo"), exist_ok=True)
    save_file(text, os.path.join(ROOT, "models", "demo", "text-embeddings.safetensors"))

    # The prompt path: umT5 as Wan2.1 uses it (wan/modules/t5.py umt5_xxl), at the demo transformer's text width.
    encoder = UMT5EncoderModel(UMT5Config(vocab_size=384, d_model=TEXT_DIM, d_kv=16, d_ff=96, num_layers=2, num_heads=3,
                                          relative_attention_num_buckets=32, relative_attention_max_distance=128,
                                          feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, dropout_rate=0.0,
                                          tie_word_embeddings=False))
    encoder.eval()
    rerandomise(encoder, 2026)
    folder = os.path.join(ROOT, "models", "demo", "umt5-tiny")
    encoder.save_pretrained(folder, safe_serialization=True)
    shutil.copy(os.path.join(ROOT, "Tests", "Fixtures", "text", "umt5_hf", "spiece.model"), os.path.join(folder, "spiece.model"))


if __name__ == "__main__":
    main()

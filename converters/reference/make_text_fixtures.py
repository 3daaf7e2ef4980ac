"""Fixtures of the T5-family text encoders (Tests/Fixtures/text/): small random umT5 and T5 v1.1
encoders from transformers (every parameter re-randomised), saved in the official layouts (the Wan
`T5Encoder` key names as a .pth for umT5; the HF folder with config.json for both), SentencePiece
models trained here with each release's special-token layout, token ids of a prompt list, and the
encoder outputs (float32, CPU) for a few id rows.

Run: nice /work/venv-ref/bin/python converters/reference/make_text_fixtures.py [--wan-repo PATH]
With --wan-repo (a checkout of Wan-Video/Wan2.1), the .pth is also loaded into the original
wan.modules.t5.T5Encoder and its output compared with transformers' (printed; must agree to 1e-5).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re

import ftfy
import sentencepiece as spm
import torch
from safetensors.torch import save_file
from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "text")

# Training text: English, Chinese, emoji, accents, so that those prompts have their own pieces.
CORPUS = [
    "A cat walks on the grass, realistic style, golden hour light.",
    "A drone shot of a coastline at sunset, waves crashing on the rocks.",
    "一只猫在草地上行走，写实风格，黄金时刻的光线。",
    "无人机拍摄的日落海岸线，海浪拍打着岩石。",
    "Close-up of a café table with a cup of coffee ☕ and a croissant 🥐.",
    "The quick brown fox jumps over the lazy dog 🦊🐶!",
    "Bright tones, overexposed, static, blurred details, subtitles, worst quality, low quality.",
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量。",
    "Tom & Jerry <3 \"quotes\" and 'apostrophes' — dashes – ellipsis…",
    "worst quality, inconsistent motion, blurry, jittery, distorted",
    "A woman with long brown hair and light skin smiles at another woman with long blonde hair.",
    "Numbers 0 1 2 3 4 5 6 7 8 9 10 100 2026 and UPPER CASE WORDS, Mixed Case Words.",
]

PROMPTS = [
    "A cat walks on the grass, realistic style.",
    "一只猫在草地上行走，写实风格。",
    "A fox 🦊 and a dog 🐶 play in the snow ❄️.",
    "Tom &amp; Jerry &lt;3 &quot;cheese&quot; &amp;amp; more &#233;t&#xE9;",
    "  runs   of\twhitespace\n\nand\r\nline breaks   ",
    "UPPER CASE PROMPT WITH MIXED Case",
    "",
    "“Curly quotes” and ‘single ones’, \ufeffa stray BOM, mojibake cafÃ© and naÃ¯ve",
    " ".join(["a long prompt that keeps going"] * 120),  # longer than 512 pieces: truncated, EOS kept
]


def wan_clean(text: str) -> str:
    # Wan's HuggingfaceTokenizer with clean='whitespace' (wan/modules/tokenizers.py).
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip()


def ltx_clean(text: str) -> str:
    # LTX-Video 0.9.1 pipeline, _text_preprocessing without clean_caption.
    return text.lower().strip()


def train_spm(path_prefix: str, layout: str) -> spm.SentencePieceProcessor:
    ids = dict(pad_id=0, eos_id=1, bos_id=2, unk_id=3) if layout == "umt5" else dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 4), model_prefix=path_prefix, vocab_size=200 if layout == "umt5" else 180,
        model_type="unigram", character_coverage=1.0, pad_piece="<pad>", eos_piece="</s>", bos_piece="<s>", unk_piece="<unk>",
        num_threads=1, seed_sentencepiece_size=5000, shuffle_input_sentence=False, minloglevel=2, **ids)
    return spm.SentencePieceProcessor(model_file=path_prefix + ".model")


def token_rows(sp: spm.SentencePieceProcessor, clean, length: int):
    rows = []
    for p in PROMPTS:
        ids = sp.encode(clean(p))[: length - 1] + [sp.eos_id()]
        rows.append(ids + [sp.pad_id()] * (length - len(ids)))
    return torch.tensor(rows, dtype=torch.int32)


def rerandomise(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if "layer_norm" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif "relative_attention_bias" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif name in ("shared.weight", "encoder.embed_tokens.weight"):
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)


def wan_state_dict(model) -> dict:
    # HF UMT5EncoderModel names → the Wan T5Encoder names (converters/umt5-xxl.json, reversed).
    out = {"token_embedding.weight": model.shared.weight, "norm.weight": model.encoder.final_layer_norm.weight}
    for i, block in enumerate(model.encoder.block):
        a, f = block.layer[0], block.layer[1]
        out[f"blocks.{i}.norm1.weight"] = a.layer_norm.weight
        for n in "qkvo":
            out[f"blocks.{i}.attn.{n}.weight"] = getattr(a.SelfAttention, n).weight
        out[f"blocks.{i}.pos_embedding.embedding.weight"] = a.SelfAttention.relative_attention_bias.weight
        out[f"blocks.{i}.norm2.weight"] = f.layer_norm.weight
        out[f"blocks.{i}.ffn.gate.0.weight"] = f.DenseReluDense.wi_0.weight
        out[f"blocks.{i}.ffn.fc1.weight"] = f.DenseReluDense.wi_1.weight
        out[f"blocks.{i}.ffn.fc2.weight"] = f.DenseReluDense.wo.weight
    return {k: v.detach().clone().contiguous() for k, v in out.items()}


def forward_reference(model, ids: torch.Tensor, mask: torch.Tensor) -> dict:
    out = model(input_ids=ids.long(), attention_mask=mask.long(), output_hidden_states=True)
    m = mask.float()[..., None]
    ref = {"input_ids": ids.float(), "mask": mask.float(), "context": (out.last_hidden_state * m).contiguous()}
    # hidden_states[i + 1] is the stream after block i (the last one after the final norm in transformers).
    for i in range(len(model.encoder.block) - 1):
        ref[f"blocks.{i}"] = out.hidden_states[i + 1].contiguous()
    return ref


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wan-repo", help="a Wan2.1 checkout, to cross-check the .pth with the original T5Encoder")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)

    tokens = {}
    for layout, clean, length in [("umt5", wan_clean, 512), ("t5", ltx_clean, 128)]:
        sp = train_spm(os.path.join(OUT, f"{layout}_spiece"), layout)
        tokens[layout] = sp
        ids = token_rows(sp, clean, length)
        print(layout, "pieces", sp.get_piece_size(), "pad/eos/unk/bos", sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id(),
              "prompt lengths", [int((r != 0).sum()) for r in ids])
        # Ids as float32 (exact below 2^24): the Swift fixture reader decodes floating-point tensors.
        save_file({"input_ids": ids.float()}, os.path.join(OUT, f"{layout}_tokens.safetensors"))
        with open(os.path.join(OUT, f"{layout}_prompts.json"), "w", encoding="utf-8") as f:
            json.dump({"prompts": PROMPTS, "cleaned": [clean(p) for p in PROMPTS]}, f, ensure_ascii=False, indent=1)
        os.remove(os.path.join(OUT, f"{layout}_spiece.vocab"))
    for layout in ("umt5", "t5"):
        os.makedirs(os.path.join(OUT, f"{layout}_hf"), exist_ok=True)
        os.replace(os.path.join(OUT, f"{layout}_spiece.model"), os.path.join(OUT, f"{layout}_hf", "spiece.model"))

    # Small encoders: 3 blocks, 4 heads × 16, d_ff 96; tables of 32 buckets (max distance 128 as released).
    common = dict(d_model=64, d_kv=16, d_ff=96, num_layers=3, num_heads=4, relative_attention_num_buckets=32,
                  relative_attention_max_distance=128, feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6,
                  dropout_rate=0.0, tie_word_embeddings=False)
    models = {
        "umt5": UMT5EncoderModel(UMT5Config(vocab_size=384, **common)),  # padded past the 200 ids, like the release
        "t5": T5EncoderModel(T5Config(vocab_size=256, **common)),
    }
    # Ids: two rows of 20 tokens (12 and 20 real, the rest padding), random ids inside the tokenizer.
    g = torch.Generator().manual_seed(7)
    for seed, (layout, model) in enumerate(models.items()):
        model.eval()
        rerandomise(model, 100 + seed)
        model.save_pretrained(os.path.join(OUT, f"{layout}_hf"), safe_serialization=True)
        vocab = tokens[layout].get_piece_size()
        ids = torch.randint(4, vocab, (2, 20), generator=g, dtype=torch.int32)
        mask = torch.ones(2, 20, dtype=torch.int32)
        mask[0, 12:] = 0
        ids[0, 11] = 1
        ids[0, 12:] = 0
        ids[1, 19] = 1
        with torch.no_grad():
            ref = forward_reference(model, ids, mask)
        save_file(ref, os.path.join(OUT, f"{layout}_forward.safetensors"))
        print(layout, "context rms", float(ref["context"].pow(2).mean().sqrt()))

    # The original Wan layout of the umT5 fixture.
    state = wan_state_dict(models["umt5"])
    torch.save(state, os.path.join(OUT, "umt5_wan.pth"))
    if args.wan_repo:
        # The original module, loaded from the checkout without its package (its tokenizer import is not needed).
        path = os.path.join(args.wan_repo, "wan", "modules", "t5.py")
        # The module up to T5EncoderModel (whose default device argument needs CUDA at import).
        source = open(path).read().replace("from .tokenizers import HuggingfaceTokenizer", "").split("\nclass T5EncoderModel")[0]
        namespace: dict = {"__name__": "wan_t5"}
        exec(compile(source, path, "exec"), namespace)
        c = models["umt5"].config
        wan = namespace["T5Encoder"](vocab=c.vocab_size, dim=c.d_model, dim_attn=c.d_kv * c.num_heads, dim_ffn=c.d_ff,
                                     num_heads=c.num_heads, num_layers=c.num_layers, num_buckets=32, shared_pos=False, dropout=0.0)
        wan.load_state_dict(torch.load(os.path.join(OUT, "umt5_wan.pth")))
        wan.eval()
        from safetensors.torch import load_file
        r = load_file(os.path.join(OUT, "umt5_forward.safetensors"))
        with torch.no_grad():
            out = wan(r["input_ids"].long(), r["mask"].long()) * r["mask"][..., None]
        err = float((out - r["context"]).norm() / r["context"].norm())
        print(f"Wan T5Encoder vs transformers UMT5EncoderModel on the fixture: relative L2 {err:.2e}")
        assert err < 1e-5

if __name__ == "__main__":
    main()

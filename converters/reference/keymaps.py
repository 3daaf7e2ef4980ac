"""diffusers -> official key maps, obtained by inverting diffusers' own single-file converters.

diffusers only ships official -> diffusers (`diffusers.loaders.single_file_utils`). We write the inverse by
hand (by full path, never by bare suffix: e.g. top-level `proj_out` is Wan's `head.head` but
`vace_blocks.k.proj_out` is `after_proj`), and `check_roundtrip` proves it: feeding the official-layout dict
back through diffusers' converter must give the diffusers state dict exactly (same key set, equal values).
"""

from __future__ import annotations

import re

import torch
from diffusers.loaders.single_file_utils import (
    convert_ltx_transformer_checkpoint_to_diffusers,
    convert_ltx_vae_checkpoint_to_diffusers,
    convert_wan_transformer_to_diffusers,
    convert_wan_vae_to_diffusers,
)

# ----------------------------------------------------------------------------------------------------
# Wan transformer (wan-vace.md §2.4)
# ----------------------------------------------------------------------------------------------------

_WAN_TOP = {
    "condition_embedder.time_embedder.linear_1.": "time_embedding.0.",
    "condition_embedder.time_embedder.linear_2.": "time_embedding.2.",
    "condition_embedder.text_embedder.linear_1.": "text_embedding.0.",
    "condition_embedder.text_embedder.linear_2.": "text_embedding.2.",
    "condition_embedder.time_proj.": "time_projection.1.",
    "scale_shift_table": "head.modulation",   # top level only: [1, 2, D]
    "proj_out.": "head.head.",                 # top level only
    "patch_embedding.": "patch_embedding.",
    "vace_patch_embedding.": "vace_patch_embedding.",
}

_WAN_BLOCK = [  # applied to the part after "blocks.{i}." / "vace_blocks.{k}."
    (r"^scale_shift_table$", "modulation"),
    (r"^attn1\.to_q\.", "self_attn.q."), (r"^attn1\.to_k\.", "self_attn.k."), (r"^attn1\.to_v\.", "self_attn.v."),
    (r"^attn1\.to_out\.0\.", "self_attn.o."), (r"^attn1\.norm_q\.", "self_attn.norm_q."),
    (r"^attn1\.norm_k\.", "self_attn.norm_k."),
    (r"^attn2\.to_q\.", "cross_attn.q."), (r"^attn2\.to_k\.", "cross_attn.k."), (r"^attn2\.to_v\.", "cross_attn.v."),
    (r"^attn2\.to_out\.0\.", "cross_attn.o."), (r"^attn2\.norm_q\.", "cross_attn.norm_q."),
    (r"^attn2\.norm_k\.", "cross_attn.norm_k."),
    (r"^norm2\.", "norm3."),  # diffusers' norm2 is the cross-attention pre-norm = official norm3
    (r"^ffn\.net\.0\.proj\.", "ffn.0."), (r"^ffn\.net\.2\.", "ffn.2."),
    (r"^proj_in\.", "before_proj."),   # vace_blocks.0 only
    (r"^proj_out\.", "after_proj."),   # every vace block
]


def wan_transformer_to_official(key: str) -> str:
    m = re.match(r"^((?:vace_)?blocks\.\d+\.)(.*)$", key)
    if m:
        prefix, rest = m.groups()
        for pat, rep in _WAN_BLOCK:
            if re.match(pat, rest):
                return prefix + re.sub(pat, rep, rest, count=1)
        raise KeyError(key)
    for d, o in _WAN_TOP.items():
        if key.startswith(d):
            return o + key[len(d):]
    raise KeyError(key)


# ----------------------------------------------------------------------------------------------------
# Wan VAE (wan-vace.md §2.5)
# ----------------------------------------------------------------------------------------------------

_WAN_RES = {"norm1.gamma": "residual.0.gamma", "conv1.": "residual.2.", "norm2.gamma": "residual.3.gamma",
            "conv2.": "residual.6.", "conv_shortcut.": "shortcut."}


def _wan_res(rest: str) -> str:
    for d, o in _WAN_RES.items():
        if rest.startswith(d):
            return o + rest[len(d):]
    raise KeyError(rest)


def wan_vae_to_official(key: str) -> str:
    if key.startswith("quant_conv."):
        return "conv1." + key[len("quant_conv."):]
    if key.startswith("post_quant_conv."):
        return "conv2." + key[len("post_quant_conv."):]
    side, rest = key.split(".", 1)  # encoder / decoder
    if rest.startswith("conv_in."):
        return f"{side}.conv1.{rest[len('conv_in.'):]}"
    if rest.startswith("norm_out."):
        return f"{side}.head.0.{rest[len('norm_out.'):]}"
    if rest.startswith("conv_out."):
        return f"{side}.head.2.{rest[len('conv_out.'):]}"
    m = re.match(r"^mid_block\.resnets\.(\d)\.(.*)$", rest)
    if m:
        return f"{side}.middle.{2 * int(m.group(1))}.{_wan_res(m.group(2))}"
    m = re.match(r"^mid_block\.attentions\.0\.(.*)$", rest)
    if m:
        return f"{side}.middle.1.{m.group(1)}"
    m = re.match(r"^down_blocks\.(\d+)\.(.*)$", rest)
    if m:  # encoder: same flat index; resnets renamed, resample.* / time_conv.* unchanged
        i, sub = m.groups()
        if sub.startswith(("resample.", "time_conv.")):
            return f"{side}.downsamples.{i}.{sub}"
        return f"{side}.downsamples.{i}.{_wan_res(sub)}"
    m = re.match(r"^up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$", rest)
    if m:  # decoder: up_blocks.j.resnets.r -> upsamples.{4j+r}
        j, r, sub = m.groups()
        return f"{side}.upsamples.{4 * int(j) + int(r)}.{_wan_res(sub)}"
    m = re.match(r"^up_blocks\.(\d+)\.upsamplers\.0\.(.*)$", rest)
    if m:  # up_blocks.j.upsamplers.0 -> upsamples.{4j+3}
        j, sub = m.groups()
        return f"{side}.upsamples.{4 * int(j) + 3}.{sub}"
    raise KeyError(key)


# ----------------------------------------------------------------------------------------------------
# LTX-Video 0.9 (ltx-vace.md §2.3, §2.4). This is the table the LTX-Video repository itself uses to read
# diffusers checkpoints (ltx_video/utils/diffusers_config_mapping.py), applied as ordered substring
# replacements, followed by the single-file prefixes.
# ----------------------------------------------------------------------------------------------------

_LTX_TRANSFORMER = [("proj_in", "patchify_proj"), ("time_embed", "adaln_single"), ("norm_q", "q_norm"),
                    ("norm_k", "k_norm")]

_LTX_VAE = [
    ("decoder.up_blocks.3.conv_in", "decoder.up_blocks.7"),
    ("decoder.up_blocks.3.upsamplers.0", "decoder.up_blocks.8"),
    ("decoder.up_blocks.3", "decoder.up_blocks.9"),
    ("decoder.up_blocks.2.upsamplers.0", "decoder.up_blocks.5"),
    ("decoder.up_blocks.2.conv_in", "decoder.up_blocks.4"),
    ("decoder.up_blocks.2", "decoder.up_blocks.6"),
    ("decoder.up_blocks.1.upsamplers.0", "decoder.up_blocks.2"),
    ("decoder.up_blocks.1", "decoder.up_blocks.3"),
    ("decoder.up_blocks.0", "decoder.up_blocks.1"),
    ("decoder.mid_block", "decoder.up_blocks.0"),
    ("encoder.down_blocks.3", "encoder.down_blocks.8"),
    ("encoder.down_blocks.2.downsamplers.0", "encoder.down_blocks.7"),
    ("encoder.down_blocks.2", "encoder.down_blocks.6"),
    ("encoder.down_blocks.1.downsamplers.0", "encoder.down_blocks.4"),
    ("encoder.down_blocks.1.conv_out", "encoder.down_blocks.5"),
    ("encoder.down_blocks.1", "encoder.down_blocks.3"),
    ("encoder.down_blocks.0.conv_out", "encoder.down_blocks.2"),
    ("encoder.down_blocks.0.downsamplers.0", "encoder.down_blocks.1"),
    ("encoder.down_blocks.0", "encoder.down_blocks.0"),
    ("encoder.mid_block", "encoder.down_blocks.9"),
    ("conv_shortcut.conv", "conv_shortcut"),
    ("resnets", "res_blocks"),
    ("norm3", "norm3.norm"),
    ("latents_mean", "per_channel_statistics.mean-of-means"),
    ("latents_std", "per_channel_statistics.std-of-means"),
]


def _replace_all(key: str, table) -> str:
    for a, b in table:
        key = key.replace(a, b)
    return key


def ltx_transformer_to_official(key: str) -> str:
    return "model.diffusion_model." + _replace_all(key, _LTX_TRANSFORMER)


def ltx_vae_to_official(key: str) -> str:
    return "vae." + _replace_all(key, _LTX_VAE)


# ----------------------------------------------------------------------------------------------------
# Conversion + proof
# ----------------------------------------------------------------------------------------------------

def to_official(sd: dict[str, torch.Tensor], fn) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in sd.items():
        ok = fn(k)
        assert ok not in out, f"two diffusers keys map to {ok}"
        out[ok] = v
    return out


def check_roundtrip(official: dict[str, torch.Tensor], diffusers_sd: dict[str, torch.Tensor], converter,
                    what: str) -> None:
    """Assert converter(official) == diffusers_sd: identical key sets and bitwise-equal tensors."""
    back = converter({k: v.clone() for k, v in official.items()})
    missing = sorted(set(diffusers_sd) - set(back))
    extra = sorted(set(back) - set(diffusers_sd))
    assert not missing and not extra, f"{what}: key sets differ; missing={missing[:5]} extra={extra[:5]}"
    for k, v in diffusers_sd.items():
        b = back[k]
        assert b.shape == v.shape and b.dtype == v.dtype and torch.equal(b, v), f"{what}: value differs at {k}"


CONVERTERS = {
    "wan_transformer": convert_wan_transformer_to_diffusers,
    "wan_vae": convert_wan_vae_to_diffusers,
    "ltx_transformer": convert_ltx_transformer_checkpoint_to_diffusers,
    "ltx_vae": convert_ltx_vae_checkpoint_to_diffusers,
}

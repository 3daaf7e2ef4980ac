#!/usr/bin/env python3
"""Layer-by-layer reference dump for `vacekit validate --reference DUMP.safetensors`.

    dump_reference.py CHECKPOINT --inputs IN.safetensors --output DUMP.safetensors [--device cpu|cuda]
                      [--dtype float32|bfloat16] [--family F]
    dump_reference.py CHECKPOINT --random-inputs 3x8x12 --output DUMP.safetensors

CHECKPOINT is a file or folder in the official or the diffusers layout. The reference model (diffusers or
transformers; the original code where they lack the model: VACE-LTX, an official-layout LTX VAE, given by
--vace / --ltx-video) runs on IN's named inputs (the names `vacekit forward` takes), and DUMP holds those inputs, the final output under
the name VaceKit writes (`noise_pred`, `latent`, `video`, `context`) and the tensor at each named point as
`point.NAME`, in the shapes and layouts VaceKit's models tap them (see the FAMILIES table below). Every tensor
is stored as float32 whatever --dtype ran. The file is written to a temporary name and renamed when complete.

Each family is one entry of FAMILIES: how to recognise its keys, load the diffusers model, make random inputs,
and run with hooks. A new family is one more entry.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable

import torch
from safetensors import safe_open
from safetensors.torch import save_file


class DumpError(Exception):
    pass


# ----------------------------------------------------------------------------------------------------
# Checkpoint reading (file or folder, official or diffusers layout)
# ----------------------------------------------------------------------------------------------------

def weight_files(path: str) -> list[str]:
    """The weight files of CHECKPOINT: the file itself, or a folder's (sharded) safetensors / .pth files."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise DumpError(f"{path}: no such file or folder")
    for sub in ("", "transformer", "vae", "text_encoder"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            continue
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith((".safetensors", ".pth", ".pt", ".bin")))
        if files:
            return files
    raise DumpError(f"{path}: no .safetensors/.pth weight files in the folder")


def load_state_dict(files: list[str]) -> dict[str, torch.Tensor]:
    sd: dict[str, torch.Tensor] = {}
    for f in files:
        if f.endswith(".safetensors"):
            with safe_open(f, "pt") as h:
                for k in h.keys():
                    sd[k] = h.get_tensor(k)
        else:
            obj = torch.load(f, map_location="cpu", weights_only=True)
            if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
                obj = obj["state_dict"]
            sd.update(obj)
    return sd


def find_config(path: str, files: list[str]) -> dict | None:
    """config.json beside the weight file as given (not beside a symlink's target: a Hugging Face cache
    keeps the weights in blobs/ and the config beside the link), or in the folder."""
    candidates = [os.path.join(os.path.dirname(os.path.abspath(files[0])), "config.json")]
    if os.path.isdir(path):
        candidates.insert(0, os.path.join(path, "config.json"))
    for c in candidates:
        if os.path.isfile(c):
            with open(c) as h:
                return json.load(h)
    if files[0].endswith(".safetensors"):  # the LTX-Video single file carries its configs in the header
        with safe_open(files[0], "pt") as h:
            meta = h.metadata() or {}
        if "config" in meta:
            return {"single_file": json.loads(meta["config"])}
    return None


def strip_prefix(sd: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    for p in prefixes:
        if sd and all(k.startswith(p) for k in sd):
            return {k[len(p):]: v for k, v in sd.items()}
    return sd


# ----------------------------------------------------------------------------------------------------
# Hooks: record named points, concatenating repeated calls in time (the VAEs run chunk by chunk)
# ----------------------------------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.points: dict[str, list[torch.Tensor]] = {}
        self.order: list[str] = []
        self.handles = []

    def add(self, name: str, value: torch.Tensor) -> None:
        if name not in self.points:
            self.points[name] = []
            self.order.append(name)
        self.points[name].append(value.detach().float().cpu())

    def output(self, module: torch.nn.Module, name: str, transform: Callable = lambda t: t) -> None:
        def hook(_m, _args, out):
            self.add(name, transform(out[0] if isinstance(out, tuple) else out))
        self.handles.append(module.register_forward_hook(hook))

    def input(self, module: torch.nn.Module, name: str, transform: Callable = lambda t: t) -> None:
        def hook(_m, args):
            self.add(name, transform(args[0]))
        self.handles.append(module.register_forward_pre_hook(hook))

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for name in self.order:
            parts = self.points[name]
            out[f"point.{name}"] = parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)
        return out


# ----------------------------------------------------------------------------------------------------
# Wan2.1 transformer (WanTransformer3DModel / WanVACETransformer3DModel)
# ----------------------------------------------------------------------------------------------------

def wan_transformer_detect(sd) -> bool:
    return "patch_embedding.weight" in sd and ("blocks.0.self_attn.q.weight" in sd or "blocks.0.attn1.to_q.weight" in sd)


def wan_transformer_load(sd, config, path):
    from diffusers import WanTransformer3DModel, WanVACETransformer3DModel
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    official = "blocks.0.self_attn.q.weight" in sd
    if config is None:
        raise DumpError(f"{path}: no config.json beside the weights (the head count is not in the tensors)")
    if official:
        # Official config.json (Wan2.1 wan/modules/model.py WanModel.__init__ arguments); text_dim is never
        # stored there: read it from text_embedding.0.weight [dim, text_dim].
        try:
            heads = config["num_heads"]
            cfg = dict(
                patch_size=tuple(sd["patch_embedding.weight"].shape[2:]), num_attention_heads=heads,
                attention_head_dim=config["dim"] // heads, in_channels=config["in_dim"], out_channels=config["out_dim"],
                text_dim=sd["text_embedding.0.weight"].shape[1], freq_dim=config["freq_dim"], ffn_dim=config["ffn_dim"],
                num_layers=config["num_layers"], cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                eps=config.get("eps", 1e-6))
        except KeyError as e:
            raise DumpError(f"{path}: config.json lacks {e} (an official Wan2.1 config has dim, num_heads, ...)")
        if config.get("model_type") == "i2v" or "img_emb.proj.0.weight" in sd:
            raise DumpError(f"{path}: image-to-video Wan models are not supported")
        vace = "vace_patch_embedding.weight" in sd
        if vace:
            cfg.update(vace_layers=list(config["vace_layers"]), vace_in_channels=config.get("vace_in_dim", 96))
        sd = convert_wan_transformer_to_diffusers(dict(sd))
    else:
        cfg = {k: v for k, v in config.items() if not k.startswith("_")}
        vace = "vace_patch_embedding.weight" in sd
    cls = WanVACETransformer3DModel if vace else WanTransformer3DModel
    model = cls.from_config(cfg) if not official else cls(**cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise DumpError(f"{path}: weights do not match {cls.__name__}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def wan_transformer_random(model, size: str, gen) -> dict[str, torch.Tensor]:
    f, h, w = parse_size(size)
    c = model.config
    out = {
        "latents": torch.randn(1, c.in_channels, f, h, w, generator=gen),
        "timestep": torch.tensor([700.0]),
        "context": torch.randn(1, 16, c.text_dim, generator=gen),
    }
    if hasattr(c, "vace_layers"):
        out["vace_context"] = torch.randn(1, c.vace_in_channels, f, h, w, generator=gen)
    return out


TEXT_LEN = 512  # Wan2.1 text_len: the official WanModel.forward zero-pads the context to this many rows


def wan_transformer_run(model, inputs, device, dtype):
    rec = Recorder()
    vace = hasattr(model.config, "vace_layers")
    tokens = lambda t: t.flatten(2).transpose(1, 2)  # conv [B, D, F, H, W] -> [B, N, D] as WanModel does
    # time_embedding: e [B, D] (official: time_embedding(sinusoid)); diffusers returns it as temb.
    rec.output(model.condition_embedder.time_embedder, "time_embedding")
    rec.output(model.condition_embedder.text_embedder, "text_embedding")
    rec.output(model.patch_embedding, "patch_embedding", tokens)
    if vace:
        for k, block in enumerate(model.vace_blocks):  # hint k = after_proj output, before its scale
            rec.output(block, f"vace_blocks.{k}", lambda out: out)
    # blocks.{i}: the main stream after block i with its hint added = the input of block i+1 (of norm_out
    # after the last block): diffusers adds the hint outside the block.
    n = len(model.blocks)
    for i in range(n):
        rec.input(model.blocks[i + 1] if i + 1 < n else model.norm_out, f"blocks.{i}")
    rec.output(model.proj_out, "head")  # [B, N, prod(patch)·out] before unpatchify

    latents = inputs["latents"]
    ctx = inputs["context"]
    if ctx.shape[1] < TEXT_LEN:
        ctx = torch.cat([ctx, ctx.new_zeros(ctx.shape[0], TEXT_LEN - ctx.shape[1], ctx.shape[2])], dim=1)
    kwargs = dict(hidden_states=latents.to(device, dtype), timestep=inputs["timestep"].to(device),
                  encoder_hidden_states=ctx.to(device, dtype), return_dict=False)
    if vace:
        if "vace_context" not in inputs:
            raise DumpError("this is a VACE model: the inputs need vace_context")
        n_vace = len(model.config.vace_layers)
        scale = inputs.get("vace_scale", torch.ones(1)).float().flatten()
        if scale.numel() == 1:
            scale = scale.repeat(n_vace)
        if scale.numel() != n_vace:
            raise DumpError(f"vace_scale has {scale.numel()} values for {n_vace} VACE layers (give 1 or {n_vace})")
        kwargs.update(control_hidden_states=inputs["vace_context"].to(device, dtype), control_hidden_states_scale=scale.to(device))
    out = model(**kwargs)[0]
    points = rec.tensors()
    # The points in VaceKit's execution order: each VACE block runs just before its main block.
    order = ["time_embedding", "text_embedding", "patch_embedding"]
    for i in range(n):
        if vace and i in model.config.vace_layers:
            order.append(f"vace_blocks.{model.config.vace_layers.index(i)}")
        order.append(f"blocks.{i}")
    order.append("head")
    return {"noise_pred": out.float().cpu()}, {f"point.{p}": points[f"point.{p}"] for p in order}


# ----------------------------------------------------------------------------------------------------
# Wan2.1 VAE (AutoencoderKLWan): stage outputs under the official module names
# ----------------------------------------------------------------------------------------------------

def wan_vae_detect(sd) -> bool:
    return ("encoder.conv1.weight" in sd and "decoder.upsamples.0.residual.0.gamma" in sd) or \
           ("encoder.conv_in.weight" in sd and "decoder.up_blocks.0.resnets.0.norm1.gamma" in sd)


def wan_vae_load(sd, config, path):
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    if "encoder.conv1.weight" in sd:  # official: no config; base_dim from the first conv [base_dim, 3, 3, 3, 3]
        sd = convert_wan_vae_to_diffusers(dict(sd))
        cfg = dict(base_dim=sd["encoder.conv_in.weight"].shape[0], z_dim=sd["post_quant_conv.weight"].shape[0])
    else:
        cfg = {k: v for k, v in (config or {}).items() if not k.startswith("_")}
    model = AutoencoderKLWan(**cfg) if "encoder.conv_in.weight" in sd and not config else AutoencoderKLWan.from_config(cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise DumpError(f"{path}: weights do not match AutoencoderKLWan: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def wan_vae_random(model, size: str, gen) -> dict[str, torch.Tensor]:
    t, h, w = parse_size(size)
    return {"video": torch.rand(1, 3, t, h, w, generator=gen) * 2 - 1}


def wan_vae_run(model, inputs, device, dtype):
    rec = Recorder()
    enc, dec = model.encoder, model.decoder
    rec.output(enc.conv_in, "encoder.conv1")
    for i, layer in enumerate(enc.down_blocks):
        rec.output(layer, f"encoder.downsamples.{i}")
    rec.output(enc.mid_block, "encoder.middle")
    rec.output(enc.conv_out, "encoder.head")
    rec.output(dec.conv_in, "decoder.conv1")
    rec.output(dec.mid_block, "decoder.middle")
    for j, up in enumerate(dec.up_blocks):  # official flat upsamples: 4j + r resnets, 4j + 3 resample
        for r, res in enumerate(up.resnets):
            rec.output(res, f"decoder.upsamples.{4 * j + r}")
        for upsampler in (up.upsamplers or []):
            rec.output(upsampler, f"decoder.upsamples.{4 * j + len(up.resnets)}")
    rec.output(dec.conv_out, "decoder.head")
    c = model.config
    mean = torch.tensor(c.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(c.latents_std).view(1, -1, 1, 1, 1)
    if "video" in inputs:  # encode: the normalised posterior mean, as `vacekit vae` writes `latent`
        mu = model.encode(inputs["video"].to(device, dtype)).latent_dist.mean.float().cpu()
        outputs = {"latent": (mu - mean) / std}
    elif "latent" in inputs:
        z = (inputs["latent"].float() * std + mean).to(device, dtype)
        outputs = {"video": model.decode(z).sample.float().cpu()}
    else:
        raise DumpError("Wan VAE inputs: video [B, 3, 1+4k, H, W] (encode) or latent [B, 16, F, H, W] (decode)")
    return outputs, rec.tensors()


# ----------------------------------------------------------------------------------------------------
# LTX-Video VAEs 0.9 / 0.9.1 / 0.9.5 (AutoencoderKLLTXVideo, diffusers layout): stage outputs under the
# official flat names, encoder.down_blocks.{i} / decoder.up_blocks.{i}
# ----------------------------------------------------------------------------------------------------

def ltx_vae_detect(sd) -> bool:
    keys = ("encoder.conv_in.conv.weight", "vae.encoder.conv_in.conv.weight")
    return any(k in sd for k in keys) and not any(k.startswith(("model.diffusion_model.", "patchify_proj.")) for k in sd)


def ltx_vae_load(sd, config, path):
    from diffusers import AutoencoderKLLTXVideo

    if "encoder.down_blocks.0.resnets.0.conv1.conv.weight" not in sd:
        return ltx_vae_load_original(sd, config, path)
    if config is None:
        raise DumpError(f"{path}: no config.json beside the VAE weights")
    model = AutoencoderKLLTXVideo.from_config({k: v for k, v in config.items() if not k.startswith("_")})
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise DumpError(f"{path}: weights do not match AutoencoderKLLTXVideo: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def ltx_vae_load_original(sd, config, path):
    """The official layout (the single file's vae.* keys, res_blocks): LTX-Video's own CausalVideoAutoencoder
    (--ltx-video, the ltx-video-0.9.1 tag: the 0.9 and 0.9.1 VAEs), whose modules carry the official stage names."""
    if not ORIGINAL_CODE["ltx_video"] or not os.path.isdir(os.path.join(ORIGINAL_CODE["ltx_video"], "ltx_video")):
        raise DumpError(f"{path}: an LTX-Video VAE in the official layout: give --ltx-video (a Lightricks/LTX-Video checkout "
                        "at tag ltx-video-0.9.1) to run the original code, or use the diffusers layout (a vae/ folder with config.json)")
    sys.path.insert(0, ORIGINAL_CODE["ltx_video"])
    from ltx_video.models.autoencoders.causal_video_autoencoder import CausalVideoAutoencoder, Decoder, Encoder

    if config is not None and "single_file" in config:
        config = config["single_file"].get("vae")
    if config is None:
        raise DumpError(f"{path}: no VAE config (the single file's `config` metadata, or config.json)")
    blocks = [b[0] for b in config.get("encoder_blocks", config.get("blocks", []))]
    if any(b.endswith("_res") for b in blocks):
        raise DumpError(f"{path}: a 0.9.5+ VAE (residual space-to-depth encoder): the ltx-video-0.9.1 code lacks it; "
                        "use the diffusers layout")
    # As CausalVideoAutoencoder.from_config builds it, plus the base widths it does not pass on
    # (encoder_base_channels / decoder_base_channels; the released files use the default 128).
    c = dict(config)
    dims = tuple(c["dims"]) if isinstance(c["dims"], list) else c["dims"]
    log_var = c.get("latent_log_var", "per_channel" if c.get("double_z", True) else "none")
    encoder = Encoder(dims=dims, in_channels=c.get("in_channels", 3), out_channels=c["latent_channels"],
                      blocks=c.get("encoder_blocks", c.get("blocks")), patch_size=c.get("patch_size", 1), latent_log_var=log_var,
                      norm_layer=c.get("norm_layer", "group_norm"), base_channels=c.get("encoder_base_channels", 128))
    decoder = Decoder(dims=dims, in_channels=c["latent_channels"], out_channels=c.get("out_channels", 3),
                      blocks=c.get("decoder_blocks", c.get("blocks")), patch_size=c.get("patch_size", 1),
                      norm_layer=c.get("norm_layer", "group_norm"), causal=c.get("causal_decoder", False),
                      timestep_conditioning=c.get("timestep_conditioning", False), base_channels=c.get("decoder_base_channels", 128))
    model = CausalVideoAutoencoder(encoder=encoder, decoder=decoder, latent_channels=c["latent_channels"], dims=dims,
                                   use_quant_conv=c.get("use_quant_conv", True))
    model.load_state_dict(sd)  # its own: takes the vae.* keys, the per-channel statistics as buffers
    model._vacekit_original = True
    model._vacekit_config = c
    return model


def ltx_vae_run_original(model, inputs, device, dtype):
    rec = Recorder()
    mean = model.mean_of_means.float().cpu().view(1, -1, 1, 1, 1)
    std = model.std_of_means.float().cpu().view(1, -1, 1, 1, 1)
    if "video" in inputs:
        enc = model.encoder
        rec.output(enc.conv_in, "encoder.conv_in")
        for i, block in enumerate(enc.down_blocks):
            rec.output(block, f"encoder.down_blocks.{i}")
        rec.output(enc.conv_out, "encoder.conv_out")
        mu = model.encode(inputs["video"].to(device, dtype)).latent_dist.mean.float().cpu()
        return {"latent": (mu - mean) / std}, rec.tensors()
    if "latent" not in inputs:
        raise DumpError("LTX VAE inputs: video [B, 3, 1+8k, H, W] (encode) or latent [B, C, F, H, W] (decode)")
    dec = model.decoder
    blocks = model._vacekit_config.get("decoder_blocks", [])
    if any(isinstance(b[1], dict) and b[1].get("inject_noise") for b in blocks):
        ltx_vae_fix_decoder_noise(model, inputs)
    rec.output(dec.conv_in, "decoder.conv_in")
    for i, block in enumerate(dec.up_blocks):
        rec.output(block, f"decoder.up_blocks.{i}")
    rec.output(dec.conv_out, "decoder.conv_out")
    z = inputs["latent"].float() * std + mean
    b, _, f, h, w = z.shape
    timestep = None
    if "decode_timestep" in inputs:
        if not dec.timestep_conditioning:
            raise DumpError("decode_timestep given, but this decoder is not timestep-conditioned (0.9)")
        timestep = inputs["decode_timestep"].float().flatten().expand(b).to(device)
    elif dec.timestep_conditioning:
        raise DumpError("this decoder is timestep-conditioned: give decode_timestep (one value, e.g. 0.05)")
    shape = (b, 3, 8 * (f - 1) + 1, 32 * h, 32 * w)
    video = model.decode(z.to(device, dtype), target_shape=shape, timestep=timestep).sample.float().cpu()
    return {"video": video}, rec.tensors()


def ltx_vae_fix_decoder_noise(model, inputs):
    """The 0.9.1 decoder's resnets add `randn(H, W) · per_channel_scale` after each conv, drawn unseeded
    (LTX-Video causal_video_autoencoder.py, ResnetBlock3D._feed_spatial_noise). Each block's draw is replaced,
    on the instance only (the original code is not edited), by a fixed map: the input
    `decoder_noise.<path of the per_channel_scale it multiplies>` when given, otherwise one drawn from a
    generator seeded by that path. Every map used is written into `inputs`, so the dump carries them under
    the names `vacekit vae decode` takes, and `vacekit validate` replays the same noise."""
    names = {id(p): n for n, p in model.named_parameters()}
    for module in model.decoder.modules():
        if not getattr(module, "inject_noise", False) or not hasattr(module, "_feed_spatial_noise"):
            continue
        def feed(hidden_states, per_channel_scale):
            key = "decoder_noise." + names[id(per_channel_scale)][len("decoder."):]
            spatial = ltx_decoder_noise_map(key, tuple(hidden_states.shape[-2:]), inputs).to(hidden_states.device, hidden_states.dtype)[None]
            # As the original: [1, H, W] · [C, 1, 1] → [1, C, 1, H, W], added to [B, C, T, H, W].
            return hidden_states + (spatial * per_channel_scale)[None, :, None, ...]
        module._feed_spatial_noise = feed


TORCH_RANDN = torch.randn  # the real one: ltx_vae_fix_decoder_noise_diffusers stands in for it during a resnet


def ltx_decoder_noise_map(key: str, size: tuple, inputs) -> torch.Tensor:
    """The fixed map for one injection point: `inputs[key]` when given, otherwise drawn from a generator seeded by
    the key (so the official and the diffusers layouts of one checkpoint draw the same maps), recorded in `inputs`."""
    if key not in inputs:
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") >> 1
        inputs[key] = TORCH_RANDN(size, generator=torch.Generator().manual_seed(seed))
    if tuple(inputs[key].shape) != size:
        raise DumpError(f"{key}: expected [{size[0]}, {size[1]}], got {list(inputs[key].shape)}")
    return inputs[key]


def ltx_vae_official_resnet_paths(decoder) -> dict:
    """diffusers decoder resnet → its official path (up_blocks.{stage}.res_blocks.{j}): the official decoder is one
    flat list of stages, the mid block's resnets first, then per diffusers up block its upsampler and its resnets
    (LTX-Video causal_video_autoencoder.py Decoder; the same grouping as ltx_vae_stages)."""
    paths, stage = {}, -1
    for block in [decoder.mid_block] + list(decoder.up_blocks):
        for attr in ("conv_in", "upsamplers", "resnets"):
            sub = getattr(block, attr, None)
            if sub is None:
                continue
            units = list(sub) if isinstance(sub, torch.nn.ModuleList) else [sub]
            if attr == "resnets":
                stage += 1
                for j, unit in enumerate(units):
                    paths[id(unit)] = f"up_blocks.{stage}.res_blocks.{j}"
            else:
                if attr == "conv_in" and getattr(sub, "per_channel_scale1", None) is not None:
                    raise DumpError("a diffusers LTX decoder whose width-changing conv_in injects noise: no 0.9.x release has one")
                stage += len(units)
    return paths


def ltx_vae_fix_decoder_noise_diffusers(decoder, inputs):
    """diffusers' LTXVideoResnetBlock3d draws the 0.9.1 noise with `torch.randn(H, W)` after conv1 and after conv2
    (autoencoder_kl_ltx.py; its generator is never passed down from decode). For the duration of each injecting
    resnet's forward, torch.randn answers those two draws with the fixed maps of the official names
    `decoder_noise.up_blocks.{s}.res_blocks.{j}.per_channel_scale{1,2}`, as ltx_vae_fix_decoder_noise does for the
    original code, so both layouts of one checkpoint give one dump."""
    paths = ltx_vae_official_resnet_paths(decoder)
    for module in decoder.modules():
        if getattr(module, "per_channel_scale1", None) is None or id(module) not in paths:
            continue
        def forward(*args, _forward=module.forward, _path=paths[id(module)], **kwargs):
            keys = iter([f"decoder_noise.{_path}.per_channel_scale1", f"decoder_noise.{_path}.per_channel_scale2"])
            def randn(size, generator=None, device=None, dtype=None):
                return ltx_decoder_noise_map(next(keys), tuple(size), inputs).to(device, dtype)
            torch.randn = randn
            try:
                return _forward(*args, **kwargs)
            finally:
                torch.randn = TORCH_RANDN
        module.forward = forward


def ltx_vae_random(model, size: str, gen):
    t, h, w = parse_size(size)
    return {"video": torch.rand(1, 3, t, h, w, generator=gen) * 2 - 1}


def ltx_vae_stages(rec: Recorder, side: str, coder, prefix: str) -> list:
    """Hooks every unit of the diffusers blocks (resnets, down/upsamplers, channel-changing conv_in/conv_out),
    recording the calls in order. The official model is one flat list of stages, each one diffusers unit or
    a run of resnets of one block, in the same order: a run of resnets is one stage, every other unit one."""
    calls = []
    blocks = list(coder.down_blocks if side == "encoder" else coder.up_blocks)
    blocks = blocks + [coder.mid_block] if side == "encoder" else [coder.mid_block] + blocks
    for b, block in enumerate(blocks):
        for attr in ("conv_in", "downsamplers", "upsamplers", "resnets", "conv_out"):
            sub = getattr(block, attr, None)
            if sub is None:
                continue
            units = list(sub) if isinstance(sub, torch.nn.ModuleList) else [sub]
            for unit in units:
                group = (b, "resnets") if attr == "resnets" else (b, attr, id(unit))
                def hook(_m, _a, out, group=group):
                    calls.append((group, (out[0] if isinstance(out, tuple) else out).detach().float().cpu()))
                rec.handles.append(unit.register_forward_hook(hook))
    return calls


def ltx_vae_flush(rec: Recorder, calls: list, prefix: str) -> None:
    stage, last = -1, None
    pending = None
    for group, value in calls:
        if group != last:
            if pending is not None:
                rec.add(f"{prefix}.{stage}", pending)
            stage, last = stage + 1, group
        pending = value
    if pending is not None:
        rec.add(f"{prefix}.{stage}", pending)


def ltx_vae_run(model, inputs, device, dtype):
    if getattr(model, "_vacekit_original", False):
        return ltx_vae_run_original(model, inputs, device, dtype)
    rec = Recorder()
    c = model.config
    mean = model.latents_mean.float().cpu().view(1, -1, 1, 1, 1)
    std = model.latents_std.float().cpu().view(1, -1, 1, 1, 1)
    if "video" in inputs:  # encode: the normalised posterior mean, as `vacekit vae encode` writes `latent`
        enc = model.encoder
        rec.output(enc.conv_in, "encoder.conv_in")
        calls = ltx_vae_stages(rec, "encoder", enc, "encoder.down_blocks")
        conv_out = []
        rec.handles.append(enc.conv_out.register_forward_hook(lambda _m, _a, out: conv_out.append(out.detach().float().cpu())))
        mu = model.encode(inputs["video"].to(device, dtype)).latent_dist.mean.float().cpu()
        ltx_vae_flush(rec, calls, "encoder.down_blocks")
        rec.add("encoder.conv_out", conv_out[0])
        outputs = {"latent": (mu - mean) * c.scaling_factor / std}
    elif "latent" in inputs:
        dec = model.decoder
        if any(getattr(c, "decoder_inject_noise", None) or []):
            ltx_vae_fix_decoder_noise_diffusers(dec, inputs)
        rec.output(dec.conv_in, "decoder.conv_in")
        calls = ltx_vae_stages(rec, "decoder", dec, "decoder.up_blocks")
        conv_out = []
        rec.handles.append(dec.conv_out.register_forward_hook(lambda _m, _a, out: conv_out.append(out.detach().float().cpu())))
        z = inputs["latent"].float() * std / c.scaling_factor + mean
        temb = None
        if "decode_timestep" in inputs:
            if not c.timestep_conditioning:
                raise DumpError("decode_timestep given, but this decoder is not timestep-conditioned (0.9)")
            temb = inputs["decode_timestep"].float().flatten().expand(z.shape[0]).to(device)
        elif c.timestep_conditioning:
            raise DumpError("this decoder is timestep-conditioned: give decode_timestep (one value, e.g. 0.05)")
        video = model.decode(z.to(device, dtype), temb=temb).sample.float().cpu()
        ltx_vae_flush(rec, calls, "decoder.up_blocks")
        rec.add("decoder.conv_out", conv_out[0])
        outputs = {"video": video}
    else:
        raise DumpError("LTX VAE inputs: video [B, 3, 1+8k, H, W] (encode) or latent [B, C, F, H, W] (decode)")
    return outputs, rec.tensors()


# ----------------------------------------------------------------------------------------------------
# Text encoders (UMT5 for Wan, T5 for LTX): point.blocks.{i} = hidden states after encoder block i
# ----------------------------------------------------------------------------------------------------

def t5_detect(sd) -> bool:
    return any(re.match(r"^(encoder\.)?block\.0\.layer\.0\.SelfAttention\.q\.weight$", k) for k in sd) or \
        ("token_embedding.weight" in sd and "blocks.0.attn.q.weight" in sd)


def t5_from_wan(sd):
    """Wan2.1's own umT5 layout (wan/modules/t5.py T5Encoder, models_t5_umt5-xxl-enc-bf16.pth) → transformers'
    UMT5EncoderModel names, and its config from the shapes (the .pth has no config): heads from the per-block
    position tables [buckets, heads], d_kv = d_model / heads as Wan's T5Attention, gated GELU feed-forward."""
    out = {"shared.weight": sd["token_embedding.weight"], "encoder.final_layer_norm.weight": sd["norm.weight"]}
    layers = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    for i in range(layers):
        b, e = f"blocks.{i}.", f"encoder.block.{i}.layer."
        out[e + "0.layer_norm.weight"] = sd[b + "norm1.weight"]
        for n in "qkvo":
            out[e + f"0.SelfAttention.{n}.weight"] = sd[b + f"attn.{n}.weight"]
        out[e + "0.SelfAttention.relative_attention_bias.weight"] = sd[b + "pos_embedding.embedding.weight"]
        out[e + "1.layer_norm.weight"] = sd[b + "norm2.weight"]
        out[e + "1.DenseReluDense.wi_0.weight"] = sd[b + "ffn.gate.0.weight"]
        out[e + "1.DenseReluDense.wi_1.weight"] = sd[b + "ffn.fc1.weight"]
        out[e + "1.DenseReluDense.wo.weight"] = sd[b + "ffn.fc2.weight"]
    vocab, dim = sd["token_embedding.weight"].shape
    buckets, heads = sd["blocks.0.pos_embedding.embedding.weight"].shape
    config = dict(model_type="umt5", vocab_size=vocab, d_model=dim, d_kv=dim // heads, num_heads=heads,
                  d_ff=sd["blocks.0.ffn.fc1.weight"].shape[0], num_layers=layers, relative_attention_num_buckets=buckets,
                  relative_attention_max_distance=128, feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6,
                  dropout_rate=0.0, tie_word_embeddings=False)
    return out, config


def t5_load(sd, config, path):
    from transformers import T5Config, T5EncoderModel, UMT5EncoderModel

    if "blocks.0.attn.q.weight" in sd:
        sd, config = t5_from_wan(sd)
    if config is None:
        raise DumpError(f"{path}: no config.json beside the text encoder weights")
    sd = {("encoder." + k if k.startswith("block.") or k.startswith("final_layer_norm") else k): v for k, v in sd.items()}
    umt5 = "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight" in sd
    cls = UMT5EncoderModel if umt5 or config.get("model_type") == "umt5" else T5EncoderModel
    cfg = cls.config_class(**{k: v for k, v in config.items() if not k.startswith("_")}) if cls is UMT5EncoderModel else T5Config(**config)
    model = cls(cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [m for m in missing if not m.endswith("embed_tokens.weight")]  # tied to shared.weight
    if missing or unexpected:
        raise DumpError(f"{path}: weights do not match {cls.__name__}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def t5_random(model, size: str, gen):
    (length,) = parse_size(size)
    ids = torch.randint(1, model.config.vocab_size, (1, length), generator=gen)
    return {"input_ids": ids, "attention_mask": torch.ones(1, length, dtype=torch.int64)}


def t5_run(model, inputs, device, dtype):
    rec = Recorder()
    for i, block in enumerate(model.encoder.block):
        rec.output(block, f"blocks.{i}")
    mask = inputs.get("attention_mask", torch.ones_like(inputs["input_ids"]))
    out = model(input_ids=inputs["input_ids"].long().to(device), attention_mask=mask.long().to(device)).last_hidden_state
    # As VaceKit writes `context`: the padded rows (mask 0) set to zero.
    return {"context": out.float().cpu() * mask.float().cpu()[..., None]}, rec.tensors()


# ----------------------------------------------------------------------------------------------------
# LTX-Video 0.9 transformer (LTXVideoTransformer3DModel)
# ----------------------------------------------------------------------------------------------------

def ltx_transformer_detect(sd) -> bool:
    if vace_ltx_detect(sd):
        return False
    return "model.diffusion_model.patchify_proj.weight" in sd or "patchify_proj.weight" in sd or ("proj_in.weight" in sd and "transformer_blocks.0.attn1.to_q.weight" in sd)


def ltx_transformer_load(sd, config, path):
    import inspect

    from diffusers import LTXVideoTransformer3DModel
    from diffusers.loaders.single_file_utils import convert_ltx_transformer_checkpoint_to_diffusers

    if any(k.startswith("model.diffusion_model.") for k in sd) or "patchify_proj.weight" in sd:
        # The LTX-Video single file: transformer keys under model.diffusion_model., the VAE under vae.
        sd = {k: v for k, v in sd.items() if not k.startswith("vae.")}
        sd = convert_ltx_transformer_checkpoint_to_diffusers(dict(sd))
    if config is not None and "single_file" in config:
        config = config["single_file"].get("transformer")
    if config is None:
        raise DumpError(f"{path}: no transformer config (config.json, or the single file's `config` metadata)")
    known = set(inspect.signature(LTXVideoTransformer3DModel.__init__).parameters) - {"self"}
    cfg = {k: v for k, v in config.items() if k in known}
    if cfg.get("qk_norm") == "rms_norm":  # LTX-Video's rms_norm normalises q/k over all heads (diffusers' name)
        cfg["qk_norm"] = "rms_norm_across_heads"
    model = LTXVideoTransformer3DModel(**cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise DumpError(f"{path}: weights do not match LTXVideoTransformer3DModel: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def ltx_transformer_random(model, size: str, gen):
    f, h, w = parse_size(size)
    c = model.config
    mask = torch.ones(1, 16)
    mask[:, 11:] = 0  # a padded caption, as the pipeline pads T5 features to a fixed length
    return {"latents": torch.randn(1, c.in_channels, f, h, w, generator=gen), "timestep": torch.tensor([700.0]),
            "context": torch.randn(1, 16, c.caption_channels, generator=gen), "context_mask": mask,
            "frame_rate": torch.tensor([25.0])}


def ltx_common_inputs(inputs):
    """latents, context, mask, frame rate and STG layers of the `vacekit forward` LTX inputs."""
    latents = inputs["latents"]
    mask = inputs.get("context_mask", torch.ones(inputs["context"].shape[:2]))
    frame_rate = float(inputs["frame_rate"].flatten()[0]) if "frame_rate" in inputs else 25.0
    skip = [int(v) for v in inputs["stg_skip_layers"].flatten().tolist()] if "stg_skip_layers" in inputs else []
    return latents, mask, frame_rate, skip


def ltx_transformer_run(model, inputs, device, dtype):
    rec = Recorder()
    rec.output(model.proj_in, "patch_embedding")
    # time_embedding: the embedded timestep [B, D] (AdaLayerNormSingle's second output; the first is its 6·D projection).
    model.time_embed.register_forward_hook(lambda _m, _a, out: rec.add("time_embedding", out[1]))
    rec.output(model.caption_projection, "text_embedding")
    for i, block in enumerate(model.transformer_blocks):
        rec.output(block, f"blocks.{i}")
    rec.output(model.proj_out, "head")
    latents, mask, frame_rate, skip = ltx_common_inputs(inputs)
    if skip:
        raise DumpError("stg_skip_layers: diffusers' LTXVideoTransformer3DModel has no per-layer attention skip (STG); "
                        "only the VACE-LTX entry (the original code) runs it")
    if "vace_context" in inputs or "vace_scale" in inputs:
        raise DumpError("vace_context / vace_scale given, but this LTX-Video checkpoint has no VACE context blocks")
    b, ch, f, h, w = latents.shape  # patch size 1: tokens in (f, h, w) order, as the LTX pipeline packs them
    tokens = latents.flatten(2).transpose(1, 2)
    # LTXPipeline: (VAE temporal compression / frame rate, spatial compression, spatial compression).
    scale = (8 / frame_rate, 32.0, 32.0)
    out = model(hidden_states=tokens.to(device, dtype), encoder_hidden_states=inputs["context"].to(device, dtype),
                timestep=inputs["timestep"].to(device), encoder_attention_mask=mask.to(device),
                num_frames=f, height=h, width=w, rope_interpolation_scale=scale, return_dict=False)[0]
    noise = out.float().cpu().transpose(1, 2).reshape(b, -1, f, h, w)
    points = rec.tensors()
    order = ["text_embedding", "time_embedding", "patch_embedding"] + [f"blocks.{i}" for i in range(len(model.transformer_blocks))] + ["head"]
    return {"noise_pred": noise}, {f"point.{p}": points[f"point.{p}"] for p in order}


# ----------------------------------------------------------------------------------------------------
# VACE-LTX-Video-0.9 transformer: diffusers has no class for it, so this entry runs the original code,
# ali-vilab/VACE `vace/models/ltx/models/transformers` (VaceTransformer3DModel) on the LTX-Video code of
# the `ltx-video-0.9.1` tag, both checkouts given by --ltx-video / --vace (or VACEKIT_LTX_VIDEO / VACEKIT_VACE).
# ----------------------------------------------------------------------------------------------------

ORIGINAL_CODE = {"ltx_video": None, "vace": None}  # set by main from the flags


def vace_ltx_detect(sd) -> bool:
    return any(k.startswith(("model.diffusion_model.transformer_context_blocks.", "transformer_context_blocks.")) for k in sd)


def vace_ltx_import():
    import importlib.util

    ltx, vace = ORIGINAL_CODE["ltx_video"], ORIGINAL_CODE["vace"]
    if not ltx or not vace:
        raise DumpError("a VACE-LTX checkpoint: diffusers has no VACE-LTX class; give --ltx-video (a Lightricks/LTX-Video "
                        "checkout at tag ltx-video-0.9.1) and --vace (an ali-vilab/VACE checkout)")
    path = os.path.join(vace, "vace", "models", "ltx", "models", "transformers")
    if not os.path.isfile(os.path.join(path, "__init__.py")):
        raise DumpError(f"--vace {vace}: no vace/models/ltx/models/transformers/__init__.py there")
    if not os.path.isdir(os.path.join(ltx, "ltx_video")):
        raise DumpError(f"--ltx-video {ltx}: no ltx_video package there")
    sys.path.insert(0, ltx)
    # `import vace` pulls in the annotators (OpenCV and more): import the model package by its path.
    spec = importlib.util.spec_from_file_location("vace_ltx_transformers", os.path.join(path, "__init__.py"),
                                                  submodule_search_locations=[path])
    module = importlib.util.module_from_spec(spec)
    sys.modules["vace_ltx_transformers"] = module
    spec.loader.exec_module(module)
    return module.VaceTransformer3DModel


def vace_ltx_load(sd, config, path):
    cls = vace_ltx_import()
    if config is not None and "single_file" in config:
        config = config["single_file"].get("transformer")
    if config is None:
        raise DumpError(f"{path}: no transformer config (the VACE-LTX single file's `config` metadata, or config.json)")
    sd = {k[len("model.diffusion_model."):]: v for k, v in sd.items() if k.startswith("model.diffusion_model.")} or \
        {k: v for k, v in sd.items() if not k.startswith("vae.")}
    model = cls.from_config(config)
    # LTX-Video's Transformer3DModel overrides load_state_dict (no result): use torch's own.
    missing, unexpected = torch.nn.Module.load_state_dict(model, sd, strict=False)
    if missing or unexpected:
        raise DumpError(f"{path}: weights do not match VaceTransformer3DModel: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def vace_ltx_random(model, size: str, gen):
    out = ltx_transformer_random(model, size, gen)
    f, h, w = out["latents"].shape[2:]
    out["vace_context"] = torch.randn(1, model.config.in_context_channels, f, h, w, generator=gen)
    return out


def vace_ltx_run(model, inputs, device, dtype):
    from ltx_video.models.transformers.symmetric_patchifier import SymmetricPatchifier
    from ltx_video.utils.skip_layer_strategy import SkipLayerStrategy

    rec = Recorder()
    rec.output(model.patchify_proj, "patch_embedding")
    # time_embedding: the embedded timestep [B, D] (AdaLayerNormSingle's second output).
    model.adaln_single.register_forward_hook(lambda _m, _a, out: rec.add("time_embedding", out[1]))
    rec.output(model.caption_projection, "text_embedding")
    layers = list(model.context_num_layers)
    for k, layer in enumerate(layers):  # hint k = after_proj output (the block's first output), before its scale
        rec.output(model.transformer_context_blocks[layer], f"vace_blocks.{k}")
    for i, block in enumerate(model.transformer_blocks):  # the hint is added inside the main block
        rec.output(block, f"blocks.{i}")
    rec.output(model.proj_out, "head")

    latents, mask, frame_rate, skip = ltx_common_inputs(inputs)
    if "vace_context" not in inputs:
        raise DumpError("this is a VACE-LTX model: the inputs need vace_context")
    scale = inputs["vace_scale"].flatten() if "vace_scale" in inputs else torch.ones(1)
    if scale.numel() != 1:
        raise DumpError(f"vace_scale has {scale.numel()} values: VACE-LTX takes one (the original's context_scale)")
    b, ch, f, h, w = latents.shape
    n = len(model.transformer_blocks)
    if any(not 0 <= s < n for s in skip):
        raise DumpError(f"stg_skip_layers {skip}: layers are 0…{n - 1}")
    tokens = lambda v: v.flatten(2).transpose(1, 2)  # [B, C, F, H, W] -> [B, N, C], n = f·H·W + h·W + w
    ctx = tokens(inputs["vace_context"]).to(device, dtype)
    if ctx.shape[0] != 1:  # the original repeats one context over the batch
        if not all(torch.equal(ctx[0], row) for row in ctx):
            raise DumpError(f"vace_context has {ctx.shape[0]} different rows: the original VACE-LTX takes one context for all rows")
        ctx = ctx[:1]
    # The 0.9.1 pipeline's RoPE grid: scale (1 / latent frame rate, 32, 32), latent frame rate = fps / 8.
    rates = torch.ones(b, 1) * (frame_rate / 8)
    grid = SymmetricPatchifier(patch_size=1).get_grid(orig_num_frames=f, orig_height=h, orig_width=w, batch_size=b,
                                                      scale_grid=(1 / rates, 32, 32), device=device)
    skip_mask = None
    if skip:
        skip_mask = torch.ones(n, b, device=device)
        for layer in skip:
            skip_mask[layer, b - 1] = 0  # the last row: the perturbed row of the VACE pipeline's batch
    # The original takes sigma and multiplies it by timestep_scale_multiplier; VaceKit's timestep is sigma·1000.
    sigma = inputs["timestep"].float() / model.timestep_scale_multiplier
    out = model(tokens(latents).to(device, dtype), grid, source_latents=ctx[..., :ctx.shape[-1] - 128],
                source_mask_latents=ctx[..., ctx.shape[-1] - 128:], encoder_hidden_states=inputs["context"].to(device, dtype),
                encoder_attention_mask=mask.to(device), timestep=sigma.to(device), skip_layer_mask=skip_mask,
                skip_layer_strategy=SkipLayerStrategy.Attention if skip else None, context_scale=float(scale[0]),
                return_dict=False)[0]
    noise = out.float().cpu().transpose(1, 2).reshape(b, -1, f, h, w)
    points = rec.tensors()
    # VaceKit's execution order: the text projection once per run, then each context block just before its main block.
    order = ["text_embedding", "time_embedding", "patch_embedding"]
    for i in range(n):
        if i in layers:
            order.append(f"vace_blocks.{layers.index(i)}")
        order.append(f"blocks.{i}")
    order.append("head")
    return {"noise_pred": noise}, {f"point.{p}": points[f"point.{p}"] for p in order}


# ----------------------------------------------------------------------------------------------------
# The families
# ----------------------------------------------------------------------------------------------------

@dataclass
class Family:
    detect: Callable
    load: Callable
    random_inputs: Callable
    run: Callable
    inputs: tuple[str, ...]   # the input names the entry reads
    example_size: str


FAMILIES = {
    "wan-transformer": Family(wan_transformer_detect, wan_transformer_load, wan_transformer_random, wan_transformer_run,
                              ("latents", "timestep", "context", "vace_context", "vace_scale"), "3x8x12 (latent F x H x W)"),
    "wan-vae": Family(wan_vae_detect, wan_vae_load, wan_vae_random, wan_vae_run, ("video", "latent"), "5x32x32 (pixel T x H x W)"),
    "ltx-vae": Family(ltx_vae_detect, ltx_vae_load, ltx_vae_random, ltx_vae_run, ("video", "latent", "decode_timestep", "decoder_noise.*"),
                      "9x64x64 (pixel T x H x W)"),
    "ltx-transformer": Family(ltx_transformer_detect, ltx_transformer_load, ltx_transformer_random, ltx_transformer_run,
                              ("latents", "timestep", "context", "context_mask", "frame_rate"), "2x4x6 (latent F x H x W)"),
    "vace-ltx-transformer": Family(vace_ltx_detect, vace_ltx_load, vace_ltx_random, vace_ltx_run,
                                   ("latents", "timestep", "context", "context_mask", "frame_rate", "vace_context", "vace_scale",
                                    "stg_skip_layers"), "2x4x6 (latent F x H x W)"),
    "t5": Family(t5_detect, t5_load, t5_random, t5_run, ("input_ids", "attention_mask"), "16 (tokens)"),
}


def parse_size(size: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(x) for x in size.lower().split("x"))
    except ValueError:
        raise DumpError(f"--random-inputs {size}: expected sizes like 3x8x12")
    if any(d <= 0 for d in dims):
        raise DumpError(f"--random-inputs {size}: sizes must be positive")
    return dims


def read_inputs(path: str, allowed: tuple[str, ...]) -> dict[str, torch.Tensor]:
    out = {}
    with safe_open(path, "pt") as h:
        for k in h.keys():
            if k not in allowed and not any(a.endswith(".*") and k.startswith(a[:-1]) for a in allowed):
                raise DumpError(f"{path}: unknown input '{k}' (expected {', '.join(allowed)})")
            out[k] = h.get_tensor(k)
    return out


def save_atomic(path: str, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Writes to a temporary file beside `path` and renames it: an interrupted run leaves no partial dump."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dump-", suffix=".safetensors", dir=d)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        save_file({k: v.contiguous() for k, v in sorted(tensors.items())}, tmp, metadata=metadata)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a dump is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="weights file or folder (official or diffusers layout)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--inputs", help="named inputs (.safetensors), as `vacekit forward` / `vae` / `encode-text` take them")
    src.add_argument("--random-inputs", metavar="SIZE", help="random inputs of this size: " +
                     "; ".join(f"{k} {f.example_size}" for k, f in FAMILIES.items()))
    p.add_argument("--output", required=True, help="the dump (.safetensors)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (cuda:N)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--family", choices=sorted(FAMILIES), help="default: recognised from the tensor names")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-inputs")
    p.add_argument("--ltx-video", default=os.environ.get("VACEKIT_LTX_VIDEO"),
                   help="VACE-LTX only: a Lightricks/LTX-Video checkout at tag ltx-video-0.9.1 (default $VACEKIT_LTX_VIDEO)")
    p.add_argument("--vace", default=os.environ.get("VACEKIT_VACE"),
                   help="VACE-LTX only: an ali-vilab/VACE checkout (default $VACEKIT_VACE)")
    a = p.parse_args(argv)
    ORIGINAL_CODE.update(ltx_video=a.ltx_video, vace=a.vace)
    try:
        files = weight_files(a.checkpoint)
        sd = load_state_dict(files)
        config = find_config(a.checkpoint, files)
        name = a.family or next((k for k, f in FAMILIES.items() if f.detect(sd)), None)
        if name is None:
            raise DumpError(f"{a.checkpoint}: not a checkpoint of a known family ({', '.join(FAMILIES)}); give --family")
        fam = FAMILIES[name]
        if a.device.startswith("cuda") and not torch.cuda.is_available():
            raise DumpError(f"--device {a.device}: this torch has no CUDA device")
        dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[a.dtype]
        model = fam.load(sd, config, a.checkpoint).eval()
        del sd
        model = model.to(a.device)
        if dtype != torch.float32:
            # As diffusers' from_pretrained(torch_dtype=...) does: the modules it keeps in float32 stay so.
            model = model.to(dtype)
            keep = getattr(model, "_keep_in_fp32_modules", None) or []
            for mname, module in model.named_modules():
                if any(part in keep for part in mname.split(".")):
                    module.float()
        if a.inputs:
            inputs = read_inputs(a.inputs, fam.inputs)
        else:
            inputs = fam.random_inputs(model, a.random_inputs, torch.Generator().manual_seed(a.seed))
        with torch.no_grad():
            outputs, points = fam.run(model, inputs, a.device, dtype)
        tensors = {k: v.float() if v.is_floating_point() else v.float() for k, v in inputs.items()}
        tensors.update(outputs)
        tensors.update(points)
        meta = {"vacekit_dump": json.dumps({"family": name, "dtype": a.dtype, "device": a.device, "outputs": sorted(outputs),
                                            "points": [k[len("point."):] for k in points],
                                            "torch": torch.__version__})}
        save_atomic(a.output, tensors, meta)
    except DumpError as e:
        print(f"dump_reference.py: {e}", file=sys.stderr)
        return 1
    print(f"{a.output}: {name}, {len(points)} points, outputs {', '.join(outputs)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

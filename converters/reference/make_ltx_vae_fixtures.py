"""LTX-Video 0.9.1 and 0.9.5 VAE fixtures: tiny random AutoencoderKLLTXVideo models shaped like the released
0.9.1 / 0.9.5 configs (timestep-conditioned decoder, residual depth-to-space upsamplers with channel factor 2,
noise injection in 0.9.1; the space-to-depth residual encoder of 0.9.5), saved in the official single-file
layout (`vae.*` keys + header `config` JSON in LTX-Video "ours" naming) and in the diffusers layout, with
reference encode and decode outputs.

The 0.9.1 decoder draws `torch.randn(H, W)` after conv1 and conv2 of each noise block; here every draw is
recorded under the name of the per_channel_scale tensor it multiplies (official naming), so that a port given
the same maps reproduces the decode exactly. The pre-decode latent noise is mixed into the NORMALISED latent
as LTX-Video's pipeline does (pipeline_ltx_video.py, before vae_decode/un_normalize_latents).

Run from the repository root:  nice /work/venv-ref/bin/python converters/reference/make_ltx_vae_fixtures.py
Writes Tests/Fixtures/ltx_vae/ only (deleted and rewritten).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FIXTURES, generator, randomize_, save_safetensors, setup_determinism, stats  # noqa: E402
from diffusers import AutoencoderKLLTXVideo  # noqa: E402
from diffusers.loaders.single_file_utils import convert_ltx_vae_checkpoint_to_diffusers  # noqa: E402
from diffusers.models.autoencoders import autoencoder_kl_ltx  # noqa: E402

OUT = os.path.join(FIXTURES, "ltx_vae")
SEED = 20261203
# 16 latent channels instead of 128: the latent width only sizes conv_in/conv_out and the statistics, and
# 128 would make the fixtures four times larger.
LATENT = 16

# Released 0.9.1 (diffusers/LTX-Video-0.9.1 vae config): encoder as 0.9; decoder_block_out_channels
# (256, 512, 1024), layers (5, 6, 7, 8), inject_noise (T, T, T, F), residual upsamplers with factor 2.
# Tiny: widths / 32, fewer layers; same number of stages, same flags.
V091 = dict(in_channels=3, out_channels=3, latent_channels=LATENT, block_out_channels=(4, 8, 16, 16),
            decoder_block_out_channels=(8, 16, 32), layers_per_block=(2, 1, 1, 1, 2),
            decoder_layers_per_block=(1, 2, 1, 1), spatio_temporal_scaling=(True, True, True, False),
            decoder_spatio_temporal_scaling=(True, True, True), decoder_inject_noise=(True, True, True, False),
            upsample_residual=(True, True, True), upsample_factor=(2, 2, 2), timestep_conditioning=True,
            patch_size=4, patch_size_t=1, resnet_norm_eps=1e-6, scaling_factor=1.0, encoder_causal=True,
            decoder_causal=False)
# Released 0.9.5 (Lightricks/LTX-Video-0.9.5 vae config): block_out_channels (128, 256, 512, 1024, 2048),
# layers (4, 6, 6, 2, 2), LTXVideo095DownBlock3D with spatial/temporal/spatiotemporal/spatiotemporal
# residual downsamplers; decoder (256, 512, 1024), layers (5, 5, 5, 5), no noise, residual upsamplers x2.
V095 = dict(in_channels=3, out_channels=3, latent_channels=LATENT, block_out_channels=(2, 4, 8, 16, 32),
            down_block_types=("LTXVideo095DownBlock3D",) * 4, decoder_block_out_channels=(8, 16, 32),
            layers_per_block=(2, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 2, 1),
            spatio_temporal_scaling=(True, True, True, True), decoder_spatio_temporal_scaling=(True, True, True),
            decoder_inject_noise=(False, False, False, False),
            downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
            upsample_residual=(True, True, True), upsample_factor=(2, 2, 2), timestep_conditioning=True,
            patch_size=4, patch_size_t=1, resnet_norm_eps=1e-6, scaling_factor=1.0, encoder_causal=True,
            decoder_causal=False,
            # Given explicitly as in the released config: diffusers' default counts every downsampler as
            # spatiotemporal (4 x 2^4 = 64), but one is spatial-only and one temporal-only.
            spatial_compression_ratio=32, temporal_compression_ratio=8)


def ours_config(version: str, cfg: dict) -> dict:
    """The LTX-Video header config ("ours" naming) of `cfg`; 0.9.1+ headers write block params as dicts."""
    L, D = cfg["layers_per_block"], cfg["decoder_layers_per_block"]
    if version == "0.9.1":
        enc = [["res_x", {"num_layers": L[0]}], ["compress_all", {}], ["res_x_y", {"multiplier": 2}],
               ["res_x", {"num_layers": L[1]}], ["compress_all", {}], ["res_x_y", {"multiplier": 2}],
               ["res_x", {"num_layers": L[2]}], ["compress_all", {}], ["res_x", {"num_layers": L[3]}],
               ["res_x", {"num_layers": L[4]}]]
    else:
        kinds = {"spatial": "compress_space_res", "temporal": "compress_time_res", "spatiotemporal": "compress_all_res"}
        enc = []
        for i, kind in enumerate(cfg["downsample_type"]):
            enc += [["res_x", {"num_layers": L[i]}], [kinds[kind], {"multiplier": 2}]]
        enc.append(["res_x", {"num_layers": L[4]}])
    noise = cfg["decoder_inject_noise"]
    dec = []
    for i in range(3):  # encoder order: the decoder walks this list reversed (its mid block is the last res_x)
        dec += [["res_x", {"num_layers": D[i], "inject_noise": noise[i]}],
                ["compress_all", {"residual": True, "multiplier": 2}]]
    dec.append(["res_x", {"num_layers": D[3], "inject_noise": noise[3]}])
    return {"_class_name": "CausalVideoAutoencoder", "dims": 3, "in_channels": 3, "out_channels": 3,
            "latent_channels": cfg["latent_channels"], "encoder_blocks": enc, "decoder_blocks": dec, "scaling_factor": 1.0,
            "norm_layer": "pixel_norm", "patch_size": 4, "latent_log_var": "uniform", "use_quant_conv": False,
            "causal_decoder": False, "timestep_conditioning": True,
            # Not in the real headers (LTX-Video's Encoder/Decoder default to 128): the tiny widths.
            "encoder_base_channels": cfg["block_out_channels"][0],
            "decoder_base_channels": cfg["decoder_block_out_channels"][0] // 2}


def to_official(version: str, key: str) -> str:
    """diffusers name -> official name (the inverse of convert_ltx_vae_checkpoint_to_diffusers)."""
    k = key
    m = re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.(.*)", k)
    if m:
        k = f"decoder.UP.{2 * int(m[1]) + 1}.{m[2]}"
    m = re.match(r"decoder\.up_blocks\.(\d+)\.(.*)", k)
    if m:
        k = f"decoder.UP.{2 * int(m[1]) + 2}.{m[2]}"
    k = k.replace("decoder.mid_block.", "decoder.UP.0.")
    k = re.sub(r"^decoder\.time_embedder\.", "decoder.last_time_embedder.", k)
    k = re.sub(r"^decoder\.scale_shift_table$", "decoder.last_scale_shift_table", k)
    if version == "0.9.5":
        m = re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.(.*)", k)
        if m:
            k = f"encoder.DOWN.{2 * int(m[1]) + 1}.{m[2]}"
        m = re.match(r"encoder\.down_blocks\.(\d+)\.(.*)", k)
        if m:
            k = f"encoder.DOWN.{2 * int(m[1])}.{m[2]}"
        k = k.replace("encoder.mid_block.", "encoder.DOWN.8.")
    else:
        start = {0: 0, 1: 3, 2: 6, 3: 8}  # 0.9 encoder: stages 0-2 have res_x, compress_all, res_x_y; stage 3 res_x only
        m = re.match(r"encoder\.down_blocks\.(\d+)\.(downsamplers\.0|conv_out)\.(.*)", k)
        if m:
            k = f"encoder.DOWN.{start[int(m[1])] + (1 if m[2] != 'conv_out' else 2)}.{m[3]}"
        m = re.match(r"encoder\.down_blocks\.(\d+)\.(.*)", k)
        if m:
            k = f"encoder.DOWN.{start[int(m[1])]}.{m[2]}"
        k = k.replace("encoder.mid_block.", "encoder.DOWN.9.")
    k = k.replace(".UP.", ".up_blocks.").replace(".DOWN.", ".down_blocks.")
    k = k.replace("conv_shortcut.conv.", "conv_shortcut.").replace("resnets", "res_blocks")
    k = re.sub(r"\.norm3\.(weight|bias)$", r".norm3.norm.\1", k)
    k = {"latents_mean": "per_channel_statistics.mean-of-means",
         "latents_std": "per_channel_statistics.std-of-means"}.get(k, k)
    return "vae." + k


def build(version: str, cfg: dict, seed: int) -> AutoencoderKLLTXVideo:
    vae = AutoencoderKLLTXVideo(**cfg).eval()
    overrides = {"latents_mean": lambda s, g: 0.2 * torch.randn(s, generator=g),
                 "latents_std": lambda s, g: torch.exp(0.25 * torch.randn(s, generator=g)),
                 # Learned in a trained file (not 1000): a port that hard-codes 1000 must fail.
                 "decoder.timestep_scale_multiplier": lambda s, g: 800 + 100 * torch.rand(s, generator=g)}
    for name, _ in vae.named_parameters():
        if "per_channel_scale" in name:
            overrides[name] = lambda s, g: 0.5 * torch.randn(s, generator=g)
    randomize_(vae, seed, overrides=overrides)
    return vae


class RecordedNoise:
    """Stands in for torch.randn inside the diffusers VAE module: each spatial noise draw is made from a
    seeded generator (or replayed) and recorded under the official per_channel_scale name it multiplies."""

    def __init__(self, vae, version, seed, replay=None):
        self.maps, self.replay, self.current, self.calls = {}, replay, None, 0
        self.gen = generator(seed)
        self.hooks = []
        for name, mod in vae.named_modules():
            if isinstance(mod, autoencoder_kl_ltx.LTXVideoResnetBlock3d) and mod.per_channel_scale1 is not None:
                self.hooks.append(mod.register_forward_pre_hook(self._enter(name)))
        self.version = version

    def _enter(self, name):
        def hook(_mod, _args):
            self.current, self.calls = name, 0
        return hook

    def __enter__(self):
        self.original = autoencoder_kl_ltx.torch.randn
        outer = self

        class Shim:  # only the module's `torch.randn` changes
            def __getattr__(self, item):
                return outer.randn if item == "randn" else getattr(torch, item)

        autoencoder_kl_ltx.torch = Shim()
        return self

    def randn(self, *shape, generator=None, device=None, dtype=None):
        self.calls += 1
        name = to_official(self.version, f"{self.current}.per_channel_scale{self.calls}")[len("vae."):]
        t = self.replay[name] if self.replay is not None else self.original(*shape, generator=self.gen)
        self.maps[name] = t.clone()
        return t.to(dtype)

    def __exit__(self, *exc):
        autoencoder_kl_ltx.torch = torch
        for h in self.hooks:
            h.remove()


@torch.no_grad()
def make(version: str, cfg: dict, seed: int) -> dict:
    root = os.path.join(OUT, version)
    vae = build(version, cfg, seed)
    sd = vae.state_dict()
    official = {to_official(version, k): v for k, v in sd.items()}
    assert len(official) == len(sd), "two diffusers keys map to one official name"
    # Real files carry unused statistics; diffusers drops them.
    g = generator(seed + 1)
    official["vae.per_channel_statistics.channel"] = torch.arange(LATENT, dtype=torch.float32)
    official["vae.per_channel_statistics.mean-of-stds"] = torch.exp(0.25 * torch.randn(LATENT, generator=g))
    # Proof of the official layout: diffusers' own single-file converter maps it back exactly.
    probe = {k: v.clone() for k, v in official.items()}
    if version == "0.9.5":
        # diffusers tells 0.9.5 by a 2048-wide encoder conv_out (the released width): show it a stand-in of
        # that width for the one key it tests, then put the tiny tensor back (that key is a plain rename).
        probe["vae.encoder.conv_out.conv.weight"] = torch.zeros(LATENT + 1, 2048, 3, 3, 3)
    back = convert_ltx_vae_checkpoint_to_diffusers(probe)
    if version == "0.9.5":
        back["encoder.conv_out.conv.weight"] = official["vae.encoder.conv_out.conv.weight"]
    assert set(back) == set(sd), (sorted(set(back) ^ set(sd)))[:6]
    assert all(torch.equal(back[k], sd[k]) for k in sd)
    header = {"vae": ours_config(version, cfg)}
    path = os.path.join(root, "official", f"ltx-video-vae-{version}-tiny.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_safetensors(path, official, metadata={"config": json.dumps(header, sort_keys=True)})
    vae.save_pretrained(os.path.join(root, "diffusers", "vae"), safe_serialization=True)

    g = generator(seed + 2)
    video = torch.rand(1, 3, 9, 32, 64, generator=g) * 2 - 1         # 8k+1 frames, H != W, multiples of 32
    post = vae.encode(video).latent_dist
    lm, ls = vae.latents_mean.view(1, -1, 1, 1, 1), vae.latents_std.view(1, -1, 1, 1, 1)
    z_norm = torch.randn(1, LATENT, 2, 1, 2, generator=g)               # the normalised latent a pipeline decodes
    eps = torch.randn(z_norm.shape, generator=g)                      # decode_noise
    out = {"encode_input": video, "posterior_mean": post.mean, "latents_normalized": (post.mean - lm) / ls,
           "decode_input": z_norm, "decode_noise": eps}
    cases = {"decoded": (0.05, 0.025), "decoded_t02_s0": (0.2, 0.0)}  # (decode_timestep, decode_noise_scale)
    maps = None
    for case, (t, s) in cases.items():
        z = (z_norm * (1 - s) + eps * s) * ls + lm
        with RecordedNoise(vae, version, seed + 3, replay=maps) as rec:
            out[case] = vae.decode(z, temb=torch.tensor([t]), return_dict=False)[0]
        maps = rec.maps
    if version == "0.9.5":
        # Spatial tiling as diffusers does it: 64-pixel tiles every 32 pixels (overlap 32), on a 96x128 frame.
        z_tiles = torch.randn(1, LATENT, 2, 3, 4, generator=g)
        raw = z_tiles * ls + lm
        out["tiles_input"] = z_tiles
        out["decoded_untiled"] = vae.decode(raw, temb=torch.tensor([0.05]), return_dict=False)[0]
        vae.enable_tiling(tile_sample_min_height=64, tile_sample_min_width=64, tile_sample_stride_height=32,
                          tile_sample_stride_width=32)
        out["decoded_tiled"] = vae.decode(raw, temb=torch.tensor([0.05]), return_dict=False)[0]
        vae.disable_tiling()
    for name, m in (maps or {}).items():
        out["decoder_noise." + name[len("decoder."):]] = m
    save_safetensors(os.path.join(root, "reference.safetensors"), out)
    return {"diffusers_config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
            "official_header_vae": header["vae"],
            "timestep_scale_multiplier": float(vae.decoder.timestep_scale_multiplier),
            "cases": {c: {"decode_timestep": t, "decode_noise_scale": s} for c, (t, s) in cases.items()},
            "noise_maps": sorted(maps or {}),
            "magnitudes": {k: stats(v) for k, v in sorted(out.items()) if not k.startswith("decoder_noise.")}}


def main() -> None:
    setup_determinism()
    shutil.rmtree(OUT, ignore_errors=True)
    notes = {"generator": "converters/reference/make_ltx_vae_fixtures.py", "seed": SEED,
             "0.9.1": make("0.9.1", V091, SEED), "0.9.5": make("0.9.5", V095, SEED + 10)}
    with open(os.path.join(OUT, "notes.json"), "w") as f:
        json.dump(notes, f, indent=1, sort_keys=True)
        f.write("\n")
    for dirpath, _, files in sorted(os.walk(OUT)):
        for name in sorted(files):
            p = os.path.join(dirpath, name)
            print(f"{os.path.relpath(p, FIXTURES)}  {os.path.getsize(p)}")


if __name__ == "__main__":
    main()

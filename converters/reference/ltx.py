"""LTX-Video 0.9 fixtures: tiny random transformer + 0.9-layout VAE, single-file and diffusers layouts,
transformer forward (with a caption mask) and VAE encode/decode references."""

from __future__ import annotations

import json
import os

import torch
from diffusers import AutoencoderKLLTXVideo, LTXVideoTransformer3DModel

from common import FIXTURES, Manifest, generator, load_safetensors, randomize_, rel_l2, save_safetensors, stats
from keymaps import CONVERTERS, check_roundtrip, ltx_transformer_to_official, ltx_vae_to_official, to_official

MODEL_T = "ltx-video-0.9"
MODEL_VAE = "ltx-video-0.9-vae"

# Tiny transformer: inner dim 64 (2 heads x 32). 64 % 6 = 4, so RoPE has 4 identity slots in front
# (the real model, 2048 wide, has 2). caption_channels (48) != inner dim (64) so that a transposed
# caption projection cannot go unnoticed; cross_attention_dim must equal the inner dim (captions are
# projected to it before cross-attention).
LTX_T = dict(in_channels=128, out_channels=128, patch_size=1, patch_size_t=1, num_attention_heads=2,
             attention_head_dim=32, cross_attention_dim=64, num_layers=2, activation_fn="gelu-approximate",
             qk_norm="rms_norm_across_heads", norm_elementwise_affine=False, norm_eps=1e-6, caption_channels=48,
             attention_bias=True, attention_out_bias=True)

# 0.9 VAE layout (ltx-vace.md §1.1/§1.3), base channels 4 instead of 128 and fewer res layers per stage;
# latent_channels stays 128 (the DiT/VACE side depends on it). Symmetric layer counts because the 0.9
# config has ONE `blocks` list that the decoder walks in reverse.
LTX_VAE_LAYERS = (2, 1, 1, 1, 2)
LTX_VAE = dict(in_channels=3, out_channels=3, latent_channels=128, block_out_channels=(4, 8, 16, 16),
               decoder_block_out_channels=(4, 8, 16, 16), layers_per_block=LTX_VAE_LAYERS,
               decoder_layers_per_block=LTX_VAE_LAYERS, spatio_temporal_scaling=(True, True, True, False),
               decoder_spatio_temporal_scaling=(True, True, True, False),
               decoder_inject_noise=(False, False, False, False, False), upsample_residual=(False,) * 4,
               upsample_factor=(1,) * 4, timestep_conditioning=False, patch_size=4, patch_size_t=1,
               resnet_norm_eps=1e-6, scaling_factor=1.0, encoder_causal=True, decoder_causal=False)

# The single-file header config ("ours" naming), as in ltx-video-2b-v0.9.safetensors (the dicts are the
# LTX-Video repository's OURS_*_CONFIG with the tiny dimensions substituted).
OURS_TRANSFORMER = {
    "_class_name": "Transformer3DModel", "_diffusers_version": "0.25.1",
    "_name_or_path": "PixArt-alpha/PixArt-XL-2-256x256", "activation_fn": "gelu-approximate",
    "attention_bias": True, "attention_head_dim": 32, "attention_type": "default", "caption_channels": 48,
    "cross_attention_dim": 64, "double_self_attention": False, "dropout": 0.0, "in_channels": 128,
    "norm_elementwise_affine": False, "norm_eps": 1e-06, "norm_num_groups": 32, "num_attention_heads": 2,
    "num_embeds_ada_norm": 1000, "num_layers": 2, "num_vector_embeds": None, "only_cross_attention": False,
    "out_channels": 128, "project_to_2d_pos": True, "upcast_attention": False, "use_linear_projection": False,
    "qk_norm": "rms_norm", "standardization_norm": "rms_norm", "positional_embedding_type": "rope",
    "positional_embedding_theta": 10000.0, "positional_embedding_max_pos": [20, 2048, 2048],
    "timestep_scale_multiplier": 1000,
}
_L = LTX_VAE_LAYERS
OURS_VAE = {
    "_class_name": "CausalVideoAutoencoder", "dims": 3, "in_channels": 3, "out_channels": 3,
    "latent_channels": 128,
    "blocks": [["res_x", _L[0]], ["compress_all", 1], ["res_x_y", 1], ["res_x", _L[1]], ["compress_all", 1],
               ["res_x_y", 1], ["res_x", _L[2]], ["compress_all", 1], ["res_x", _L[3]], ["res_x", _L[4]]],
    "scaling_factor": 1.0, "norm_layer": "pixel_norm", "patch_size": 4, "latent_log_var": "uniform",
    "use_quant_conv": False, "causal_decoder": False,
    # Not in the real 0.9 header (it relies on the default 128); LTX-Video's from_config reads these keys.
    "encoder_base_channels": 4, "decoder_base_channels": 4,
}
OURS_SCHEDULER = {"_class_name": "RectifiedFlowScheduler", "_diffusers_version": "0.25.1",
                  "num_train_timesteps": 1000, "shifting": "SD3", "base_resolution": None,
                  "target_shift_terminal": 0.1}

SINGLE_FILE = "ltx-video-2b-v0.9-tiny.safetensors"


def build_models(seed: int):
    transformer = LTXVideoTransformer3DModel(**LTX_T).eval()
    randomize_(transformer, seed + 101)
    vae = AutoencoderKLLTXVideo(**LTX_VAE).eval()
    randomize_(vae, seed + 102, overrides={
        "latents_mean": lambda s, g: 0.2 * torch.randn(s, generator=g),
        "latents_std": lambda s, g: torch.exp(0.25 * torch.randn(s, generator=g)),
    })
    return transformer, vae


def save_models(transformer, vae, seed: int, man: Manifest) -> None:
    tsd, vsd = transformer.state_dict(), vae.state_dict()
    official = {**to_official(tsd, ltx_transformer_to_official), **to_official(vsd, ltx_vae_to_official)}
    # Real single files also carry unused per-channel statistics; diffusers' converter drops them. Include
    # them so readers are tested on ignoring them.
    g = generator(seed + 103)
    mean_of_stds = torch.exp(0.25 * torch.randn(128, generator=g))
    official["vae.per_channel_statistics.channel"] = torch.arange(128, dtype=torch.float32)
    official["vae.per_channel_statistics.mean-of-stds"] = mean_of_stds
    official["vae.per_channel_statistics.mean-of-stds_over_std-of-means"] = (
        mean_of_stds / official["vae.per_channel_statistics.std-of-means"])
    check_roundtrip(official, tsd, CONVERTERS["ltx_transformer"], "LTX transformer")
    check_roundtrip(official, vsd, CONVERTERS["ltx_vae"], "LTX VAE")

    config = json.dumps({"transformer": OURS_TRANSFORMER, "vae": OURS_VAE, "scheduler": OURS_SCHEDULER},
                        sort_keys=True)
    path = os.path.join(FIXTURES, "ltx", "official", SINGLE_FILE)
    save_safetensors(path, official, metadata={"config": config})
    man.add(path, fmt="safetensors", layout="official", model=MODEL_T, role="weights")

    for sub, mod, model in (("transformer", transformer, MODEL_T), ("vae", vae, MODEL_VAE)):
        d = os.path.join(FIXTURES, "ltx", "diffusers", sub)
        mod.save_pretrained(d, safe_serialization=True)
        man.add(os.path.join(d, "diffusion_pytorch_model.safetensors"), fmt="safetensors", layout="diffusers",
                model=model, role="weights")
        man.add(os.path.join(d, "config.json"), fmt="json", layout="diffusers", model=model, role="config")
        back = load_safetensors(os.path.join(d, "diffusion_pytorch_model.safetensors"))
        ref = mod.state_dict()
        assert set(back) == set(ref) and all(torch.equal(back[k], ref[k]) for k in ref), sub


@torch.no_grad()
def forward_case(transformer, seed: int, man: Manifest) -> dict:
    g = generator(seed + 110)
    F, H, W, L, valid = 3, 4, 6, 16, 9  # latent grid (H != W), caption tokens, unmasked tokens
    frame_rate = 25.0
    rope_scale = (8 / frame_rate, 32.0, 32.0)  # (temporal compression / fps, spatial, spatial), as LTXPipeline
    hidden = torch.randn(1, F * H * W, 128, generator=g)     # token layout [B, N, C], n = f*H*W + h*W + w
    captions = torch.randn(1, L, LTX_T["caption_channels"], generator=g)  # padded rows are random, not 0
    mask = torch.zeros(1, L)
    mask[:, :valid] = 1.0
    sigma = 0.75
    timestep = torch.tensor([sigma * 1000.0])

    def run(m):
        return transformer(hidden_states=hidden, encoder_hidden_states=captions, timestep=timestep,
                           encoder_attention_mask=m, num_frames=F, height=H, width=W,
                           rope_interpolation_scale=rope_scale, return_dict=False)[0]

    out = {"hidden_states": hidden, "encoder_hidden_states": captions, "encoder_attention_mask": mask,
           "timestep": timestep, "rope_interpolation_scale": torch.tensor(rope_scale, dtype=torch.float32),
           "output": run(mask), "output_unmasked": run(torch.ones(1, L))}
    path = os.path.join(FIXTURES, "reference", "ltx_forward.safetensors")
    save_safetensors(path, out)
    man.add(path, fmt="safetensors", model=MODEL_T, role="reference", case="ltx_forward")
    return {
        "what": "LTXVideoTransformer3DModel.forward (diffusers 0.42.1, float32, CPU) on the tiny random model in "
                "ltx/. hidden_states [1,72,128] = tokens of a latent grid num_frames=3, height=4, width=6 "
                "(token n = f*24 + h*6 + w); encoder_hidden_states [1,16,48] (T5-side features; all 16 rows "
                "random, including the masked ones); encoder_attention_mask [1,16] = 1 for the first 9 tokens, "
                "0 after (diffusers turns it into the additive bias (1-mask)*-10000); timestep [1] = 750.0 = "
                "sigma 0.75 * 1000 (diffusers takes sigma*1000; the official model takes sigma and multiplies "
                "by timestep_scale_multiplier 1000 itself).",
        "rope": "rope_interpolation_scale = (8/25, 32, 32) (= vae temporal compression / frame_rate 25, spatial "
                "compression, spatial compression, as LTXPipeline passes): coordinates (f*0.32, h*32, w*32) "
                "divided by (20, 2048, 2048); the stored tensor holds these three numbers.",
        "outputs": "output [1,72,128] with the mask; output_unmasked with an all-ones mask (shows the mask "
                   "matters: see differences).",
        "magnitudes": {k: stats(out[k]) for k in ("output", "output_unmasked")},
        "differences": {"masked_vs_unmasked_rel_l2": round(rel_l2(out["output"], out["output_unmasked"]), 4)},
    }


@torch.no_grad()
def vae_case(vae, seed: int, man: Manifest) -> dict:
    g = generator(seed + 120)
    video = torch.rand(1, 3, 9, 64, 96, generator=g) * 2 - 1  # T = 8k+1, H != W, multiples of 32
    post = vae.encode(video).latent_dist
    z = torch.randn(1, 128, 2, 2, 3, generator=g)
    decoded = vae.decode(z, return_dict=False)[0]
    lm = vae.latents_mean.view(1, -1, 1, 1, 1)
    ls = vae.latents_std.view(1, -1, 1, 1, 1)
    out = {"encode_input": video, "posterior_mean": post.mean, "posterior_logvar": post.logvar,
           "latents_normalized": (post.mean - lm) * vae.config.scaling_factor / ls,
           "decode_input": z, "decoded": decoded}
    path = os.path.join(FIXTURES, "reference", "ltx_vae.safetensors")
    save_safetensors(path, out)
    man.add(path, fmt="safetensors", model=MODEL_VAE, role="reference", case="ltx_vae")
    return {
        "what": "AutoencoderKLLTXVideo (diffusers 0.42.1, float32, CPU, no tiling/framewise) in the 0.9 layout "
                "(no timestep conditioning, no noise injection, non-causal decoder), tiny: block_out_channels "
                f"(4,8,16,16), layers {list(LTX_VAE_LAYERS)} (official blocks list in the single-file header), "
                "latent_channels 128, patch_size 4.",
        "encode": "encode_input [1,3,9,64,96] in [-1,1] -> latent_dist: posterior_mean [1,128,2,2,3] (encoder "
                  "channels 0..127), posterior_logvar [1,128,2,2,3] = encoder channel 128 repeated over all 128 "
                  "channels ('uniform' log-variance), clamped to [-30,20]. latents_normalized = (mean - "
                  "latents_mean) * 1.0 / latents_std, using the file's per_channel_statistics.mean-of-means / "
                  "std-of-means (diffusers latents_mean / latents_std).",
        "decode": "decode_input [1,128,2,2,3] (raw latents, N(0,1)) -> decode(z, temb=None) -> decoded "
                  "[1,3,9,64,96] (not clamped).",
        "magnitudes": {k: stats(v) for k, v in sorted(out.items())},
    }


def run(seed: int, man: Manifest) -> None:
    transformer, vae = build_models(seed)
    save_models(transformer, vae, seed, man)
    man.notes["ltx_models"] = {
        "transformer_diffusers_config": LTX_T,
        "vae_diffusers_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in LTX_VAE.items()},
        "single_file": f"ltx/official/{SINGLE_FILE}: transformer keys 'model.diffusion_model.*', VAE keys "
                       "'vae.*', safetensors __metadata__ 'config' = JSON string with 'transformer', 'vae', "
                       "'scheduler' (LTX-Video 'ours' naming). Also holds vae.per_channel_statistics.{channel, "
                       "mean-of-stds, mean-of-stds_over_std-of-means}, which real files carry and loaders ignore.",
        "official_layout": "keys = LTX-Video's own diffusers->ours rename table (diffusers_config_mapping.py) plus "
                           "prefixes; the script asserts that diffusers' convert_ltx_transformer_checkpoint_to_"
                           "diffusers / convert_ltx_vae_checkpoint_to_diffusers map the file back to the diffusers "
                           "state dicts exactly.",
        "randomisation": "as for Wan; VAE latents_mean 0.2N, latents_std exp(0.25N).",
        "vae_base_channels": "encoder_base_channels / decoder_base_channels (4) are extra header keys that "
                             "LTX-Video's from_config understands; the real 0.9 header omits them (default 128).",
    }
    man.notes["ltx_forward"] = forward_case(transformer, seed, man)
    man.notes["ltx_vae"] = vae_case(vae, seed, man)

"""Wan2.1-VACE fixtures: tiny random transformer + VAE, both key layouts, forward / VAE / pipeline references."""

from __future__ import annotations

import os

import torch
from diffusers import (
    AutoencoderKLWan,
    FlowMatchEulerDiscreteScheduler,
    WanTransformer3DModel,
    WanVACEPipeline,
    WanVACETransformer3DModel,
)

from common import (
    FIXTURES,
    Manifest,
    generator,
    load_safetensors,
    randomize_,
    rel_l2,
    save_json,
    save_pth_deterministic,
    save_safetensors,
    stats,
)
from keymaps import CONVERTERS, check_roundtrip, to_official, wan_transformer_to_official, wan_vae_to_official

MODEL_T = "wan2.1-vace"
MODEL_VAE = "wan2.1-vae"

# Tiny transformer. head_dim 32 splits into RoPE axes t/h/w = 12/10/10 (d - 4*floor(d/6), 2*floor(d/6), ...).
# text_dim (48) != dim (64) != ffn (128) so that a transposed matrix cannot go unnoticed.
WAN_T = dict(
    patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=32, in_channels=16, out_channels=16,
    text_dim=48, freq_dim=256, ffn_dim=128, num_layers=4, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
    eps=1e-6, rope_max_seq_len=1024, vace_layers=[0, 2], vace_in_channels=96,
)
TEXT_LEN = 512  # official text_len: the official model zero-pads the context to this many rows

# Official config.json: exactly the fields the official Wan2.1-VACE config.json has (wan-vace.md §1.1).
# text_dim / patch_size / qk_norm / cross_attn_norm / window_size are NOT stored there (ignore_for_config);
# readers take text_dim from text_embedding.0.weight ([dim, text_dim]).
WAN_OFFICIAL_CONFIG = {
    "_class_name": "VaceWanModel", "_diffusers_version": "0.30.0", "model_type": "vace",
    "dim": 64, "ffn_dim": 128, "freq_dim": 256, "num_heads": 2, "num_layers": 4, "in_dim": 16, "out_dim": 16,
    "text_len": TEXT_LEN, "eps": 1e-6, "vace_layers": [0, 2], "vace_in_dim": 96,
}

# Tiny VAE: diffusers' Wan VAE converter hard-codes the block layout, so only base_dim shrinks (96 -> 4:
# channels 4/8/16/16). base_dim 8 would cost 3.7 MB per copy, and this VAE is stored three times
# (.pth, official .safetensors, diffusers), which would break the ~20 MB fixture budget.
WAN_VAE = dict(base_dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
               temperal_downsample=[False, True, True], dropout=0.0)
# The decoder ends in clamp(-1, 1); a smaller last conv keeps the output mostly inside that range so the
# clamp does not hide errors.
WAN_VAE_GAINS = {"decoder.conv_out": 0.3}


def _pad_text(ctx: torch.Tensor, length: int = TEXT_LEN) -> torch.Tensor:
    """Zero-pad [B, L, C] to [B, length, C], like the official WanModel (and diffusers' own T5 path) do."""
    pad = ctx.new_zeros(ctx.shape[0], length - ctx.shape[1], ctx.shape[2])
    return torch.cat([ctx, pad], dim=1)


def build_models(seed: int):
    transformer = WanVACETransformer3DModel(**WAN_T).eval()
    randomize_(transformer, seed + 1)
    vae = AutoencoderKLWan(**WAN_VAE).eval()
    randomize_(vae, seed + 2, gains=WAN_VAE_GAINS)
    return transformer, vae


def save_models(transformer, vae, man: Manifest) -> None:
    # --- transformer, official layout ---
    sd = transformer.state_dict()
    official = to_official(sd, wan_transformer_to_official)
    check_roundtrip(official, sd, CONVERTERS["wan_transformer"], "Wan transformer")
    d = os.path.join(FIXTURES, "wan_vace", "official")
    save_safetensors(os.path.join(d, "diffusion_pytorch_model.safetensors"), official)
    save_json(os.path.join(d, "config.json"), WAN_OFFICIAL_CONFIG)
    man.add(os.path.join(d, "diffusion_pytorch_model.safetensors"), fmt="safetensors", layout="official",
            model=MODEL_T, role="weights")
    man.add(os.path.join(d, "config.json"), fmt="json", layout="official", model=MODEL_T, role="config")

    # --- transformer, diffusers layout ---
    d = os.path.join(FIXTURES, "wan_vace", "diffusers", "transformer")
    transformer.save_pretrained(d, safe_serialization=True)
    man.add(os.path.join(d, "diffusion_pytorch_model.safetensors"), fmt="safetensors", layout="diffusers",
            model=MODEL_T, role="weights")
    man.add(os.path.join(d, "config.json"), fmt="json", layout="diffusers", model=MODEL_T, role="config")

    # --- VAE, official layout: .pth (zip pickle, like Wan2.1_VAE.pth) and the same tensors as .safetensors ---
    sd = vae.state_dict()
    official = to_official(sd, wan_vae_to_official)
    check_roundtrip(official, sd, CONVERTERS["wan_vae"], "Wan VAE")
    d = os.path.join(FIXTURES, "wan_vae", "official")
    save_pth_deterministic(os.path.join(d, "Wan2.1_VAE.pth"), official, root="Wan2.1_VAE")
    save_safetensors(os.path.join(d, "Wan2.1_VAE.safetensors"), official)
    man.add(os.path.join(d, "Wan2.1_VAE.pth"), fmt="pth", layout="official", model=MODEL_VAE, role="weights")
    man.add(os.path.join(d, "Wan2.1_VAE.safetensors"), fmt="safetensors", layout="official", model=MODEL_VAE,
            role="weights")

    # --- VAE, diffusers layout ---
    d = os.path.join(FIXTURES, "wan_vae", "diffusers", "vae")
    vae.save_pretrained(d, safe_serialization=True)
    man.add(os.path.join(d, "diffusion_pytorch_model.safetensors"), fmt="safetensors", layout="diffusers",
            model=MODEL_VAE, role="weights")
    man.add(os.path.join(d, "config.json"), fmt="json", layout="diffusers", model=MODEL_VAE, role="config")

    # The saved diffusers files must reload to the same weights (catches a lossy save).
    for sub, mod in (("wan_vace/diffusers/transformer", transformer), ("wan_vae/diffusers/vae", vae)):
        back = load_safetensors(os.path.join(FIXTURES, sub, "diffusion_pytorch_model.safetensors"))
        ref = mod.state_dict()
        assert set(back) == set(ref) and all(torch.equal(back[k], ref[k]) for k in ref), sub


@torch.no_grad()
def forward_case(transformer, seed: int, man: Manifest) -> dict:
    g = generator(seed + 10)
    F, H, W, L = 3, 8, 12, 7  # latent frames/height/width (H != W on purpose), text tokens
    latents = torch.randn(1, 16, F, H, W, generator=g)
    context = torch.randn(1, L, WAN_T["text_dim"], generator=g)
    vace_context = torch.randn(1, 96, F, H, W, generator=g)
    timestep = torch.tensor([700.0])
    ctx_padded = _pad_text(context)

    def run(scale, ctx):
        return transformer(hidden_states=latents, timestep=timestep, encoder_hidden_states=ctx,
                           control_hidden_states=vace_context,
                           control_hidden_states_scale=torch.tensor(scale, dtype=torch.float32),
                           return_dict=False)[0]

    out = {
        "latents": latents, "timestep": timestep, "context": context, "vace_context": vace_context,
        "scale_b": torch.tensor([0.5, 0.5]), "scale_list": torch.tensor([0.5, 1.5]),
        "noise_pred_scale_1": run([1.0, 1.0], ctx_padded),
        "noise_pred_scale_b": run([0.5, 0.5], ctx_padded),
        "noise_pred_scale_list": run([0.5, 1.5], ctx_padded),
        "noise_pred_no_vace": run([0.0, 0.0], ctx_padded),
        "noise_pred_scale_1_unpadded": run([1.0, 1.0], context),
    }

    # "No VACE" == the plain Wan T2V transformer with the same main weights: check it, so that the fixture
    # can also serve a base-model (T2V) test.
    base_cfg = {k: v for k, v in WAN_T.items() if k not in ("vace_layers", "vace_in_channels")}
    base = WanTransformer3DModel(**base_cfg).eval()
    base_sd = {k: v for k, v in transformer.state_dict().items() if not k.startswith("vace_")}
    base.load_state_dict(base_sd, strict=True)
    t2v = base(hidden_states=latents, timestep=timestep, encoder_hidden_states=ctx_padded, return_dict=False)[0]
    t2v_diff = float((t2v - out["noise_pred_no_vace"]).abs().max())
    assert t2v_diff <= 1e-6, t2v_diff

    path = os.path.join(FIXTURES, "reference", "wan_vace_forward.safetensors")
    save_safetensors(path, out)
    man.add(path, fmt="safetensors", model=MODEL_T, role="reference", case="wan_vace_forward")
    return {
        "what": "WanVACETransformer3DModel.forward (diffusers 0.42.1, float32, CPU) on the tiny random model "
                "in wan_vace/. Inputs: latents [1,16,F=3,H=8,W=12] (latent space, token grid 3x4x6 = 72), "
                "timestep [1] = 700.0 (float, passed as is), context [1,7,48] (the UNPADDED text rows), "
                "vace_context [1,96,3,8,12].",
        "text_padding": "All noise_pred_* except *_unpadded were computed with context zero-padded to text_len=512 "
                        "rows ([1,512,48]), which is what the official WanModel does internally and what "
                        "diffusers' WanVACEPipeline does when it runs its own T5 (max_sequence_length 512). The "
                        "diffusers transformer itself does not pad: noise_pred_scale_1_unpadded is the same call "
                        "with the raw 7 rows (cross-attention over 7 keys instead of 512).",
        "scales": "control_hidden_states_scale per VACE layer (vace_layers [0,2]): noise_pred_scale_1 = [1,1]; "
                  "noise_pred_scale_b = scale_b = [0.5,0.5] (the official scalar context_scale 0.5); "
                  "noise_pred_scale_list = scale_list = [0.5,1.5] (diffusers-only per-layer list); "
                  "noise_pred_no_vace = [0,0]: hints are computed but multiplied by 0, which is exactly the base "
                  "Wan T2V transformer (checked in the script: WanTransformer3DModel with the non-vace_* weights "
                  f"gives max |diff| {t2v_diff:.1e}).",
        "magnitudes": {k: stats(v) for k, v in sorted(out.items()) if k.startswith("noise_pred")},
        "differences": {"scale_1_vs_no_vace_rel_l2": round(rel_l2(out["noise_pred_scale_1"],
                                                                   out["noise_pred_no_vace"]), 4),
                        "scale_1_vs_unpadded_rel_l2": round(rel_l2(out["noise_pred_scale_1"],
                                                                   out["noise_pred_scale_1_unpadded"]), 4)},
    }


@torch.no_grad()
def vae_case(vae, seed: int, man: Manifest) -> dict:
    g = generator(seed + 20)
    video = torch.rand(1, 3, 9, 32, 48, generator=g) * 2 - 1  # T = 1 + 4k (3 encoder chunks), H != W
    post = vae.encode(video).latent_dist
    mean = torch.tensor(WAN_VAE_LATENTS_MEAN).view(1, 16, 1, 1, 1)
    inv_std = 1.0 / torch.tensor(WAN_VAE_LATENTS_STD).view(1, 16, 1, 1, 1)
    z = torch.randn(1, 16, 3, 4, 6, generator=g)
    decoded = vae.decode(z, return_dict=False)[0]
    out = {
        "encode_input": video,
        "posterior_mean": post.mean,
        "posterior_logvar": post.logvar,
        "latents_normalized": (post.mean.float() - mean) * inv_std,
        "decode_input": z,
        "decoded": decoded,
    }
    path = os.path.join(FIXTURES, "reference", "wan_vae.safetensors")
    save_safetensors(path, out)
    man.add(path, fmt="safetensors", model=MODEL_VAE, role="reference", case="wan_vae")
    clamped = int((decoded.abs() >= 1.0).sum())
    return {
        "what": "AutoencoderKLWan (diffusers 0.42.1, float32, CPU, no tiling/slicing) with the tiny random weights "
                "in wan_vae/ (base_dim 4; everything else as the real VAE: z_dim 16, dim_mult [1,2,4,4], 2 res "
                "blocks, temperal_downsample [F,T,T], no attn_scales). Readers must take base_dim from "
                "encoder.conv1.weight ([4,3,3,3,3]); the official checkpoint has no config.",
        "encode": "encode_input [1,3,9,32,48] in [-1,1] -> encode().latent_dist: posterior_mean = mu "
                  "[1,16,3,4,6] (what the pipelines use, sample_mode='argmax'), posterior_logvar = clamp(logvar, "
                  "-30, 20). latents_normalized = (mu - latents_mean) * (1/latents_std) with the standard Wan "
                  "per-channel statistics (wan-vace.md §1.2), as WanVACEPipeline does.",
        "decode": "decode_input [1,16,3,4,6] (raw, un-normalised latents; N(0,1)) -> decode() = post_quant_conv, "
                  "decoder frame by frame, clamp(-1,1): decoded [1,3,9,32,48]. Values at the clamp (|x| >= 1): "
                  f"{clamped} of {decoded.numel()}.",
        "magnitudes": {k: stats(v) for k, v in sorted(out.items())},
    }


WAN_VAE_LATENTS_MEAN = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                        0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
WAN_VAE_LATENTS_STD = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                       3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160]


def _pipeline_inputs(seed: int):
    g = generator(seed + 30)
    T, H, W = 9, 32, 48
    # A smooth moving pattern plus a little noise, in [0, 1] (diffusers expects [0,1] tensors and maps them
    # to [-1, 1] itself).
    t = torch.arange(T).view(T, 1, 1, 1).float()
    y = torch.arange(H).view(1, 1, H, 1).float()
    x = torch.arange(W).view(1, 1, 1, W).float()
    c = torch.arange(3).view(1, 3, 1, 1).float()
    video = 0.5 + 0.35 * torch.sin(0.3 * x + 0.2 * y + 0.5 * t + 2.0 * c) + 0.05 * torch.randn(T, 3, H, W, generator=g)
    video = video.clamp(0, 1).unsqueeze(0)  # [1, T, 3, H, W]
    # Centre box mask (1 = generate): value 1 inside, a ring of 0.75 (binarises to 1) and a ring of 0.25
    # (binarises to 0), so that both the >0.5 split and the raw fractional mask channels are exercised.
    m = torch.zeros(T, 1, H, W)
    m[:, :, 6:26, 10:38] = 0.25
    m[:, :, 8:24, 14:34] = 0.75
    m[:, :, 10:22, 18:30] = 1.0
    mask = m.expand(T, 3, H, W).unsqueeze(0).contiguous()  # [1, T, 3, H, W]; the pipeline uses channel 0
    prompt = torch.randn(1, 24, WAN_T["text_dim"], generator=g)
    negative = torch.randn(1, 11, WAN_T["text_dim"], generator=g)
    return video, mask, prompt, negative


@torch.no_grad()
def pipeline_case(transformer, vae, seed: int, man: Manifest) -> dict:
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0)
    d = os.path.join(FIXTURES, "wan_vace", "diffusers", "scheduler")
    scheduler.save_pretrained(d)
    man.add(os.path.join(d, "scheduler_config.json"), fmt="json", layout="diffusers", model=MODEL_T, role="config")

    pipe = WanVACEPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=scheduler, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    video, mask, prompt, negative = _pipeline_inputs(seed)

    calls = []  # every transformer call, in order: (cond, uncond) per step

    def hook(_module, _args, kwargs, output):
        calls.append({k: kwargs[k].clone() for k in ("hidden_states", "timestep", "encoder_hidden_states",
                                                     "control_hidden_states")} | {"out": output[0].clone()})

    handle = transformer.register_forward_hook(hook, with_kwargs=True)
    decode_io = {}
    orig_decode = vae.decode

    def decode(z, *a, **kw):
        res = orig_decode(z, *a, **kw)
        decode_io["in"], decode_io["out"] = z.clone(), (res[0] if isinstance(res, tuple) else res.sample).clone()
        return res

    vae.decode = decode
    prepared = {}
    orig_prep = pipe.preprocess_conditions

    def preprocess_conditions(*a, **kw):
        res = orig_prep(*a, **kw)
        prepared["video"], prepared["mask"] = res[0].clone(), res[1].clone()
        return res

    pipe.preprocess_conditions = preprocess_conditions
    steps = []

    def on_step_end(_pipe, i, t, kw):
        steps.append(kw["latents"].clone())
        return {}

    guidance = 5.0
    result = pipe(video=video, mask=mask, prompt_embeds=_pad_text(prompt), negative_prompt_embeds=_pad_text(negative),
                  height=32, width=48, num_frames=9, num_inference_steps=4, guidance_scale=guidance,
                  conditioning_scale=1.0, generator=generator(seed + 31), output_type="pt",
                  callback_on_step_end=on_step_end, return_dict=False)[0]
    handle.remove()
    vae.decode = orig_decode

    n = 4
    assert len(calls) == 2 * n and len(steps) == n
    out = {
        "input_video": video, "input_mask": mask,
        "video_preprocessed": prepared["video"], "mask_preprocessed": prepared["mask"][:, :1].contiguous(),
        "prompt_embeds": prompt, "negative_prompt_embeds": negative,
        "initial_latents": calls[0]["hidden_states"],
        "vace_context": calls[0]["control_hidden_states"],
        "timesteps": pipe.scheduler.timesteps.clone().float(),
        "sigmas": pipe.scheduler.sigmas.clone().float(),
        "final_latents": steps[-1],
        "decoded_video": decode_io["out"],
        "output_video": result,
    }
    latents = calls[0]["hidden_states"]
    for i in range(n):
        cond, uncond = calls[2 * i], calls[2 * i + 1]
        assert torch.equal(cond["hidden_states"], latents) and torch.equal(uncond["hidden_states"], latents)
        assert torch.equal(cond["control_hidden_states"], out["vace_context"])
        guided = uncond["out"] + guidance * (cond["out"] - uncond["out"])
        out[f"step{i}_timestep"] = cond["timestep"].float()
        out[f"step{i}_latents_in"] = latents
        out[f"step{i}_noise_pred_cond"] = cond["out"]
        out[f"step{i}_noise_pred_uncond"] = uncond["out"]
        out[f"step{i}_noise_pred_guided"] = guided
        out[f"step{i}_latents_out"] = steps[i]
        # Euler: x_{i+1} = x_i + (sigma_{i+1} - sigma_i) * v  (re-derive it to prove the recording is complete)
        s = pipe.scheduler.sigmas
        euler = latents + (s[i + 1] - s[i]) * guided
        assert float((euler - steps[i]).abs().max()) < 1e-5
        latents = steps[i]
    # The decoder saw final_latents de-normalised with the Wan statistics: z * std + mean.
    denorm = steps[-1] / (1.0 / torch.tensor(WAN_VAE_LATENTS_STD).view(1, 16, 1, 1, 1)) + \
        torch.tensor(WAN_VAE_LATENTS_MEAN).view(1, 16, 1, 1, 1)
    assert torch.allclose(decode_io["in"], denorm, atol=1e-6)

    path = os.path.join(FIXTURES, "reference", "wan_vace_pipeline.safetensors")
    save_safetensors(path, out)
    man.add(path, fmt="safetensors", model=MODEL_T, role="reference", case="wan_vace_pipeline")
    return {
        "what": "WanVACEPipeline (diffusers 0.42.1, float32, CPU) with the tiny transformer (wan_vace/) and VAE "
                "(wan_vae/), scheduler FlowMatchEulerDiscreteScheduler(shift=3.0, 1000 train steps; config in "
                "wan_vace/diffusers/scheduler), 4 steps, guidance_scale 5.0, conditioning_scale 1.0, "
                "height 32, width 48, num_frames 9 (latent [1,16,3,4,6]), no reference images, "
                f"generator torch.Generator('cpu').manual_seed({seed + 31}), no tokenizer/text encoder.",
        "inputs": "input_video [1,9,3,32,48] (frame-major, in [0,1]) and input_mask [1,9,3,32,48] (3 identical "
                  "channels) exactly as passed; video_preprocessed [1,3,9,32,48] = 2*video-1 and "
                  "mask_preprocessed [1,1,9,32,48] (channel 0 of clamp((2m-1+1)/2)) are what the pipeline "
                  "worked with (captured from preprocess_conditions). Mask: 1 = generate; centre box 1.0 with "
                  "rings of 0.75 (binarises to 1 for the inactive/reactive split) and 0.25 (binarises to 0); "
                  "the 64 mask channels keep the fractional values. prompt_embeds [1,24,48] / negative_prompt_embeds "
                  "[1,11,48] are stored UNPADDED; they were zero-padded to 512 rows before being passed "
                  "(= what the pipeline's own T5 path produces, = official text_len padding).",
        "recorded": "initial_latents = the generator's noise (step 0 input); vace_context [1,96,3,4,6] = "
                    "[inactive(16) | reactive(16) | mask(64)] exactly as fed to the transformer; timesteps [4] "
                    "(float, = 1000*sigma, passed unrounded to the DiT) and sigmas [5] (last = 0); per step i: "
                    "step{i}_timestep, step{i}_latents_in, step{i}_noise_pred_cond (prompt), "
                    "step{i}_noise_pred_uncond (negative prompt, same latents/timestep/VACE context), "
                    "step{i}_noise_pred_guided = uncond + 5*(cond - uncond), step{i}_latents_out = latents_in + "
                    "(sigma_{i+1} - sigma_i) * guided (checked to 1e-5 in the script); final_latents = "
                    "step3_latents_out; decoded_video = vae.decode(final_latents*std + mean) [1,3,9,32,48] in "
                    "[-1,1] (clamped); output_video = the pipeline's output_type='pt' result [1,9,3,32,48] = "
                    "clamp(decoded/2 + 0.5, 0, 1), frame-major.",
        "differences_from_official": "The official Wan runtime uses UniPC with shift 16, integer timesteps "
                                     "trunc(1000*sigma) and a sigma grid starting at shift(0.999); this case "
                                     "follows diffusers' FlowMatchEuler with shift 3 as requested.",
        "magnitudes": {k: stats(v) for k, v in sorted(out.items())
                       if k.startswith(("step0_noise", "step3_noise", "final", "decoded", "vace", "initial"))},
        "differences": {f"step{i}_cond_vs_uncond_rel_l2": round(rel_l2(out[f"step{i}_noise_pred_uncond"],
                                                                      out[f"step{i}_noise_pred_cond"]), 4)
                        for i in range(n)},
    }


def run(seed: int, man: Manifest) -> None:
    transformer, vae = build_models(seed)
    save_models(transformer, vae, man)
    man.notes["wan_models"] = {
        "transformer_diffusers_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in WAN_T.items()},
        "transformer_official_config": WAN_OFFICIAL_CONFIG,
        "vae_diffusers_config": WAN_VAE,
        "randomisation": "every parameter redrawn after construction (common.randomize_): matrices/conv kernels "
                         "N(0,1)/sqrt(fan_in), norm scales (1-D weights, VAE gammas) 1+0.1N, biases 0.1N, "
                         "modulation / scale_shift_table 0.1N; Wan VAE decoder.conv_out gain 0.3.",
        "official_layout": "keys obtained by inverting diffusers.loaders.single_file_utils."
                           "convert_wan_transformer_to_diffusers / convert_wan_vae_to_diffusers; the script asserts "
                           "that feeding the official files through those converters gives the diffusers state "
                           "dict exactly. Wan2.1_VAE.pth is a zip pickle (root folder 'Wan2.1_VAE', data.pkl = "
                           "OrderedDict + BUILD(_metadata), stored entries, data 64-byte aligned) and "
                           "Wan2.1_VAE.safetensors holds the same tensors.",
    }
    man.notes["wan_vace_forward"] = forward_case(transformer, seed, man)
    man.notes["wan_vae"] = vae_case(vae, seed, man)
    man.notes["wan_vace_pipeline"] = pipeline_case(transformer, vae, seed, man)

"""VACE-LTX-Video-0.9 fixture from the ORIGINAL code: ali-vilab/VACE `vace/models/ltx/` on the LTX-Video code
of the `ltx-video-0.9.1` tag (the version VACE's requirements pin; the PyPI `ltx-video` wheel is a later main
without `SkipLayerStrategy.Attention`).

Writes Tests/Fixtures/ltx_vace/:
  vace-ltx-video-0.9-tiny.safetensors  random tiny VaceTransformer3DModel in the released single-file layout
                                       (`model.diffusion_model.*`, safetensors metadata `config` = JSON string
                                       with `transformer` and `scheduler` in LTX-Video's own naming)
  vace_ltx_forward.safetensors         inputs in `vacekit forward` naming and outputs noise_pred_<case>
  manifest.json                        what each file holds

Usage (from the repository root, reference venv, the two checkouts outside the worktree):
  git clone <LTX-Video> /work/scratch/LTX-Video && git -C /work/scratch/LTX-Video checkout ltx-video-0.9.1
  git clone <VACE> /work/scratch/VACE
  nice /work/venv-ref/bin/python converters/reference/make_ltx_vace_fixtures.py \
      --ltx-video /work/scratch/LTX-Video --vace /work/scratch/VACE

`import vace` pulls in the annotators (OpenCV and more), so the model package is imported by path.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

import torch

from common import FIXTURES, generator, randomize_, rel_l2, save_safetensors, setup_determinism, stats

SEED = 20261203
OUT = os.path.join(FIXTURES, "ltx_vace")
SINGLE_FILE = "vace-ltx-video-0.9-tiny.safetensors"

# Tiny VACE-LTX: 3 main layers, context blocks on layers 0 and 2 (layer 0 owns before_proj), inner dim 64
# (2 heads x 32; 64 % 6 = 4 identity RoPE slots), caption_channels 48 != inner dim, latent channels 128 and
# context channels 384 as released. The config is the released VACE-LTX header with tiny sizes substituted.
TRANSFORMER = {
    "_class_name": "Transformer3DModel", "_diffusers_version": "0.25.1",
    "_name_or_path": "PixArt-alpha/PixArt-XL-2-256x256", "activation_fn": "gelu-approximate",
    "attention_bias": True, "attention_head_dim": 32, "attention_type": "default", "caption_channels": 48,
    "cross_attention_dim": 64, "double_self_attention": False, "dropout": 0.0, "in_channels": 128,
    "norm_elementwise_affine": False, "norm_eps": 1e-06, "norm_num_groups": 32, "num_attention_heads": 2,
    "num_embeds_ada_norm": 1000, "num_layers": 3, "num_vector_embeds": None, "only_cross_attention": False,
    "out_channels": 128, "project_to_2d_pos": True, "upcast_attention": False, "use_linear_projection": False,
    "qk_norm": "rms_norm", "standardization_norm": "rms_norm", "positional_embedding_type": "rope",
    "positional_embedding_theta": 10000.0, "positional_embedding_max_pos": [20, 2048, 2048],
    "timestep_scale_multiplier": 1000, "context_num_layers": [0, 2], "in_context_channels": 384,
}
SCHEDULER = {"_class_name": "RectifiedFlowScheduler", "_diffusers_version": "0.25.1", "num_train_timesteps": 1000,
             "shifting": "SD3", "base_resolution": None, "target_shift_terminal": 0.1}

F, H, W = 2, 3, 4          # latent grid (H != W)
L, VALID = 8, 5            # caption tokens, real ones
SIGMAS = [0.625, 0.375]    # one per batch row; exact in f32, so sigma*1000 is exact too
FRAME_RATE = 26.47         # non-integer, as VACE's wrapper derives it from a clip (9 frames at 25 fps)
CASES = {                  # name: (context_scale, STG-skipped layers for row 1)
    "scale_1": (1.0, []),
    "scale_0.5": (0.5, []),
    "stg_context_layer": (1.0, [2]),   # layer 2 owns a context block: its self-attention is skipped too
    "stg_plain_layer": (1.0, [1]),
}


def import_vace_transformer(vace_root: str):
    """VaceTransformer3DModel from vace/models/ltx/models/transformers/ without importing `vace`."""
    path = os.path.join(vace_root, "vace", "models", "ltx", "models", "transformers")
    spec = importlib.util.spec_from_file_location("vace_ltx_transformers", os.path.join(path, "__init__.py"),
                                                  submodule_search_locations=[path])
    module = importlib.util.module_from_spec(spec)
    sys.modules["vace_ltx_transformers"] = module
    spec.loader.exec_module(module)
    return module.VaceTransformer3DModel


def indices_grid(batch: int, frame_rate: float) -> torch.Tensor:
    """The 0.9.1 pipeline's RoPE grid: SymmetricPatchifier.get_grid with scale (1/latent_frame_rate, 32, 32)."""
    from ltx_video.models.transformers.symmetric_patchifier import SymmetricPatchifier
    latent_frame_rates = torch.ones(batch, 1) * (frame_rate / 8)
    return SymmetricPatchifier(patch_size=1).get_grid(orig_num_frames=F, orig_height=H, orig_width=W, batch_size=batch,
                                                      scale_grid=(1 / latent_frame_rates, 32, 32), device="cpu")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ltx-video", required=True, help="LTX-Video checkout at tag ltx-video-0.9.1")
    ap.add_argument("--vace", required=True, help="ali-vilab/VACE checkout")
    args = ap.parse_args()
    sys.path.insert(0, args.ltx_video)
    setup_determinism()
    from ltx_video.utils.skip_layer_strategy import SkipLayerStrategy
    VaceTransformer3DModel = import_vace_transformer(args.vace)

    model = VaceTransformer3DModel.from_config(TRANSFORMER).eval()
    randomize_(model, SEED + 1)  # every parameter, including the zero-initialised before/after_proj
    os.makedirs(OUT, exist_ok=True)
    weights = {f"model.diffusion_model.{k}": v for k, v in model.state_dict().items()}
    path = os.path.join(OUT, SINGLE_FILE)
    save_safetensors(path, weights, metadata={"config": json.dumps({"transformer": TRANSFORMER, "scheduler": SCHEDULER}, sort_keys=True)})
    # Load it back the way VACE does (strict load of the single file) and run THAT model.
    model = VaceTransformer3DModel.from_pretrained(path).eval()

    g = generator(SEED + 2)
    batch, n = len(SIGMAS), F * H * W
    latents = torch.randn(batch, 128, F, H, W, generator=g)
    context = torch.randn(batch, L, TRANSFORMER["caption_channels"], generator=g)  # padded rows random, not 0
    mask = torch.zeros(batch, L)
    mask[:, :VALID] = 1
    vace_context = torch.randn(1, 384, F, H, W, generator=g)  # [inactive 128 | reactive 128 | mask 128]
    tokens = lambda v: v.flatten(2).transpose(1, 2)  # [B, C, F, H, W] -> [B, N, C], n = f*H*W + h*W + w
    ctx_tokens = tokens(vace_context)

    out = {"latents": latents, "timestep": torch.tensor(SIGMAS) * 1000, "context": context, "context_mask": mask,
           "frame_rate": torch.tensor([FRAME_RATE]), "vace_context": vace_context}
    notes = {}
    with torch.no_grad():
        for name, (scale, skipped) in CASES.items():
            skip_mask = torch.ones(TRANSFORMER["num_layers"], batch)
            for layer in skipped:
                skip_mask[layer, batch - 1] = 0  # perturbed row last, as the VACE pipeline orders it
            y = model(tokens(latents), indices_grid(batch, FRAME_RATE), source_latents=ctx_tokens[..., :256],
                      source_mask_latents=ctx_tokens[..., 256:], encoder_hidden_states=context, encoder_attention_mask=mask,
                      timestep=torch.tensor(SIGMAS), skip_layer_mask=skip_mask if skipped else None,
                      skip_layer_strategy=SkipLayerStrategy.Attention if skipped else None, context_scale=scale,
                      return_dict=False)[0]
            out[f"noise_pred_{name}"] = y.transpose(1, 2).reshape(batch, 128, F, H, W)
            out[f"vace_scale_{name}"] = torch.tensor([scale])
            if skipped:
                out[f"stg_skip_layers_{name}"] = torch.tensor(skipped, dtype=torch.int32)
            notes[name] = {"context_scale": scale, "stg_skip_layers_row1": skipped, "output": stats(out[f"noise_pred_{name}"])}
    base = out["noise_pred_scale_1"]
    for name in CASES:
        if name != "scale_1":
            notes[name]["rel_l2_vs_scale_1"] = round(rel_l2(out[f"noise_pred_{name}"], base), 4)
            notes[name]["row0_rel_l2_vs_scale_1"] = round(rel_l2(out[f"noise_pred_{name}"][:1], base[:1]), 6)
    ref = os.path.join(OUT, "vace_ltx_forward.safetensors")
    save_safetensors(ref, {k: v.contiguous() for k, v in out.items()})

    manifest = {
        "generator": "converters/reference/make_ltx_vace_fixtures.py", "seed": SEED,
        "reference": "ali-vilab/VACE vace/models/ltx/models/transformers (VaceTransformer3DModel) on Lightricks/LTX-Video "
                     "tag ltx-video-0.9.1, float32, CPU, loaded back from the single file with from_pretrained",
        "files": {
            SINGLE_FILE: "transformer only (no VAE tensors; the released file also holds the VAE under vae.*): "
                         "model.diffusion_model.* keys, context blocks sparse at layers 0 and 2, before_proj only at 0",
            "vace_ltx_forward.safetensors": {
                "inputs": "latents [2,128,2,3,4]; timestep [2] = sigma*1000 (the model takes sigma and multiplies by "
                          "timestep_scale_multiplier); context [2,8,48] (rows past 5 random); context_mask [2,8] (1 = real); "
                          "frame_rate [1] = 26.47 (RoPE time = f / (fps/8)); vace_context [1,384,2,3,4] (shared by both rows)",
                "outputs": "noise_pred_<case> [2,128,2,3,4]; vace_scale_<case>; stg_skip_layers_<case> (int32): layers "
                           "whose self-attention is skipped (SkipLayerStrategy.Attention) for batch row 1 only",
            },
        },
        "cases": notes,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    for name in (SINGLE_FILE, "vace_ltx_forward.safetensors"):
        os.chmod(os.path.join(OUT, name), 0o644)  # the writer's temporary files are private
    print(json.dumps(notes, indent=1))


if __name__ == "__main__":
    main()

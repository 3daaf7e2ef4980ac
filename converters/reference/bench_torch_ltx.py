#!/usr/bin/env python3
"""PyTorch side of the LTX rows of BENCHMARKS.md: one transformer forward at the real LTX-Video 2B dimensions
(random weights) on the shapes of `vacekit bench ltx` (latent 128×3×15×26 = 1170 tokens, 128 text tokens).

  ltx:  diffusers LTXVideoTransformer3DModel (its defaults are the 2B config).
  vace: the original VACE-LTX model (ali-vilab/VACE VaceTransformer3DModel, 14 context blocks at 0, 2, …, 26)
        on LTX-Video tag ltx-video-0.9.1; diffusers has no VACE-LTX class. Needs --ltx-video and --vace checkouts.

Each dtype runs in its own process (its peak RSS is its own), built directly in that dtype. One JSON line each.

    python converters/reference/bench_torch_ltx.py ltx [--dtypes float32 bfloat16] [--no-warmup]
    python converters/reference/bench_torch_ltx.py vace --ltx-video DIR --vace DIR [--dtypes ...]
"""
import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time


def build(what, dtype, args):
    import torch
    torch.set_default_dtype(dtype)
    if what == "ltx":
        from diffusers import LTXVideoTransformer3DModel
        return LTXVideoTransformer3DModel().eval()
    sys.path.insert(0, args.ltx_video)
    path = os.path.join(args.vace, "vace", "models", "ltx", "models", "transformers")
    spec = importlib.util.spec_from_file_location("vace_ltx_transformers", os.path.join(path, "__init__.py"),
                                                  submodule_search_locations=[path])
    module = importlib.util.module_from_spec(spec)
    sys.modules["vace_ltx_transformers"] = module
    spec.loader.exec_module(module)
    config = dict(activation_fn="gelu-approximate", attention_bias=True, attention_head_dim=64, caption_channels=4096,
                  cross_attention_dim=2048, in_channels=128, norm_elementwise_affine=False, norm_eps=1e-6,
                  num_attention_heads=32, num_embeds_ada_norm=1000, num_layers=28, out_channels=128,
                  project_to_2d_pos=True, qk_norm="rms_norm", standardization_norm="rms_norm",
                  positional_embedding_type="rope", positional_embedding_theta=10000.0,
                  positional_embedding_max_pos=[20, 2048, 2048], timestep_scale_multiplier=1000,
                  context_num_layers=list(range(0, 28, 2)), in_context_channels=384)
    return module.VaceTransformer3DModel(**config).eval()


def run(what, dtype_name, args):
    import torch
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, dtype_name)
    torch.manual_seed(0)
    model = build(what, dtype, args)
    f, h, w = args.latent
    n = f * h * w
    g = torch.Generator().manual_seed(42)
    hidden = torch.randn(1, n, 128, generator=g).to(dtype)
    text = (torch.randn(1, args.text_tokens, 4096, generator=g) * 0.1).to(dtype)
    mask = torch.ones(1, args.text_tokens)
    if what == "ltx":
        call = lambda: model(hidden_states=hidden, encoder_hidden_states=text, timestep=torch.tensor([500.0]),
                             encoder_attention_mask=mask, num_frames=f, height=h, width=w,
                             rope_interpolation_scale=(8 / 25, 32, 32), return_dict=False)
    else:
        from ltx_video.models.transformers.symmetric_patchifier import SymmetricPatchifier
        grid = SymmetricPatchifier(patch_size=1).get_grid(orig_num_frames=f, orig_height=h, orig_width=w, batch_size=1,
                                                          scale_grid=(1 / (torch.ones(1, 1) * 25 / 8), 32, 32), device="cpu")
        context = torch.randn(1, n, 384, generator=g).to(dtype)
        call = lambda: model(hidden, grid, source_latents=context[..., :256], source_mask_latents=context[..., 256:],
                             encoder_hidden_states=text, encoder_attention_mask=mask, timestep=torch.tensor([0.5]),
                             return_dict=False)
    with torch.inference_mode():
        if not args.no_warmup:
            call()
        start = time.perf_counter()
        call()
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    impl = "diffusers LTXVideoTransformer3DModel" if what == "ltx" else "VACE VaceTransformer3DModel (LTX-Video 0.9.1)"
    print(json.dumps({"impl": impl, "dtype": dtype_name, "threads": args.threads, "tokens": n, "text_tokens": args.text_tokens,
                      "seconds": seconds, "warmup": not args.no_warmup, "peak_rss_bytes": peak,
                      "parameters": sum(p.numel() for p in model.parameters()), "torch": torch.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["ltx", "vace"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    ap.add_argument("--latent", nargs=3, type=int, default=[3, 15, 26])
    ap.add_argument("--text-tokens", type=int, default=128)
    ap.add_argument("--ltx-video", help="LTX-Video checkout at tag ltx-video-0.9.1 (vace)")
    ap.add_argument("--vace", help="ali-vilab/VACE checkout (vace)")
    ap.add_argument("--single", help=argparse.SUPPRESS)
    ap.add_argument("--no-warmup", action="store_true", help="time the first call (for very slow runs)")
    args = ap.parse_args()
    if args.what == "vace" and not (args.ltx_video and args.vace):
        ap.error("vace needs --ltx-video and --vace")
    if args.single:
        run(args.what, args.single, args)
        return
    for dtype in args.dtypes:
        extra = ["--ltx-video", args.ltx_video, "--vace", args.vace] if args.what == "vace" else []
        subprocess.run([sys.executable, __file__, args.what, "--threads", str(args.threads), "--single", dtype,
                        "--latent", *map(str, args.latent), "--text-tokens", str(args.text_tokens)] + extra
                       + (["--no-warmup"] if args.no_warmup else []), check=True)


if __name__ == "__main__":
    main()

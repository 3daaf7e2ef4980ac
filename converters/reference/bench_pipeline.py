#!/usr/bin/env python3
"""diffusers side of the `vacekit generate` benchmark (BENCHMARKS.md): WanVACEPipeline at the real
Wan2.1-VACE-1.3B dimensions with random weights (transformer and VAE), text embeddings given (no T5, as
`vacekit generate --text-embeddings`), FlowMatchEuler, CPU; the transformer in float32 or (`--dtype bfloat16`, PyTorch's
fastest dtype on CPUs with AVX512_BF16) bfloat16, the VAE in float32 (as diffusers' Wan examples load it) or with
`--vae-dtype bfloat16` in bfloat16. Prints one JSON line: per-stage seconds
(VAE encode, transformer calls, VAE decode), total, peak RSS.

Also writes the random full-size VAE in the diffusers layout (--save-vae DIR) for `vacekit convert`.

    python converters/reference/bench_pipeline.py --task t2v|inpaint_ref --frames 9 --height 240 --width 416 --steps 4
    python converters/reference/bench_pipeline.py --save-vae DIR
"""
import argparse
import json
import resource
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["t2v", "inpaint_ref"], default="t2v")
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--width", type=int, default=416)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32", help="the transformer's dtype")
    ap.add_argument("--vae-dtype", choices=["float32", "bfloat16"], default="float32",
                    help="the VAE's dtype (bfloat16: beside a VaceKit VAE converted with --precision bf16)")
    ap.add_argument("--save-vae")
    args = ap.parse_args()

    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vae = AutoencoderKLWan().eval()  # the released config: base_dim 96, z_dim 16
    if args.save_vae:
        vae.save_pretrained(args.save_vae)
        return
    vae = vae.to(getattr(torch, args.vae_dtype))
    start = time.perf_counter()
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
        text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        eps=1e-6, vace_layers=list(range(0, 30, 2)), vace_in_channels=96,
    ).to(getattr(torch, args.dtype)).eval()
    build = time.perf_counter() - start
    seconds = {"encode": 0.0, "denoise": 0.0, "decode": 0.0}

    def timed(module, method, stage):
        original = getattr(module, method)

        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            out = original(*a, **kw)
            seconds[stage] += time.perf_counter() - t0
            return out
        setattr(module, method, wrapper)

    timed(vae, "encode", "encode")
    timed(vae, "decode", "decode")
    timed(transformer, "forward", "denoise")
    pipe = WanVACEPipeline(tokenizer=None, text_encoder=None, vae=vae, transformer=transformer,
                           scheduler=FlowMatchEulerDiscreteScheduler(shift=16.0))
    pipe.set_progress_bar_config(disable=True)
    g = torch.Generator().manual_seed(1)
    text = (torch.randn(1, 512, 4096, generator=g) * 0.1).to(transformer.dtype)
    negative = (torch.randn(1, 512, 4096, generator=g) * 0.1).to(transformer.dtype)
    kwargs = {}
    if args.task == "inpaint_ref":
        from PIL import Image
        video = [Image.new("RGB", (args.width, args.height), (100 + 5 * i, 120, 140)) for i in range(args.frames)]
        mask = [Image.new("L", (args.width, args.height), 0) for _ in range(args.frames)]
        for m in mask:
            m.paste(255, (args.width // 4, args.height // 4, 3 * args.width // 4, 3 * args.height // 4))
        kwargs = {"video": video, "mask": mask, "reference_images": [Image.new("RGB", (64, 64), (200, 60, 90))]}
    with torch.inference_mode():
        t0 = time.perf_counter()
        pipe(prompt_embeds=text, negative_prompt_embeds=negative, height=args.height, width=args.width,
             num_frames=args.frames, num_inference_steps=args.steps, guidance_scale=5.0, generator=g, output_type="np", **kwargs)
        total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"impl": "diffusers WanVACEPipeline", "dtype": args.dtype, "vae_dtype": args.vae_dtype, "task": args.task, "frames": args.frames, "height": args.height,
                      "width": args.width, "steps": args.steps, "threads": args.threads, "build_seconds": build,
                      "stages": seconds, "total_seconds": total, "peak_rss_bytes": peak, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()

"""PyTorch side of scripts/bench-ltx-generate (BENCHMARKS.md): diffusers' LTXPipeline on random weights, T2V from
given text embeddings (no T5 run), on the CPU in float32 or (`--dtype bfloat16`, every component, as diffusers'
LTX-Video examples load it; PyTorch's fastest dtype on CPUs with AVX512_BF16) bfloat16; the per-stage times and the peak RSS as one JSON line.

    python converters/reference/bench_ltx_generate.py text OUT.safetensors [--width 4096]
        random context / negative_context [1,128,W] with masks (as `vacekit generate --text-embeddings` takes them)
    python converters/reference/bench_ltx_generate.py run --vae VAE_DIR --text TEXT.safetensors [--transformer DIR]
        [--frames 25 --height 256 --width 384 --steps 4 --guidance 3] [--dtype float32|bfloat16]
        without --transformer: diffusers' LTXVideoTransformer3DModel() with its defaults (the 2B config), random

Stages: "load" (building / reading the models), "denoise" (the steps, from the pipeline's callback), "decode"
(the VAE and the post-processing), "total".
"""
import argparse
import json
import resource
import time

import torch
from safetensors.torch import load_file, save_file


def text(args):
    g = torch.Generator().manual_seed(0)
    out = {}
    for prefix, valid in (("", 24), ("negative_", 14)):
        mask = torch.zeros(1, 128)
        mask[:, :valid] = 1
        out[prefix + "context"] = torch.randn(1, 128, args.width, generator=g)
        out[prefix + "context_mask"] = mask
    save_file(out, args.out)


def run(args):
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXPipeline, LTXVideoTransformer3DModel
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    start = time.perf_counter()
    if args.transformer:
        transformer = LTXVideoTransformer3DModel.from_pretrained(args.transformer, torch_dtype=dtype).eval()
    else:
        torch.manual_seed(0)
        transformer = LTXVideoTransformer3DModel().to(dtype).eval()
    vae = AutoencoderKLLTXVideo.from_pretrained(args.vae, torch_dtype=dtype).eval()
    # LTX-Video's RectifiedFlowScheduler (SD3 shift, terminal 0.1) in diffusers' naming, as diffusers' LTX-Video configs set it.
    scheduler = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05,
                                                base_image_seq_len=1024, max_image_seq_len=4096, shift_terminal=0.1)
    pipe = LTXPipeline(scheduler=scheduler, vae=vae, text_encoder=None, tokenizer=None, transformer=transformer)
    t = {name: value.to(dtype) for name, value in load_file(args.text).items()}
    load = time.perf_counter() - start
    marks = []

    def callback(_pipe, step, _t, kwargs):
        marks.append(time.perf_counter())
        return kwargs

    start = time.perf_counter()
    with torch.no_grad():
        video = pipe(prompt_embeds=t["context"], prompt_attention_mask=t["context_mask"],
                     negative_prompt_embeds=t["negative_context"], negative_prompt_attention_mask=t["negative_context_mask"],
                     height=args.height, width=args.width, num_frames=args.frames, num_inference_steps=args.steps,
                     guidance_scale=args.guidance, generator=torch.Generator().manual_seed(0), output_type="pt",
                     callback_on_step_end=callback, return_dict=False)[0]
    end = time.perf_counter()
    denoise = marks[-1] - start
    print(json.dumps({"impl": "diffusers LTXPipeline", "dtype": args.dtype, "threads": args.threads, "frames": args.frames,
                      "height": args.height, "width": args.width, "steps": args.steps, "guidance": args.guidance,
                      "output": list(video.shape), "stages": {"load": load, "denoise": denoise, "decode": end - marks[-1]},
                      "seconds_per_step": denoise / args.steps, "total_seconds": load + (end - start),
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "torch": torch.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    a = sub.add_parser("text")
    a.add_argument("out")
    a.add_argument("--width", type=int, default=4096)
    r = sub.add_parser("run")
    r.add_argument("--vae", required=True)
    r.add_argument("--text", required=True)
    r.add_argument("--transformer")
    r.add_argument("--frames", type=int, default=25)
    r.add_argument("--height", type=int, default=256)
    r.add_argument("--width", type=int, default=384)
    r.add_argument("--steps", type=int, default=4)
    r.add_argument("--guidance", type=float, default=3.0)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = ap.parse_args()
    text(args) if args.what == "text" else run(args)


if __name__ == "__main__":
    main()

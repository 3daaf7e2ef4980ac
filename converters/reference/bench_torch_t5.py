"""transformers' UMT5EncoderModel on one prompt of random ids, for `scripts/bench-t5` (BENCHMARKS.md).

Loads the synthetic checkpoint folder (scripts/make_synthetic_umt5.py) in DTYPE, encodes TOKENS random
ids (attention mask all ones) under inference mode, prints one JSON line: seconds (best of --runs after
one warm-up, or the first call with --no-warmup), peak RSS of this process, dtype, torch threads.

    python converters/reference/bench_torch_t5.py MODEL_DIR --dtype float32 [--tokens 512] [--runs 1] [--no-warmup]
"""
import argparse
import json
import resource
import time

import torch
from transformers import UMT5EncoderModel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-warmup", action="store_true")
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype)
    start = time.time()
    model = UMT5EncoderModel.from_pretrained(args.model, dtype=dtype).eval()
    load = time.time() - start
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(4, 200, (1, args.tokens), generator=g)
    mask = torch.ones_like(ids)
    times = []
    with torch.inference_mode():
        for run in range(args.runs + (0 if args.no_warmup else 1)):
            t = time.time()
            out = model(input_ids=ids, attention_mask=mask).last_hidden_state
            if run > 0 or args.no_warmup:
                times.append(time.time() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"model": "UMT5EncoderModel", "layers": model.config.num_layers, "dtype": args.dtype, "tokens": args.tokens,
                      "seconds": min(times), "warmup": not args.no_warmup, "load_seconds": load, "peak_rss_bytes": peak,
                      "finite": bool(torch.isfinite(out).all()), "threads": torch.get_num_threads(), "torch": torch.__version__}),
          flush=True)


if __name__ == "__main__":
    main()

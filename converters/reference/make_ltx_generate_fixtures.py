"""LTX-Video generation fixtures from the ORIGINAL code: the `ltx-video-0.9.1` tag's `LTXVideoPipeline`
(pipelines/pipeline_ltx_video.py), `RectifiedFlowScheduler` (schedulers/rf.py), `Transformer3DModel` and
`CausalVideoAutoencoder`, on a tiny random model with a timestep-conditioned (0.9.1-style) VAE.

Writes Tests/Fixtures/ltx_generate/:
  ltx-video-0.9.1-tiny.safetensors  transformer (`model.diffusion_model.*`) + VAE (`vae.*`) in the released
                                    single-file layout, header `config` = {transformer, vae, scheduler}
  schedule.safetensors              RectifiedFlowScheduler(shifting="SD3", target_shift_terminal=0.1) sigmas
                                    for (tokens m, steps S): sigmas_m<m>_s<S> [S]
  t2v.safetensors                   end-to-end runs: per case <case>.noise [1,N,128] (token layout), the
                                    latents after every step <case>.step<i> [1,N,128], <case>.decode_noise
                                    [1,128,F,H,W], <case>.decoder_noise.<path> [H,W] (the decoder's spatial
                                    noise draws), <case>.video [1,3,T,H,W] (the VAE output, before the
                                    writer's clamp); shared: context, context_mask, negative_context,
                                    negative_context_mask
  vace-ltx-video-0.9-tiny.safetensors  the VACE-LTX transformer (context blocks on layers 0 and 2); its VAE is the
                                    one of ltx-video-0.9.1-tiny.safetensors
  vace.safetensors                  VACE-LTX runs of ali-vilab/VACE `VaceLTXVideoPipeline` (inpainting with one
                                    reference image of another size, CFG only / CFG + STG): src_video [3,9,32,64],
                                    src_mask [1,9,32,64], ref [3,1,24,40]; per case the noise, steps, decode noise,
                                    video as in t2v.safetensors, and <case>.vace_context [1,384,R+F,H',W'] (the
                                    context the pipeline handed the transformer: inactive | reactive | mask)
  manifest.json                     what each case ran

Every VAE encode uses the posterior mean (the original samples it with an unseeded generator).

The pipeline draws its own noise (randn_tensor, torch.randn_like before the decode, torch.randn inside the
decoder's noise blocks); each draw is replaced by a seeded tensor that is stored, so a port given the same
tensors reproduces the run.

Usage (from the repository root, reference venv, LTX-Video checked out at tag ltx-video-0.9.1, VACE checked out):
  nice /work/venv-ref/bin/python converters/reference/make_ltx_generate_fixtures.py \
      --ltx-video /work/scratch/LTX-Video --vace /work/scratch/VACE
`vace` is imported by path, without its package __init__ (which pulls in the annotators); torchvision, which
vace/models/utils/preprocessor.py imports but prepare_source does not use, is stubbed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FIXTURES, generator, randomize_, save_safetensors, setup_determinism, stats  # noqa: E402

SEED = 20261203
OUT = os.path.join(FIXTURES, "ltx_generate")
SINGLE_FILE = "ltx-video-0.9.1-tiny.safetensors"

# Tiny LTX-Video transformer (as converters/reference/ltx.py): inner dim 64 (2 heads x 32), 3 layers so that
# an STG layer in the middle is visible, latent channels 128 as released; caption_channels 64 = the width of the
# tiny T5 fixture (Tests/Fixtures/text/t5_hf), so that `generate --prompt` runs on it.
TRANSFORMER = {
    "_class_name": "Transformer3DModel", "_diffusers_version": "0.25.1",
    "_name_or_path": "PixArt-alpha/PixArt-XL-2-256x256", "activation_fn": "gelu-approximate",
    "attention_bias": True, "attention_head_dim": 32, "attention_type": "default", "caption_channels": 64,
    "cross_attention_dim": 64, "double_self_attention": False, "dropout": 0.0, "in_channels": 128,
    "norm_elementwise_affine": False, "norm_eps": 1e-06, "norm_num_groups": 32, "num_attention_heads": 2,
    "num_embeds_ada_norm": 1000, "num_layers": 3, "num_vector_embeds": None, "only_cross_attention": False,
    "out_channels": 128, "project_to_2d_pos": True, "upcast_attention": False, "use_linear_projection": False,
    "qk_norm": "rms_norm", "standardization_norm": "rms_norm", "positional_embedding_type": "rope",
    "positional_embedding_theta": 10000.0, "positional_embedding_max_pos": [20, 2048, 2048],
    "timestep_scale_multiplier": 1000,
}
SCHEDULER = {"_class_name": "RectifiedFlowScheduler", "_diffusers_version": "0.25.1", "num_train_timesteps": 1000,
             "shifting": "SD3", "base_resolution": None, "target_shift_terminal": 0.1}
# 0.9.1 VAE layout (header block dicts), tiny widths: encoder base 4, decoder base 4 (x2 per upsampler).
VAE = {
    "_class_name": "CausalVideoAutoencoder", "dims": 3, "in_channels": 3, "out_channels": 3, "latent_channels": 128,
    "encoder_blocks": [["res_x", {"num_layers": 1}], ["compress_all", {}], ["res_x_y", {"multiplier": 2}],
                       ["res_x", {"num_layers": 1}], ["compress_all", {}], ["res_x_y", {"multiplier": 2}],
                       ["res_x", {"num_layers": 1}], ["compress_all", {}], ["res_x", {"num_layers": 1}],
                       ["res_x", {"num_layers": 1}]],
    "decoder_blocks": [["res_x", {"num_layers": 1, "inject_noise": True}], ["compress_all", {"residual": True, "multiplier": 2}],
                       ["res_x", {"num_layers": 1, "inject_noise": True}], ["compress_all", {"residual": True, "multiplier": 2}],
                       ["res_x", {"num_layers": 1, "inject_noise": True}], ["compress_all", {"residual": True, "multiplier": 2}],
                       ["res_x", {"num_layers": 1, "inject_noise": False}]],
    "scaling_factor": 1.0, "norm_layer": "pixel_norm", "patch_size": 4, "latent_log_var": "uniform",
    "use_quant_conv": False, "causal_decoder": False, "timestep_conditioning": True,
    # Not in the real headers (LTX-Video's Encoder/Decoder default to 128): the tiny widths.
    "encoder_base_channels": 4, "decoder_base_channels": 4,
}

# T2V: 9 frames of 32x64 (latent grid 2x1x2, 4 tokens), integer frame rate as inference.py passes it.
FRAMES, HEIGHT, WIDTH, FPS = 9, 32, 64, 25
L, VALID, NEG_VALID = 8, 5, 3
STEPS = 3
CASES = {  # name: (guidance, stg_scale, stg layers, stg_rescale)
    "cfg_stg": (3.0, 1.0, [1], 0.7),   # the VACE/LTX defaults (STG on layer 1 of 3 here)
    "cfg": (3.0, 0.0, [1], 0.7),       # STG off: no third row, no rescale
}
VACE_TRANSFORMER = {**TRANSFORMER, "context_num_layers": [0, 2], "in_context_channels": 384}
VACE_FPS = 26.47  # non-integer, as VACE's wrapper derives it from a clip (9 frames at 25 fps)
VACE_CASES = {  # name: (guidance, stg_scale, stg layers, stg_rescale, context_scale)
    "inpaint_ref": (3.0, 0.0, [2], 0.7, 1.0),
    "inpaint_ref_stg": (3.0, 1.0, [2], 0.7, 0.8),  # layer 2 owns a context block: its self-attention is skipped too
}
SCHEDULES = [(4992, 40), (4992, 50), (4, 3), (24, 3), (1024, 8)]


def build_vae(ltx):
    from ltx_video.models.autoencoders.causal_video_autoencoder import CausalVideoAutoencoder, Decoder, Encoder
    c = VAE
    encoder = Encoder(dims=3, in_channels=3, out_channels=c["latent_channels"], blocks=c["encoder_blocks"],
                      base_channels=c["encoder_base_channels"], patch_size=4, latent_log_var="uniform", norm_layer="pixel_norm")
    decoder = Decoder(dims=3, in_channels=c["latent_channels"], out_channels=3, blocks=c["decoder_blocks"],
                      base_channels=c["decoder_base_channels"], patch_size=4, norm_layer="pixel_norm", causal=False,
                      timestep_conditioning=True)
    return CausalVideoAutoencoder(encoder=encoder, decoder=decoder, latent_channels=128, dims=3, use_quant_conv=False)


class Draws:
    """Replaces the pipeline's and the decoder's random draws with seeded, recorded tensors."""

    def __init__(self, seed, pipeline_modules, vae_module, vae):
        self.g = generator(seed)
        self.pms, self.vm = pipeline_modules, vae_module
        self.maps, self.current = {}, None
        self.hooks = []
        for name, mod in vae.decoder.named_modules():
            if hasattr(mod, "per_channel_scale1"):
                self.hooks.append(mod.register_forward_pre_hook(self._enter(name)))
        self.noise = self.decode_noise = None

    def _enter(self, name):
        def hook(_mod, _args):
            self.current, self.index = name, 1
        return hook

    def __enter__(self):
        outer = self
        self.saved = ([(m.randn_tensor, m.torch) for m in self.pms], self.vm.torch)

        def randn_tensor(shape, generator=None, device=None, dtype=None):
            outer.noise = torch.randn(shape, generator=outer.g)
            return outer.noise.clone()

        class PipelineTorch:
            def __getattr__(self, item):
                if item == "randn_like":
                    def randn_like(x):
                        outer.decode_noise = torch.randn(x.shape, generator=outer.g)
                        return outer.decode_noise.clone()
                    return randn_like
                return getattr(torch, item)

        class VAETorch:
            def __getattr__(self, item):
                if item == "randn":
                    def randn(shape, device=None, dtype=None):
                        m = torch.randn(tuple(shape), generator=outer.g)
                        outer.maps[f"{outer.current}.per_channel_scale{outer.index}"] = m
                        outer.index += 1
                        return m.clone()
                    return randn
                return getattr(torch, item)

        for m in self.pms:
            m.randn_tensor, m.torch = randn_tensor, PipelineTorch()
        self.vm.torch = VAETorch()
        return self

    def __exit__(self, *exc):
        for m, (r, t) in zip(self.pms, self.saved[0]):
            m.randn_tensor, m.torch = r, t
        self.vm.torch = self.saved[1]
        for h in self.hooks:
            h.remove()


class TextEncoderStandIn(torch.nn.Module):
    """The pipeline reads the text encoder's device and dtype even when it is given embeddings."""

    def __init__(self):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(1))

    @property
    def dtype(self):
        return torch.float32


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ltx-video", required=True, help="LTX-Video checkout at tag ltx-video-0.9.1")
    ap.add_argument("--vace", required=True, help="ali-vilab/VACE checkout")
    args = ap.parse_args()
    sys.path.insert(0, args.ltx_video)
    setup_determinism()
    import ltx_video.models.autoencoders.causal_video_autoencoder as vae_module
    import ltx_video.pipelines.pipeline_ltx_video as pipeline_module
    from ltx_video.models.transformers.symmetric_patchifier import SymmetricPatchifier
    from ltx_video.models.transformers.transformer3d import Transformer3DModel
    from ltx_video.schedulers.rf import RectifiedFlowScheduler
    from ltx_video.utils.conditioning_method import ConditioningMethod
    from ltx_video.utils.skip_layer_strategy import SkipLayerStrategy

    # diffusers 0.42's DiffusionPipeline._execution_device walks components the 0.9.1 pipeline leaves None.
    pipeline_module.LTXVideoPipeline._execution_device = property(lambda self: torch.device("cpu"))
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)

    # The schedule: set_timesteps on samples in token layout [1, m, 128] (the pipeline passes its latents).
    sched = {}
    for m, s in SCHEDULES:
        rf = RectifiedFlowScheduler.from_config(SCHEDULER)
        rf.set_timesteps(s, samples=torch.zeros(1, m, 128))
        sched[f"sigmas_m{m}_s{s}"] = rf.timesteps.clone()
    save_safetensors(os.path.join(OUT, "schedule.safetensors"), sched)

    transformer = Transformer3DModel.from_config(TRANSFORMER).eval()
    randomize_(transformer, SEED + 1)
    vae = build_vae(None).eval()
    g = generator(SEED + 2)
    overrides = {"decoder.timestep_scale_multiplier": lambda s, g: torch.tensor(600.0)}  # learned, not 1000
    for name, t in vae.state_dict().items():
        if "per_channel_scale" in name:  # noise strengths: large enough that a port ignoring the maps fails
            overrides[name] = lambda s, g: 0.5 * torch.randn(s, generator=g)
    randomize_(vae, SEED + 3, overrides=overrides)
    mean = 0.2 * torch.randn(128, generator=g)
    std = torch.exp(0.25 * torch.randn(128, generator=g))
    # Every weight rounded to f16 and stored as f16 (half the fixture size; the f32 runs see the same values).
    with torch.no_grad():
        for module in (transformer, vae):
            for t in module.state_dict().values():
                if t.is_floating_point():
                    t.copy_(t.half().float())
    mean, std = mean.half().float(), std.half().float()
    official = {f"model.diffusion_model.{k}": v for k, v in transformer.state_dict().items()}
    official.update({f"vae.{k}": v for k, v in vae.state_dict().items()})
    official["vae.per_channel_statistics.mean-of-means"] = mean
    official["vae.per_channel_statistics.std-of-means"] = std
    official["vae.per_channel_statistics.channel"] = torch.arange(128, dtype=torch.float32)
    official["vae.per_channel_statistics.mean-of-stds"] = torch.exp(0.25 * torch.randn(128, generator=g))
    path = os.path.join(OUT, SINGLE_FILE)
    save_safetensors(path, {k: v.half() for k, v in official.items()}, metadata={"config": json.dumps({"transformer": TRANSFORMER, "vae": VAE, "scheduler": SCHEDULER}, sort_keys=True)})
    # Load the VAE statistics back the way the original does (its load_state_dict registers them).
    vae.load_state_dict({k: v for k, v in official.items() if k.startswith("vae.")})

    context = torch.randn(1, L, 64, generator=g)
    mask = torch.zeros(1, L)
    mask[:, :VALID] = 1
    negative = torch.randn(1, L, 64, generator=g)
    negative_mask = torch.zeros(1, L)
    negative_mask[:, :NEG_VALID] = 1
    out = {"context": context, "context_mask": mask, "negative_context": negative, "negative_context_mask": negative_mask}
    notes = {}
    for k, (name, (guidance, stg, layers, rescale)) in enumerate(CASES.items()):
        scheduler = RectifiedFlowScheduler.from_config(SCHEDULER)
        pipe = pipeline_module.LTXVideoPipeline(tokenizer=None, text_encoder=TextEncoderStandIn(), vae=vae,
                                                transformer=transformer, scheduler=scheduler,
                                                patchifier=SymmetricPatchifier(patch_size=1))
        pipe.image_processor.postprocess = lambda image, output_type="pil": image  # keep the raw VAE output
        steps = []
        original_step = scheduler.step

        def recording_step(*a, **kw):
            r = original_step(*a, **kw)
            steps.append(r[0].clone())
            return r
        scheduler.step = recording_step
        with torch.no_grad(), Draws(SEED + 10 + k, [pipeline_module], vae_module, vae) as draws:
            video = pipe(height=HEIGHT, width=WIDTH, num_frames=FRAMES, frame_rate=FPS, num_inference_steps=STEPS,
                         guidance_scale=guidance, skip_layer_strategy=SkipLayerStrategy.Attention, skip_block_list=layers,
                         stg_scale=stg, do_rescaling=rescale != 1, rescaling_scale=rescale,
                         negative_prompt=None, prompt_embeds=context, prompt_attention_mask=mask, negative_prompt_embeds=negative,
                         negative_prompt_attention_mask=negative_mask, output_type="pt", clean_caption=False,
                         is_video=True, vae_per_channel_normalize=True, conditioning_method=ConditioningMethod.UNCONDITIONAL,
                         decode_timestep=0.05, decode_noise_scale=0.025, generator=torch.Generator(), return_dict=False)[0]
        out[f"{name}.noise"] = draws.noise
        for i, s in enumerate(steps):
            out[f"{name}.step{i}"] = s
        out[f"{name}.decode_noise"] = draws.decode_noise
        for path_, m in draws.maps.items():
            out[f"{name}.decoder_noise.{path_}"] = m
        out[f"{name}.video"] = video
        notes[name] = {"guidance": guidance, "stg_scale": stg, "stg_skip_layers": layers, "stg_rescale": rescale,
                       "steps": STEPS, "noise_maps": sorted(draws.maps), "video": stats(video),
                       "sigmas": [float(x) for x in scheduler.timesteps]}
    save_safetensors(os.path.join(OUT, "t2v.safetensors"), {k: v.contiguous() for k, v in out.items()})
    vace_notes = vace_runs(args.vace, vae, official, context, mask, negative, negative_mask, pipeline_module, vae_module, g)
    manifest = {
        "generator": "converters/reference/make_ltx_generate_fixtures.py", "seed": SEED, "vace": vace_notes,
        "reference": "Lightricks/LTX-Video tag ltx-video-0.9.1: LTXVideoPipeline.__call__ (inference.py arguments: "
                     "vae_per_channel_normalize, ConditioningMethod.UNCONDITIONAL, do_rescaling = stg_rescale != 1, "
                     "SkipLayerStrategy.Attention), float32, CPU",
        "t2v": {"frames": FRAMES, "height": HEIGHT, "width": WIDTH, "frame_rate": FPS, "decode_timestep": 0.05,
                "decode_noise_scale": 0.025, "context_tokens": L, "valid": VALID, "negative_valid": NEG_VALID},
        "schedules": [list(x) for x in SCHEDULES], "cases": notes,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    for name in os.listdir(OUT):
        os.chmod(os.path.join(OUT, name), 0o644)
        print(name, os.path.getsize(os.path.join(OUT, name)))
    print(json.dumps(notes, indent=1))


def import_vace(vace_root: str):
    """vace.models.ltx (pipeline + transformer) without executing vace/__init__.py and vace/models/__init__.py."""
    import importlib
    import types
    for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional"):
        sys.modules.setdefault(name, types.ModuleType(name))
    for name, sub in (("vace", "vace"), ("vace.models", "vace/models"), ("vace.models.ltx", "vace/models/ltx"),
                      ("vace.models.utils", "vace/models/utils"), ("vace.models.ltx.pipelines", "vace/models/ltx/pipelines"),
                      ("vace.models.ltx.models", "vace/models/ltx/models")):
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(vace_root, sub)]
        sys.modules[name] = module
    pipelines = importlib.import_module("vace.models.ltx.pipelines.pipeline_ltx_video")
    transformers = importlib.import_module("vace.models.ltx.models.transformers")
    return pipelines, transformers.VaceTransformer3DModel


def vace_runs(vace_root, vae, official_t2v, context, mask, negative, negative_mask, ltx_pipeline_module, vae_module, g):
    from ltx_video.models.transformers.symmetric_patchifier import SymmetricPatchifier
    from ltx_video.schedulers.rf import RectifiedFlowScheduler
    from ltx_video.utils.conditioning_method import ConditioningMethod
    from ltx_video.utils.skip_layer_strategy import SkipLayerStrategy
    from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution
    pipelines, VaceTransformer3DModel = import_vace(vace_root)
    pipelines.VaceLTXVideoPipeline._execution_device = property(lambda self: torch.device("cpu"))
    DiagonalGaussianDistribution.sample = lambda self, generator=None: self.mean  # the posterior mean

    transformer = VaceTransformer3DModel.from_config(VACE_TRANSFORMER).eval()
    randomize_(transformer, SEED + 4)  # every parameter, including the zero-initialised before/after_proj
    with torch.no_grad():
        for t in transformer.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())
    weights = {f"model.diffusion_model.{k}": v for k, v in transformer.state_dict().items()}
    # The transformer only (the released file also holds the VAE under vae.*): the VAE is the one of the T2V file.
    config = json.dumps({"transformer": VACE_TRANSFORMER, "scheduler": SCHEDULER}, sort_keys=True)
    save_safetensors(os.path.join(OUT, "vace-ltx-video-0.9-tiny.safetensors"), {k: v.half() for k, v in weights.items()}, metadata={"config": config})

    video = torch.rand(3, FRAMES, HEIGHT, WIDTH, generator=g) * 2 - 1
    src_mask = torch.zeros(1, FRAMES, HEIGHT, WIDTH)
    src_mask[:, :, 8:24, 16:48] = 1.0
    src_mask[:, :, 8:24, 12:16] = 0.5  # a soft edge: decoupling multiplies by the mask, it does not threshold it
    ref = torch.rand(3, 1, 24, 40, generator=g) * 2 - 1
    out = {"src_video": video, "src_mask": src_mask, "ref": ref, "context": context, "context_mask": mask,
           "negative_context": negative, "negative_context_mask": negative_mask}
    notes = {}
    for k, (name, (guidance, stg, layers, rescale, scale)) in enumerate(VACE_CASES.items()):
        scheduler = RectifiedFlowScheduler.from_config(SCHEDULER)
        pipe = pipelines.VaceLTXVideoPipeline(tokenizer=None, text_encoder=TextEncoderStandIn(), vae=vae, transformer=transformer,
                                              scheduler=scheduler, patchifier=SymmetricPatchifier(patch_size=1))
        steps, seen = [], {}
        original_step, original_forward = scheduler.step, transformer.forward

        def recording_step(*a, **kw):
            r = original_step(*a, **kw)
            steps.append(r[0].clone())
            return r

        def recording_forward(*a, **kw):
            if not seen:
                seen["source"], seen["mask"] = kw["source_latents"][:1].clone(), kw["source_mask_latents"][:1].clone()
            return original_forward(*a, **kw)
        scheduler.step = recording_step
        transformer.forward = recording_forward
        # The VACE pipeline module imported randn_tensor / torch itself: record its draws the same way.
        with torch.no_grad(), Draws(SEED + 20 + k, [ltx_pipeline_module, pipelines], vae_module, vae) as draws:
            result = pipe(src_video=[video.clone()], src_mask=[src_mask.clone()], src_ref_images=[[ref.clone()]], height=HEIGHT,
                          width=WIDTH, num_frames=FRAMES, frame_rate=VACE_FPS, negative_prompt=None, num_inference_steps=STEPS,
                          guidance_scale=guidance, context_scale=scale, skip_layer_strategy=SkipLayerStrategy.Attention,
                          skip_block_list=layers, stg_scale=stg, do_rescaling=rescale != 1, rescaling_scale=rescale,
                          prompt_embeds=context, prompt_attention_mask=mask, negative_prompt_embeds=negative,
                          negative_prompt_attention_mask=negative_mask, output_type="pt", clean_caption=False, is_video=True,
                          vae_per_channel_normalize=True, conditioning_method=ConditioningMethod.UNCONDITIONAL,
                          decode_timestep=0.05, decode_noise_scale=0.025, generator=torch.Generator(), return_dict=False)[0]
        del transformer.forward
        tokens = torch.cat([seen["source"], seen["mask"]], dim=2)            # [1, N', 384]
        frames_total = tokens.shape[1] // (HEIGHT // 32 * (WIDTH // 32))
        out[f"{name}.vace_context"] = tokens.transpose(1, 2).reshape(1, 384, frames_total, HEIGHT // 32, WIDTH // 32)
        out[f"{name}.noise"] = draws.noise
        for i, s in enumerate(steps):
            out[f"{name}.step{i}"] = s
        out[f"{name}.decode_noise"] = draws.decode_noise
        for path_, m in draws.maps.items():
            out[f"{name}.decoder_noise.{path_}"] = m
        out[f"{name}.video"] = result
        notes[name] = {"guidance": guidance, "stg_scale": stg, "stg_skip_layers": layers, "stg_rescale": rescale,
                       "context_scale": scale, "frame_rate": VACE_FPS, "steps": STEPS, "references": 1,
                       "video": stats(result), "sigmas": [float(x) for x in scheduler.timesteps]}
    save_safetensors(os.path.join(OUT, "vace.safetensors"), {k: v.contiguous() for k, v in out.items()})
    return notes


if __name__ == "__main__":
    main()

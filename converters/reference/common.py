"""Shared helpers for the fixture generator: seeding, re-randomisation, deterministic writers, manifest.

Everything here exists to make two runs of make_fixtures.py produce byte-identical files:
fixed seeds, one CPU thread, sorted iteration orders, and writers that embed no timestamps or random ids.
"""

from __future__ import annotations

import collections
import copy
import io
import json
import os
import struct
import zipfile
from typing import Iterable

import torch
from safetensors import safe_open
from safetensors.torch import save_file

# The repository root is two levels above this file (converters/reference/common.py).
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO_ROOT, "Tests", "Fixtures")

SAFETENSORS_DTYPE = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def setup_determinism() -> None:
    # One thread: reductions inside matmul/conv then happen in a fixed order on every machine, so a rerun
    # elsewhere is more likely to reproduce the committed bytes (not guaranteed across CPU ISAs).
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)


def generator(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


# ----------------------------------------------------------------------------------------------------
# Re-randomisation
# ----------------------------------------------------------------------------------------------------

def randomize_(module: torch.nn.Module, seed: int, gains: dict[str, float] | None = None,
               overrides: dict[str, callable] | None = None) -> None:
    """Overwrite EVERY parameter and persistent buffer of `module` with seeded random values.

    diffusers zero-initialises output projections (VACE after_proj, proj_out, ...) and sets norms to 1/0;
    such values make whole code paths invisible to a test, so nothing keeps its constructor value.

    Rules (by tensor name and rank), chosen so that activations stay O(1):
      * matrices / conv kernels: N(0, 1) / sqrt(fan_in)            (fan_in = prod(shape[1:]))
      * 1-D `weight`, `gamma` (norm scales, any shape): 1 + 0.1 N
      * biases: 0.1 N
      * `scale_shift_table` / `modulation`: 0.1 N
    `gains` multiplies the matrix rule for names containing a key (used to keep VAE outputs inside the
    decoder's clamp range); `overrides` maps an exact name to a function (shape, gen) -> tensor.
    """
    gains = gains or {}
    overrides = overrides or {}
    gen = generator(seed)
    state = module.state_dict(keep_vars=True)
    for name in sorted(state.keys()):  # sorted: draw order independent of module construction order
        t = state[name]
        leaf = name.rsplit(".", 1)[-1]
        shape = tuple(t.shape)
        if name in overrides:
            new = overrides[name](shape, gen)
        elif leaf in ("scale_shift_table", "modulation") or name.endswith("scale_shift_table"):
            new = 0.1 * torch.randn(shape, generator=gen)
        elif leaf == "bias":
            new = 0.1 * torch.randn(shape, generator=gen)
        elif leaf == "gamma" or (leaf == "weight" and t.dim() == 1):
            new = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif leaf == "weight" and t.dim() >= 2:
            fan_in = 1
            for s in shape[1:]:
                fan_in *= s
            g = 1.0
            for key, val in sorted(gains.items()):
                if key in name:
                    g = val
            new = torch.randn(shape, generator=gen) * (g / fan_in ** 0.5)
        else:
            raise ValueError(f"randomize_: no rule for {name} {shape}")
        with torch.no_grad():
            t.copy_(new.to(t.dtype))


# ----------------------------------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------------------------------

def _contig(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous().clone() for k, v in sorted(tensors.items())}


def save_safetensors(path: str, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(_contig(tensors), path, metadata=metadata)


def save_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def _metadata_for(keys: Iterable[str]) -> "collections.OrderedDict[str, dict]":
    """The `_metadata` attribute nn.Module.state_dict() attaches: one {'version': 1} per module prefix."""
    prefixes = {""}
    for k in keys:
        parts = k.split(".")[:-1]
        for i in range(1, len(parts) + 1):
            prefixes.add(".".join(parts[:i]))
    return collections.OrderedDict((p, {"version": 1}) for p in sorted(prefixes))


def save_pth_deterministic(path: str, tensors: dict[str, torch.Tensor], root: str) -> None:
    """Write a PyTorch zip checkpoint of a plain state dict, byte-reproducibly.

    torch.save (2.13) adds `<root>/.data/serialization_id`, a random id, so two saves differ. We let torch
    pickle the object (so data.pkl is exactly what torch writes: an OrderedDict REDUCE, SETITEMS, and a BUILD
    carrying `_metadata`, like a real `module.state_dict()` save), then re-pack the entries ourselves in the
    classic layout of older official checkpoints such as Wan2.1_VAE.pth:
        <root>/data.pkl, <root>/byteorder, <root>/data/<k> ..., <root>/version
    All entries are stored (uncompressed) with a fixed 1980-01-01 timestamp; tensor data is padded to
    64-byte file offsets (as torch does) so readers may mmap it.
    """
    sd = collections.OrderedDict((k, v.detach().contiguous().clone()) for k, v in sorted(tensors.items()))
    sd._metadata = _metadata_for(sd.keys())  # type: ignore[attr-defined]
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as zin:
        names = zin.namelist()
        src_root = names[0].split("/")[0]
        entries = {n[len(src_root) + 1:]: zin.read(n) for n in names}
    data_keys = sorted((n for n in entries if n.startswith("data/")), key=lambda n: int(n.split("/")[1]))
    order = ["data.pkl", "byteorder"] + data_keys + ["version"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zout:
        for rel in order:
            name = f"{root}/{rel}"
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 0
            info.external_attr = 0
            if rel.startswith("data/"):
                # local header = 30 bytes + name + extra; pad the extra field so the data starts at 64k.
                offset = f.tell()
                base = offset + 30 + len(name.encode()) + 4
                pad = (-base) % 64
                info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # id 'FB' like torch's writer
            zout.writestr(info, entries[rel])
    # Prove the result is an ordinary checkpoint.
    back = torch.load(path, weights_only=True)
    assert list(back.keys()) == list(sd.keys())
    for k in sd:
        assert back[k].dtype == sd[k].dtype and torch.equal(back[k], sd[k]), k


# ----------------------------------------------------------------------------------------------------
# Manifest
# ----------------------------------------------------------------------------------------------------

def _safetensors_header(path: str) -> dict:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def tensor_list_safetensors(path: str) -> tuple[list[dict], dict | None]:
    header = _safetensors_header(path)
    meta = header.pop("__metadata__", None)
    tensors = [{"name": k, "dtype": v["dtype"], "shape": v["shape"]} for k, v in sorted(header.items())]
    return tensors, meta


def tensor_list_pth(path: str) -> list[dict]:
    sd = torch.load(path, weights_only=True)
    return [{"name": k, "dtype": SAFETENSORS_DTYPE[v.dtype], "shape": list(v.shape)} for k, v in sorted(sd.items())]


def load_safetensors(path: str) -> dict[str, torch.Tensor]:
    out = {}
    with safe_open(path, framework="pt") as f:
        for k in f.keys():
            out[k] = f.get_tensor(k)
    return out


class Manifest:
    def __init__(self, seed: int):
        self.seed = seed
        self.files: list[dict] = []
        self.notes: dict[str, object] = {}

    def add(self, abs_path: str, *, fmt: str, model: str, role: str, layout: str | None = None,
            case: str | None = None) -> None:
        rel = os.path.relpath(abs_path, FIXTURES)
        entry: dict = {"path": rel, "format": fmt}
        if layout is not None:
            entry["layout"] = layout
        entry["model"] = model
        entry["role"] = role
        if case is not None:
            entry["case"] = case
        if fmt == "safetensors":
            tensors, meta = tensor_list_safetensors(abs_path)
            entry["tensors"] = tensors
            if meta:
                entry["metadata"] = meta
        elif fmt == "pth":
            entry["tensors"] = tensor_list_pth(abs_path)
        entry["bytes"] = os.path.getsize(abs_path)
        self.files.append(entry)

    def write(self) -> str:
        obj = {
            "version": 1,
            "generator": "converters/reference/make_fixtures.py",
            "seed": self.seed,
            "files": copy.deepcopy(sorted(self.files, key=lambda e: e["path"])),
            "notes": self.notes,
        }
        # Indented for reading, but each tensor entry on one line (the lists are long).
        placeholders = {}
        for e in obj["files"]:
            for i, t in enumerate(e.get("tensors", [])):
                key = f"@@T{len(placeholders)}@@"
                placeholders[key] = json.dumps(t)
                e["tensors"][i] = key
        text = json.dumps(obj, indent=1)
        for key, compact in placeholders.items():
            text = text.replace(f'"{key}"', compact, 1)
        assert json.loads(text)["files"] == json.loads(json.dumps(sorted(self.files, key=lambda e: e["path"])))
        path = os.path.join(FIXTURES, "manifest.json")
        with open(path, "w") as f:
            f.write(text + "\n")
        return path


# ----------------------------------------------------------------------------------------------------
# Small numeric helpers used in checks and in the magnitude report
# ----------------------------------------------------------------------------------------------------

def rms(t: torch.Tensor) -> float:
    return float(t.double().pow(2).mean().sqrt())


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-300))


def stats(t: torch.Tensor) -> dict:
    t = t.double()
    return {"rms": round(float(t.pow(2).mean().sqrt()), 6), "absmax": round(float(t.abs().max()), 6)}

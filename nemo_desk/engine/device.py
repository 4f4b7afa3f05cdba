"""Choosing CPU or CUDA, explaining the choice, and reduced precision on CUDA.

Users meet GPUs that torch does not support (too new, too old, a CPU-only torch build),
or too little free VRAM. Each case gets a one-line explanation instead of a crash.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from nemo_desk.core.errors import DeviceError


@dataclass(frozen=True)
class DeviceReport:
    device: str  # chosen: "cpu" or "cuda"
    requested: str  # "auto", "cpu" or "cuda"
    name: str = "CPU"
    total_vram_gb: float = 0.0
    free_vram_gb: float = 0.0
    capability: str = ""
    torch_cuda: str | None = None  # CUDA version torch was built with; None for CPU builds
    notes: tuple[str, ...] = field(default_factory=tuple)  # why a fallback happened

    def summary(self) -> str:
        if self.device == "cuda":
            text = (f"GPU: {self.name} (compute {self.capability}, {self.free_vram_gb:.1f} of "
                    f"{self.total_vram_gb:.1f} GB free, torch CUDA {self.torch_cuda})")
        else:
            text = "CPU"
        return text + ("; " + " ".join(self.notes) if self.notes else "")


def preflight(requested: str = "auto", need_vram_gb: float = 0.0, torch_module: Any = None) -> DeviceReport:
    """Inspect the machine and pick a device. `torch_module` is injectable for tests."""
    if requested not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"unknown device '{requested}'; use auto, cpu or cuda")
    if requested == "cpu":
        return DeviceReport("cpu", requested)
    torch = torch_module
    if torch is None:
        import torch
    cuda_build = getattr(torch.version, "cuda", None)
    if not cuda_build:
        return _fallback(requested, "This torch build has no CUDA support; using the CPU.", cuda_build)
    try:
        available = torch.cuda.is_available()
    except Exception as exc:  # broken driver installs raise here
        return _fallback(requested, f"The NVIDIA driver could not be used ({exc}); using the CPU.", cuda_build)
    if not available:
        return _fallback(requested, "No usable NVIDIA GPU or driver was found; using the CPU.", cuda_build)
    props = torch.cuda.get_device_properties(0)
    capability = f"{props.major}.{props.minor}"
    arch = f"sm_{props.major}{props.minor}"
    supported = set(getattr(torch.cuda, "get_arch_list", lambda: [])())
    if supported and arch not in supported and not any(a.startswith("compute_") for a in supported):
        return _fallback(
            requested,
            f"{props.name} ({arch}) is not supported by this torch build ({', '.join(sorted(supported))}); using the CPU.",
            cuda_build,
        )
    try:
        free, total = torch.cuda.mem_get_info(0)
    except Exception:
        free, total = props.total_memory, props.total_memory
    free_gb, total_gb = free / 1024**3, total / 1024**3
    if need_vram_gb and free_gb < need_vram_gb and requested == "auto":
        return _fallback(
            requested,
            f"{props.name} has {free_gb:.1f} GB free, the model needs about {need_vram_gb:.1f} GB; using the CPU.",
            cuda_build,
        )
    return DeviceReport("cuda", requested, props.name, total_gb, free_gb, capability, cuda_build)


def _fallback(requested: str, note: str, cuda_build: str | None) -> DeviceReport:
    if requested == "cuda":
        raise DeviceError(note.replace("; using the CPU.", "; choose CPU or Auto instead."))
    return DeviceReport("cpu", requested, torch_cuda=cuda_build, notes=(note,))


def precision_context(device: str, torch_module: Any = None):
    """bf16 autocast on GPUs that have it (Ampere and newer), fp16 on older ones; the
    CPU runs in fp32, where autocast would be slower and less exact."""
    if device != "cuda":
        return contextlib.nullcontext()
    torch = torch_module
    if torch is None:
        import torch
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def is_out_of_memory(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name == "OutOfMemoryError" or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def free_accelerator_memory() -> None:
    """Return freed model memory to the driver (after an unload or an out-of-memory)."""
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # a broken CUDA install must not turn cleanup into a crash
        pass

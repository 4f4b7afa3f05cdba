"""Choosing CPU or CUDA, explaining the choice, and the precision each GPU runs in.

Users meet GPUs that torch does not support (too new, too old, a CPU-only torch build), a
driver older than the torch build needs, or too little free VRAM. Each case gets a
one-line explanation instead of a crash, and `--device cuda` turns it into an error that
says what to do.
"""
from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

from nemo_desk.core.errors import DeviceError


class Precision(str, Enum):
    FP32 = "fp32"
    BF16 = "bf16"  # the model's weights are cast to bfloat16 (NeMo's own inference recipe)
    FP16 = "fp16"  # autocast; weights stay fp32 (fp16 weights overflow in the joint)


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
    precision: Precision = Precision.FP32

    def summary(self) -> str:
        if self.device == "cuda":
            text = (f"GPU: {self.name} (compute {self.capability}, {self.free_vram_gb:.1f} of "
                    f"{self.total_vram_gb:.1f} GB free, {self.precision.value}, torch CUDA {self.torch_cuda})")
        else:
            text = "CPU"
        return text + ("; " + " ".join(self.notes) if self.notes else "")


# Which device capabilities can run code built for a capability (torch 2.13's
# torch.cuda.DEVICE_REQUIREMENT, written out so the decision needs no CUDA build to test):
# within one major version newer minors run older code (an RTX 4070, 8.9, runs the sm_86
# kernels of official builds, which never list sm_89); the listed embedded chips (Jetson
# 5.3, 6.2, 7.2, 8.7; Thor 10.1/11.0) are binary-incompatible with their siblings; code
# never runs on an older major (a GTX 1080, 6.1, cannot run compute_120).
_ONLY_ITSELF = {53: {53}, 62: {62}, 72: {72}, 87: {87}, 101: {101, 110}}
_EXCLUDED = {50: {53}, 52: {53}, 60: {62}, 61: {62}, 70: {72}, 80: {87}, 86: {87}, 100: {101}}


def code_runs_on(device_cc: int, code_cc: int) -> bool:
    """True when code built for `code_cc` (sm_XY or compute_XY, as XY) runs on `device_cc`."""
    if code_cc in _ONLY_ITSELF:
        return device_cc in _ONLY_ITSELF[code_cc]
    if device_cc in _EXCLUDED.get(code_cc, ()):
        return False
    return device_cc // 10 == code_cc // 10 and device_cc % 10 >= code_cc % 10


def arch_version(arch: str) -> int | None:
    """'sm_86' -> 86, 'sm_90a' -> 90, 'compute_120' -> 120; None for anything else."""
    m = re.fullmatch(r"(?:sm|compute)_(\d+)[af]?", arch.strip())
    return int(m.group(1)) if m else None


def gpu_supported(major: int, minor: int, arch_list: list[str]) -> bool:
    codes = [v for v in (arch_version(a) for a in arch_list) if v is not None]
    if not codes:  # a source build that reports nothing: the kernel probe decides
        return True
    return any(code_runs_on(major * 10 + minor, c) for c in codes)


def choose_precision(major: int, fp16_validated: bool = False) -> Precision:
    """bf16 from Ampere (8.0) on, where it is native. Older cards (Turing 7.5, Volta 7.0)
    only emulate bf16 (torch.cuda.is_bf16_supported() still says True there), and fp16 can
    overflow into a decoder that emits only blanks, so they run fp32 unless fp16 was
    validated on the model (catalog) - the runner also checks each fp16 batch."""
    if major >= 8:
        return Precision.BF16
    return Precision.FP16 if fp16_validated else Precision.FP32


# torch warns "The NVIDIA driver on your system is too old (found version 11040)" and
# reports no GPU; the number is the CUDA version the driver supports (11.4 there).
_DRIVER_TOO_OLD = re.compile(r"driver on your system is too old \(found version (\d+)\)", re.I)
# The oldest Windows driver of each CUDA major (minor-version compatibility covers the rest).
MIN_DRIVER = {"12": "528.33", "13": "580.88"}


def driver_message(warning_text: str, torch_cuda: str) -> str | None:
    m = _DRIVER_TOO_OLD.search(warning_text)
    if not m:
        return None
    found = int(m.group(1))
    major = torch_cuda.split(".")[0]
    need = MIN_DRIVER.get(major, "a current one")
    return (f"The NVIDIA driver supports CUDA {found // 1000}.{found % 1000 // 10}, but this app needs "
            f"CUDA {torch_cuda} (driver {need} or newer); update the driver from nvidia.com/drivers; "
            f"using the CPU.")


def preflight(requested: str = "auto", need_vram_gb: float | Callable[[Precision], float] = 0.0,
              torch_module: Any = None, fp16_validated: bool = False) -> DeviceReport:
    """Inspect the machine and pick a device and precision. `need_vram_gb` may depend on
    the precision (weights in bf16 take half). `torch_module` is injectable for tests."""
    if requested not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"unknown device '{requested}'; use auto, cpu or cuda")
    if requested == "cpu":
        return DeviceReport("cpu", requested)
    torch = torch_module
    if torch is None:
        import torch  # lazy: only the worker thread or CLI gets here
    cuda_build = getattr(torch.version, "cuda", None)
    if not cuda_build:
        return _fallback(requested, "This torch build has no CUDA support; using the CPU.", cuda_build)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            available = torch.cuda.is_available()
        except Exception as exc:  # broken driver installs raise here
            return _fallback(requested, f"The NVIDIA driver could not be used ({exc}); using the CPU.", cuda_build)
    if not available:
        said = " ".join(str(w.message) for w in caught)
        note = driver_message(said, cuda_build) or "No usable NVIDIA GPU or driver was found; using the CPU."
        return _fallback(requested, note, cuda_build)
    props = torch.cuda.get_device_properties(0)
    capability = f"{props.major}.{props.minor}"
    arch_list = list(getattr(torch.cuda, "get_arch_list", lambda: [])())
    if not gpu_supported(props.major, props.minor, arch_list):
        return _fallback(requested, f"{props.name} (compute {capability}) is not supported by this torch "
                                    f"build (built for {', '.join(arch_list)}); using the CPU.", cuda_build)
    problem = kernel_probe(torch)
    if problem:
        return _fallback(requested, f"{props.name} (compute {capability}) cannot run this torch build's "
                                    f"kernels ({problem}); using the CPU.", cuda_build)
    try:
        free, total = torch.cuda.mem_get_info(0)
    except Exception:
        free, total = props.total_memory, props.total_memory
    free_gb, total_gb = free / 1024**3, total / 1024**3
    precision = choose_precision(props.major, fp16_validated)
    need = need_vram_gb(precision) if callable(need_vram_gb) else need_vram_gb
    if need and free_gb < need and requested == "auto":
        return _fallback(
            requested,
            f"{props.name} has {free_gb:.1f} GB free, the model needs about {need:.1f} GB; using the CPU.",
            cuda_build,
        )
    return DeviceReport("cuda", requested, props.name, total_gb, free_gb, capability, cuda_build,
                        precision=precision)


def kernel_probe(torch: Any) -> str:
    """Run one tiny kernel: a build without code for this GPU fails here with "no kernel
    image is available", not in the middle of the first job. Returns '' when it ran."""
    try:
        x = torch.ones(8, device="cuda")
        return "" if float((x + 1).sum().item()) == 16.0 else "a test computation gave a wrong result"
    except Exception as exc:
        return str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__


def _fallback(requested: str, note: str, cuda_build: str | None) -> DeviceReport:
    if requested == "cuda":
        raise DeviceError(note.replace("; using the CPU.", "; choose CPU or Auto instead."))
    return DeviceReport("cpu", requested, torch_cuda=cuda_build, notes=(note,))


def precision_context(device: str, precision: Precision = Precision.FP32, torch_module: Any = None):
    """Autocast only for fp16 (validated models on pre-Ampere cards). bf16 runs as a cast
    model (no per-call re-casting of frozen weights) and the CPU runs exact fp32."""
    if device != "cuda" or precision is not Precision.FP16:
        return contextlib.nullcontext()
    torch = torch_module
    if torch is None:
        import torch
    return torch.autocast(device_type="cuda", dtype=torch.float16)


# An allocation that failed, whichever library asked: torch's caching allocator raises
# OutOfMemoryError; cuBLAS, cuFFT (the mel spectrogram) and cuDNN (the convolutions) report
# their own *_ALLOC_FAILED statuses as plain RuntimeErrors.
_OOM_TEXTS = ("out of memory", "cublas_status_alloc_failed", "cufft_alloc_failed", "cudnn_status_alloc_failed")


def is_out_of_memory(exc: BaseException) -> bool:
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and any(t in str(exc).lower() for t in _OOM_TEXTS)


def free_accelerator_memory() -> None:
    """Return freed model memory to the driver (after an unload, a move to the CPU or an
    out-of-memory). Call it after the tensors are gone or moved, not before."""
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # a broken CUDA install must not turn cleanup into a crash
        pass


def cap_vram_use(torch: Any, free_bytes: int, total_bytes: int, platform: str) -> float | None:
    """On Windows, drivers since 536.40 spill into system RAM when VRAM runs out instead of
    failing, so a too-large batch silently runs many times slower. Capping this process at
    what was free when the model loaded turns that into an out-of-memory error, which the
    batch runner answers by halving the batch. Returns the fraction set, or None."""
    if platform != "win32" or not total_bytes:
        return None
    fraction = max(0.05, min(1.0, 0.95 * free_bytes / total_bytes))
    torch.cuda.set_per_process_memory_fraction(fraction, 0)
    return fraction

"""Device preflight, precision and VRAM decisions with a simulated torch (CI has no GPU).

The arch lists are the real ones of torch 2.13's CUDA builds (torch's own release table),
so the test cannot hide a card behind a hand-made list again.
"""
from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
import torch.cuda

from nemo_desk.core.errors import DeviceError
from nemo_desk.engine import vram
from nemo_desk.engine.device import (
    Precision, cap_vram_use, code_runs_on, gpu_supported, is_out_of_memory, precision_context, preflight,
)

RELEASES = torch.cuda.PYTORCH_RELEASES_CODE_CC


def build_arch_list(cuda: str) -> list[str]:
    """What get_arch_list() returns on an official x86-64 build: sm_ for each built
    capability, and PTX (compute_) for the newest."""
    ccs = sorted(RELEASES[cuda]["x86_64"])
    return [f"sm_{cc}" for cc in ccs] + [f"compute_{ccs[-1]}"]


class FakeTensor:
    def __init__(self, value):
        self.value = value

    def __add__(self, other):
        return FakeTensor([v + other for v in self.value])

    def sum(self):
        return FakeTensor(sum(self.value))

    def item(self):
        return self.value


def fake_torch(cuda="12.9", available=True, name="NVIDIA GeForce RTX 4070", cap=(8, 9), free_gb=10.0,
               total_gb=12.0, arch_list=None, bf16=True, raises=None, warn=None, kernel_error=None):
    def is_available():
        if warn:
            warnings.warn(warn)
        if raises:
            raise raises
        return available

    def ones(n, device):
        if kernel_error:
            raise RuntimeError(kernel_error)
        return FakeTensor([1.0] * n)

    props = SimpleNamespace(name=name, major=cap[0], minor=cap[1], total_memory=int(total_gb * 1024**3))
    fractions = []
    cuda_ns = SimpleNamespace(
        is_available=is_available,
        get_device_properties=lambda i: props,
        get_arch_list=lambda: list(arch_list if arch_list is not None else build_arch_list(cuda or "12.9")),
        mem_get_info=lambda i: (int(free_gb * 1024**3), int(total_gb * 1024**3)),
        is_bf16_supported=lambda: bf16,  # True on Turing too: emulation counts
        set_per_process_memory_fraction=lambda f, i: fractions.append(f),
        fractions=fractions,
    )
    return SimpleNamespace(version=SimpleNamespace(cuda=cuda), cuda=cuda_ns, ones=ones,
                           bfloat16="bf16", float16="fp16",
                           autocast=lambda device_type, dtype: ("autocast", device_type, dtype))


@pytest.mark.parametrize("cuda", sorted(RELEASES))
def test_rtx_40_series_runs_on_every_official_cuda_build(cuda):
    """Official builds never list sm_89; an RTX 4070 runs their sm_86 kernels."""
    assert "sm_89" not in build_arch_list(cuda)
    r = preflight("auto", 3.0, fake_torch(cuda=cuda, cap=(8, 9)))
    assert r.device == "cuda" and r.precision is Precision.BF16
    assert "RTX 4070" in r.summary() and "8.9" in r.summary() and "10.0 of 12.0 GB free" in r.summary()


def test_ptx_of_a_newer_major_does_not_let_an_old_card_through():
    """(6,1) with compute_120 in the list: a GTX 1080 cannot run that code."""
    r = preflight("auto", 3.0, fake_torch(cuda="12.9", cap=(6, 1), name="GeForce GTX 1080"))
    assert r.device == "cpu" and "GTX 1080 (compute 6.1) is not supported" in r.notes[0]
    assert "compute_120" in r.notes[0]
    # The CUDA 12.6 build still carries Pascal kernels.
    assert preflight("auto", 3.0, fake_torch(cuda="12.6", cap=(6, 1))).device == "cuda"
    with pytest.raises(DeviceError, match="choose CPU or Auto"):
        preflight("cuda", 3.0, fake_torch(cuda="12.9", cap=(6, 1)))


def test_compatibility_rule_equals_torchs_own_table():
    for code_cc, req in torch.cuda.DEVICE_REQUIREMENT.items():
        for device_cc in range(30, 130):
            assert code_runs_on(device_cc, code_cc) == (device_cc in req), (device_cc, code_cc)


def test_an_empty_arch_list_leaves_the_decision_to_the_kernel_probe():
    assert gpu_supported(8, 9, [])
    r = preflight("auto", 0, fake_torch(arch_list=[], kernel_error="CUDA error: no kernel image is available "
                                                                   "for execution on the device"))
    assert r.device == "cpu" and "no kernel image is available" in r.notes[0]


@pytest.mark.parametrize("cap,validated,expect,cuda", [
    ((7, 5), False, Precision.FP32, "12.9"),  # Turing: bf16 only emulated, fp16 not validated
    ((7, 0), False, Precision.FP32, "12.6"),  # Volta (no kernels in the 12.9 build)
    ((7, 5), True, Precision.FP16, "12.9"),
    ((8, 0), False, Precision.BF16, "12.9"),  # Ampere
    ((8, 6), True, Precision.BF16, "13.0"),
    ((9, 0), False, Precision.BF16, "12.9"),
    ((12, 0), False, Precision.BF16, "12.9"),  # Blackwell
])
def test_precision_follows_compute_capability_not_emulated_bf16(cap, validated, expect, cuda):
    r = preflight("auto", 0, fake_torch(cuda=cuda, cap=cap, bf16=True), fp16_validated=validated)
    assert r.device == "cuda" and r.precision is expect
    assert expect.value in r.summary()


def test_precision_context_autocasts_only_fp16_on_cuda():
    t = fake_torch()
    assert precision_context("cuda", Precision.FP16, t) == ("autocast", "cuda", "fp16")
    for device, precision in (("cuda", Precision.BF16), ("cuda", Precision.FP32), ("cpu", Precision.FP16)):
        ctx = precision_context(device, precision, t)
        with ctx:
            pass
        assert not isinstance(ctx, tuple)


def test_a_driver_too_old_is_named_with_the_version_found_and_needed():
    warn = ("CUDA initialization: The NVIDIA driver on your system is too old (found version 11040). "
            "Please update your GPU driver")
    r = preflight("auto", 3.0, fake_torch(cuda="12.9", available=False, warn=warn))
    assert r.device == "cpu" and len(r.notes) == 1
    assert "supports CUDA 11.4" in r.notes[0] and "CUDA 12.9" in r.notes[0] and "528.33" in r.notes[0]
    with pytest.raises(DeviceError, match="found|supports CUDA 11.4"):
        preflight("cuda", 0, fake_torch(cuda="12.9", available=False, warn=warn))


@pytest.mark.parametrize("torch_kw,expect", [
    (dict(cuda=None), "no CUDA support"),
    (dict(available=False), "No usable NVIDIA GPU"),
    (dict(raises=RuntimeError("driver failed")), "driver failed"),
    (dict(free_gb=1.5), "1.5 GB free, the model needs about 3.0 GB"),
])
def test_auto_falls_back_to_cpu_with_one_line_reason(torch_kw, expect):
    r = preflight("auto", 3.0, fake_torch(**torch_kw))
    assert r.device == "cpu"
    assert len(r.notes) == 1 and expect in r.notes[0]
    assert "\n" not in r.summary()


def test_vram_need_depends_on_precision():
    """A 2.4 GB (fp32) model fits a card in bf16 that it would not fit in fp32."""
    need = lambda p: vram.need_gb(2.4, p, 1, 30.0)  # noqa: E731
    assert need(Precision.BF16) < need(Precision.FP32)
    free = (need(Precision.BF16) + need(Precision.FP32)) / 2
    assert preflight("auto", need, fake_torch(cap=(8, 6), free_gb=free)).device == "cuda"
    assert preflight("auto", need, fake_torch(cap=(7, 5), free_gb=free)).device == "cpu"


def test_gpu_batch_grows_with_free_vram_and_stays_at_least_one():
    small, big = (vram.gpu_batch(free, 2.4, Precision.BF16, 30.0) for free in (3.0, 40.0))
    assert 1 <= small < big and big == max(vram.GPU_BATCHES)
    assert vram.gpu_batch(0.5, 2.4, Precision.BF16, 30.0) == 1
    assert vram.gpu_batch(8.0, 2.4, Precision.BF16, 30.0) >= vram.gpu_batch(8.0, 2.4, Precision.FP32, 30.0)


def test_cuda_requested_but_unusable_is_an_error():
    with pytest.raises(DeviceError, match="choose CPU or Auto"):
        preflight("cuda", 0, fake_torch(available=False))


def test_cpu_request_never_touches_torch():
    assert preflight("cpu", 0, torch_module=object()).device == "cpu"


def test_unknown_device_is_refused():
    with pytest.raises(DeviceError):
        preflight("tpu")


@pytest.mark.parametrize("text", [
    "CUDA out of memory. Tried to allocate 2.00 GiB",
    "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
    "cuFFT error: CUFFT_ALLOC_FAILED",
    "cuDNN error: CUDNN_STATUS_ALLOC_FAILED",
])
def test_every_allocation_failure_is_out_of_memory(text):
    assert is_out_of_memory(RuntimeError(text))


def test_oom_detection_is_not_too_eager():
    assert is_out_of_memory(type("OutOfMemoryError", (Exception,), {})())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))  # not a RuntimeError from torch


def test_windows_caps_vram_so_a_full_card_raises_instead_of_spilling():
    t = fake_torch()
    assert cap_vram_use(t, 6 * 1024**3, 12 * 1024**3, "linux") is None and t.cuda.fractions == []
    fraction = cap_vram_use(t, 6 * 1024**3, 12 * 1024**3, "win32")
    assert fraction == pytest.approx(0.475) and t.cuda.fractions == [fraction]

"""Device preflight, reduced precision and out-of-memory back-off, with a simulated torch."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from nemo_desk.core.errors import DeviceError
from nemo_desk.core.events import LogEvent
from nemo_desk.engine.catalog import get_spec
from nemo_desk.engine.device import is_out_of_memory, precision_context, preflight
from nemo_desk.engine.loader import LoadedModel
from nemo_desk.engine.transcriber import BatchRunner, TranscribeOptions


def fake_torch(cuda="12.8", available=True, name="NVIDIA GeForce RTX 4070", cap=(8, 9), free_gb=10.0,
               total_gb=12.0, arch_list=("sm_80", "sm_86", "sm_89", "sm_90"), bf16=True, raises=None):
    def is_available():
        if raises:
            raise raises
        return available

    props = SimpleNamespace(name=name, major=cap[0], minor=cap[1], total_memory=int(total_gb * 1024**3))
    cuda_ns = SimpleNamespace(
        is_available=is_available,
        get_device_properties=lambda i: props,
        get_arch_list=lambda: list(arch_list),
        mem_get_info=lambda i: (int(free_gb * 1024**3), int(total_gb * 1024**3)),
        is_bf16_supported=lambda: bf16,
    )
    return SimpleNamespace(version=SimpleNamespace(cuda=cuda), cuda=cuda_ns,
                           bfloat16="bf16", float16="fp16",
                           autocast=lambda device_type, dtype: ("autocast", device_type, dtype))


def test_gpu_is_chosen_and_described():
    r = preflight("auto", 3.0, fake_torch())
    assert r.device == "cuda"
    assert "RTX 4070" in r.summary() and "8.9" in r.summary() and "10.0 of 12.0 GB free" in r.summary()


@pytest.mark.parametrize("torch_kw,expect", [
    (dict(cuda=None), "no CUDA support"),
    (dict(available=False), "No usable NVIDIA GPU"),
    (dict(raises=RuntimeError("driver too old")), "driver too old"),
    (dict(cap=(12, 0), name="RTX 5090"), "sm_120) is not supported"),
    (dict(free_gb=1.5), "1.5 GB free, the model needs about 3.0 GB"),
])
def test_auto_falls_back_to_cpu_with_one_line_reason(torch_kw, expect):
    r = preflight("auto", 3.0, fake_torch(**torch_kw))
    assert r.device == "cpu"
    assert len(r.notes) == 1 and expect in r.notes[0]
    assert "\n" not in r.summary()


def test_cuda_requested_but_unusable_is_an_error():
    with pytest.raises(DeviceError, match="choose CPU or Auto"):
        preflight("cuda", 0, fake_torch(available=False))


def test_cpu_request_never_touches_torch():
    assert preflight("cpu", 0, torch_module=object()).device == "cpu"


def test_unknown_device_is_refused():
    with pytest.raises(DeviceError):
        preflight("tpu")


def test_precision_bf16_on_new_gpus_fp16_on_old_and_none_on_cpu():
    assert precision_context("cuda", fake_torch(bf16=True)) == ("autocast", "cuda", "bf16")
    assert precision_context("cuda", fake_torch(bf16=False)) == ("autocast", "cuda", "fp16")
    with precision_context("cpu"):
        pass


class OOM(RuntimeError):
    pass


class FakeModel:
    def __init__(self):
        self.moved_to = None

    def to(self, device):
        self.moved_to = device
        return self


def test_out_of_memory_halves_the_batch_then_falls_back_to_cpu():
    loaded = LoadedModel(get_spec("nvidia/parakeet-tdt-0.6b-v3"), FakeModel(), "cuda", None)
    calls = []

    def run(lm, arrays, options):
        calls.append((lm.device, len(arrays)))
        if lm.device == "cuda":
            raise OOM("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [f"h{i}" for i in range(len(arrays))]

    events = []
    runner = BatchRunner(loaded, TranscribeOptions(), events.append, run=run)
    out = runner(["a", "b", "c", "d"])
    assert len(out) == 4
    assert calls[:3] == [("cuda", 4), ("cuda", 2), ("cuda", 1)]
    assert loaded.device == "cpu" and loaded.model.moved_to == "cpu"
    msgs = [e.message for e in events if isinstance(e, LogEvent)]
    assert any("trying 2" in m for m in msgs) and any("continuing on the CPU" in m for m in msgs)


def test_other_errors_are_not_swallowed():
    loaded = LoadedModel(get_spec("nvidia/parakeet-tdt-0.6b-v3"), FakeModel(), "cuda", None)

    def run(lm, arrays, options):
        raise ValueError("bad input")

    with pytest.raises(ValueError):
        BatchRunner(loaded, TranscribeOptions(), lambda e: None, run=run)(["a"])


def test_oom_detection():
    assert is_out_of_memory(RuntimeError("CUDA out of memory"))
    assert is_out_of_memory(type("OutOfMemoryError", (Exception,), {})())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))

"""What happens when a GPU runs short: the batch runner's back-off, the model's placement,
and the manager's fallback and way back - with fake models (no GPU in CI); the NeMo calls
themselves are covered by the engine tests on real tiny models."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from nemo_desk.core.errors import DeviceError
from nemo_desk.core.events import LogEvent
from nemo_desk.engine import models as models_mod
from nemo_desk.engine.catalog import get_spec
from nemo_desk.engine.device import DeviceReport, Precision
from nemo_desk.engine.loader import GpuMemoryError, LoadedModel, place, set_cuda_graphs
from nemo_desk.engine.models import ModelManager, ModelRef
from nemo_desk.engine.transcriber import BatchRunner, TranscribeOptions

SPEC = get_spec("nvidia/parakeet-tdt-0.6b-v3")


class OOM(RuntimeError):
    pass


class FakeComputer:
    allow_cuda_graphs = True


class FakeModel:
    """Records moves and CUDA-graph switches like NeMo's ASRModel exposes them."""

    def __init__(self, oom_on_cuda=False):
        self.moves: list[tuple] = []
        self.graph_calls: list[str] = []
        self.oom_on_cuda = oom_on_cuda
        self.decoding = SimpleNamespace(decoding=SimpleNamespace(decoding_computer=FakeComputer()))

    def to(self, *args, **kwargs):
        self.moves.append((args, tuple(sorted((k, str(v)) for k, v in kwargs.items()))))
        if self.oom_on_cuda and "cuda" in args:
            raise OOM("CUDA out of memory. Tried to allocate 1.20 GiB")
        return self

    def disable_cuda_graphs(self):
        self.graph_calls.append("disable")
        return True

    def maybe_enable_cuda_graphs(self, force_reinit=False):
        self.graph_calls.append("reinit" if force_reinit else "enable")
        return True


def loaded_on_gpu(model=None, precision=Precision.BF16) -> LoadedModel:
    return LoadedModel(SPEC, model or FakeModel(), "cuda", Path("."), precision=precision)


def warnings_of(events) -> list[str]:
    return [e.message for e in events if isinstance(e, LogEvent) and e.level == "warning"]


def test_out_of_memory_remembers_the_batch_that_worked():
    loaded = loaded_on_gpu()
    sizes = []

    def run(lm, arrays, options):
        sizes.append(len(arrays))
        if len(arrays) > 2:
            raise OOM("CUDA out of memory")
        return [f"h{a}" for a in arrays]

    events = []
    runner = BatchRunner(loaded, TranscribeOptions(), events.append, run=run)
    assert runner(list("abcd")) == ["ha", "hb", "hc", "hd"]
    assert loaded.batch_limit == 2
    # The next batches (and the next job's runner) start at the size that worked.
    sizes.clear()
    assert BatchRunner(loaded, TranscribeOptions(), events.append, run=run)(list("efgh")) == ["he", "hf", "hg", "hh"]
    assert sizes == [2, 2]
    assert sum("using 2 at once from now on" in m for m in warnings_of(events)) == 1
    assert "reinit" in loaded.model.graph_calls  # graphs re-captured for the new batch size


@pytest.mark.parametrize("text", ["CUBLAS_STATUS_ALLOC_FAILED", "CUFFT_ALLOC_FAILED", "CUDNN_STATUS_ALLOC_FAILED"])
def test_library_allocation_failures_back_off_too(text):
    loaded = loaded_on_gpu()

    def run(lm, arrays, options):
        if len(arrays) > 1:
            raise RuntimeError(f"CUDA error: {text} when calling something")
        return ["ok"]

    assert BatchRunner(loaded, TranscribeOptions(), lambda e: None, run=run)(["a", "b"]) == ["ok", "ok"]
    assert loaded.batch_limit == 1


def test_oom_at_one_chunk_finishes_on_the_cpu_and_the_next_job_returns_to_the_gpu(monkeypatch):
    model = FakeModel()
    loaded = loaded_on_gpu(model)

    def run(lm, arrays, options):
        if lm.device == "cuda":
            raise OOM("CUDA out of memory")
        return ["cpu"] * len(arrays)

    events = []
    assert BatchRunner(loaded, TranscribeOptions(), events.append, run=run)(["a"]) == ["cpu"]
    assert loaded.device == "cpu" and loaded.precision is Precision.FP32 and loaded.home_device == "cuda"
    # Cast back to fp32 when it moved: bf16 kernels on a CPU are slow.
    assert (("cpu",), (("dtype", "torch.float32"),)) in model.moves
    assert any("continues on the CPU" in m for m in warnings_of(events))

    manager = ModelManager(store=None)
    manager._loaded, manager._key = loaded, ModelRef(path=Path("m.nemo"), device="auto").key
    manager._report = DeviceReport("cuda", "auto", "RTX 4070", 12.0, 10.0, "8.9", "12.9", precision=Precision.BF16)
    assert manager.device_report.device == "cpu" and "next file starts on the GPU" in manager.device_report.summary()
    got = manager.get(ModelRef(path=Path("m.nemo"), device="auto"), events.append)
    assert got is loaded and loaded.device == "cuda" and loaded.precision is Precision.BF16
    assert manager.device_report.device == "cuda"
    assert model.graph_calls[-1] == "reinit"


def test_decode_failure_retries_once_without_cuda_graphs_and_says_so():
    loaded = loaded_on_gpu()
    calls = []

    def run(lm, arrays, options):
        calls.append(lm.cuda_graphs)
        if lm.cuda_graphs:
            raise RuntimeError("CUDA error: operation not supported when stream is capturing")
        return ["ok"]

    events = []
    assert BatchRunner(loaded, TranscribeOptions(), events.append, run=run)(["a"]) == ["ok"]
    assert calls == [True, False]
    assert loaded.cuda_graphs is False and loaded.model.decoding.decoding.decoding_computer.allow_cuda_graphs is False
    assert any("retrying without them" in m for m in warnings_of(events))


def test_a_failure_without_graphs_is_not_retried():
    loaded = loaded_on_gpu()
    set_cuda_graphs(loaded, False)

    def run(lm, arrays, options):
        raise ValueError("bad input")

    with pytest.raises(ValueError):
        BatchRunner(loaded, TranscribeOptions(), lambda e: None, run=run)(["a"])
    loaded.device = "cpu"  # on the CPU graphs never apply either
    set_cuda_graphs(loaded, True)
    with pytest.raises(ValueError):
        BatchRunner(loaded, TranscribeOptions(), lambda e: None, run=run)(["a"])


def test_fp16_that_loses_every_word_switches_to_fp32():
    loaded = loaded_on_gpu(precision=Precision.FP16)
    seen = []

    def run(lm, arrays, options):
        seen.append(lm.precision)
        return [SimpleNamespace(text="" if lm.precision is Precision.FP16 else "one two")] * len(arrays)

    events = []
    hyps = BatchRunner(loaded, TranscribeOptions(), events.append, run=run)(["a", "b"])
    assert [h.text for h in hyps] == ["one two", "one two"] and loaded.precision is Precision.FP32
    assert seen == [Precision.FP16, Precision.FP32]
    assert any("fp16" in m for m in warnings_of(events))


def test_fp16_that_hears_nothing_where_fp32_hears_nothing_stays_fp16():
    loaded = loaded_on_gpu(precision=Precision.FP16)
    out = BatchRunner(loaded, TranscribeOptions(), lambda e: None,
                      run=lambda lm, arrays, o: [SimpleNamespace(text="")] * len(arrays))(["a"])
    assert out[0].text == "" and loaded.precision is Precision.FP16


def test_placement_that_does_not_fit_leaves_the_model_on_the_cpu_in_fp32():
    model = FakeModel(oom_on_cuda=True)
    loaded = LoadedModel(SPEC, model, "cpu", Path("."))
    with pytest.raises(GpuMemoryError) as info:
        place(loaded, "cuda", Precision.BF16)
    assert info.value.loaded is loaded and loaded.device == "cpu" and loaded.precision is Precision.FP32
    assert model.moves[0] == ((), (("dtype", "torch.bfloat16"),))  # cast on the CPU first: half the bytes
    assert model.moves[-1] == (("cpu",), (("dtype", "torch.float32"),))


@pytest.mark.parametrize("requested", ["auto", "cuda"])
def test_a_model_that_does_not_fit_at_load(monkeypatch, tmp_path, requested):
    """auto: the CPU with the reason; cuda: one clear error."""
    report = DeviceReport("cuda", requested, "RTX 3050", 4.0, 3.5, "8.6", "12.9", precision=Precision.BF16)
    monkeypatch.setattr(models_mod, "preflight", lambda *a, **k: report)

    def load(folder, device, spec, source, precision, graphs):
        loaded = LoadedModel(SPEC, FakeModel(), "cpu", folder)
        raise GpuMemoryError(f"{SPEC.name} does not fit in the GPU's free memory", loaded)

    monkeypatch.setattr(models_mod, "load_from_folder", load)
    store = SimpleNamespace(ensure_catalog_model=lambda spec, obs, cancel: tmp_path,
                            fileops=SimpleNamespace(with_observer=lambda obs: SimpleNamespace(
                                call=lambda op, path, fn, *args: fn(*args))))
    manager = ModelManager(store)
    events = []
    if requested == "cuda":
        with pytest.raises(DeviceError, match="does not fit.*choose CPU or Auto"):
            manager.get(ModelRef(device="cuda"), events.append)
        return
    loaded = manager.get(ModelRef(device="auto"), events.append)
    assert loaded.device == "cpu" and loaded.home_device == "cpu"
    assert manager.device_report.device == "cpu" and "does not fit" in manager.device_report.summary()
    assert any("using the CPU" in m for m in warnings_of(events))


def test_no_cuda_graphs_flag_reaches_the_job_and_survives_the_journal(tmp_path):
    from nemo_desk.cli import _jobs_from_args, build_parser
    from nemo_desk.engine.jobs import job_from_json, job_to_json

    def job(*flags):
        args = build_parser().parse_args(["transcribe", "a.wav", *flags])
        return _jobs_from_args(args, [tmp_path / "a.wav"])[0]

    assert job().model.cuda_graphs is True
    off = job("--no-cuda-graphs")
    assert off.model.cuda_graphs is False and job_from_json(job_to_json(off)).model.cuda_graphs is False
    assert off.model.key == job().model.key  # switching graphs needs no reload


def test_a_gpu_load_sizes_the_batch_from_free_vram(monkeypatch, tmp_path):
    from nemo_desk.engine import vram

    def run(free_gb):
        report = DeviceReport("cuda", "auto", "RTX 4090", 24.0, free_gb, "8.9", "12.9", precision=Precision.BF16)
        monkeypatch.setattr(models_mod, "preflight", lambda *a, **k: report)
        monkeypatch.setattr(models_mod, "load_from_folder",
                            lambda folder, device, *a: LoadedModel(SPEC, FakeModel(), device, folder,
                                                                   precision=Precision.BF16))
        store = SimpleNamespace(ensure_catalog_model=lambda spec, obs, cancel: tmp_path,
                                fileops=SimpleNamespace(with_observer=lambda obs: SimpleNamespace(
                                    call=lambda op, path, fn, *args: fn(*args))))
        return ModelManager(store, platform="linux").get(ModelRef(device="auto")).default_batch

    assert run(22.0) == 16 and run(3.0) == vram.gpu_batch(3.0, SPEC.size_gb, Precision.BF16, SPEC.max_chunk_s) < 16

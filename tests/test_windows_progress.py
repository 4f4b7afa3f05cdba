"""The window loop without a model: progress over a long, mostly silent file, and resume
from exact raw readings (a stub runner stands in for NeMo, so only the loop and the merge are under test)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nemo_desk.core.events import LogEvent, Progress
from nemo_desk.engine.catalog import local_spec
from nemo_desk.engine.loader import LoadedModel
from nemo_desk.engine.transcriber import SAMPLE_RATE, TranscribeOptions, transcribe_array

SR = SAMPLE_RATE


def test_mostly_silent_file_progress_is_continuous_and_ends_at_100_percent():
    rng = np.random.default_rng(11)
    minutes = 20
    audio = (rng.standard_normal(SR * 60 * minutes) * 1e-5).astype(np.float32)
    for at in (300, 700, 1100):  # three short phrases in 20 minutes of silence
        audio[at * SR : (at + 2) * SR] += (rng.standard_normal(2 * SR) * 0.1).astype(np.float32)
    loaded = LoadedModel(local_spec("stub.nemo", "tdt"), None, "cpu", Path("."))
    calls: list[int] = []

    def runner(arrays):
        calls.append(len(arrays))
        return ["go"] * len(arrays)

    events = []
    tr = transcribe_array(loaded, audio, TranscribeOptions(batch_size=1), observer=events.append, runner=runner)
    done = [e.done for e in events if isinstance(e, Progress) and e.stage == "transcribing"]
    total = len(audio) / SR
    assert done[0] == 0 and done == sorted(done) and done[-1] == total
    # No jump over a tenth of the file: the silent windows count as the loop passes them.
    assert max(b - a for a, b in zip(done, done[1:])) <= total / 10
    assert len(calls) == tr.meta["chunks"] - tr.meta["silent_chunks"] <= 6
    warnings = [e.message for e in events if isinstance(e, LogEvent) and e.level == "warning"]
    assert warnings == []


class _Killed(Exception):
    pass


class _DictCache:
    """The journal's chunk-cache interface over a dict; `kill_after` saves, it raises."""

    def __init__(self, kill_after: int | None = None) -> None:
        self.saved: dict[str, dict] = {}
        self.kill_after = kill_after

    def load(self, plan_key):
        return dict(self.saved.get(plan_key, {}))

    def save(self, plan_key, index, segments):
        self.saved.setdefault(plan_key, {})[index] = segments
        if self.kill_after is not None and sum(map(len, self.saved.values())) >= self.kill_after:
            self.kill_after = None
            raise _Killed


def _reader(arrays):
    """A stand-in model: one word per loud 0.32 s block, named by its level, with times."""
    from types import SimpleNamespace

    out = []
    for a in arrays:
        hop = int(0.32 * SR)
        words = []
        for k in range(len(a) // hop):
            level = float(np.sqrt(np.mean(a[k * hop : (k + 1) * hop] ** 2)))
            if level > 0.01:
                words.append({"word": f"w{int(level * 1000) % 7}", "start": k * 0.32, "end": k * 0.32 + 0.24})
        out.append(SimpleNamespace(text=" ".join(w["word"] for w in words),
                                   timestamp={"word": words, "segment": []}))
    return out


def test_a_killed_run_resumes_to_the_same_merged_output():
    """Each window's raw reading is saved; the merge runs after the last window, so a
    run interrupted after three windows and resumed gives the uninterrupted transcript."""
    rng = np.random.default_rng(12)
    audio = (rng.standard_normal(SR * 100) * 0.1 * (np.sin(np.arange(SR * 100) / SR * 2.1) > -0.7)).astype(np.float32)
    loaded = LoadedModel(local_spec("stub.nemo", "tdt"), None, "cpu", Path("."))
    options = TranscribeOptions(chunk_seconds=12, overlap_seconds=3, batch_size=1)
    whole = transcribe_array(loaded, audio, options, runner=_reader)
    cache = _DictCache(kill_after=3)
    try:
        transcribe_array(loaded, audio, options, runner=_reader, cache=cache)
        raise AssertionError("the stand-in kill did not happen")
    except _Killed:
        pass
    events = []
    resumed = transcribe_array(loaded, audio, options, runner=_reader, cache=cache, observer=events.append)
    assert resumed.meta["reused_chunks"] == 3 and resumed.meta["chunks"] > 6
    assert resumed.segments == whole.segments and whole.words
    # A changed overlap is another plan: nothing of the old one is reused.
    other = transcribe_array(loaded, audio, TranscribeOptions(chunk_seconds=12, overlap_seconds=2, batch_size=1),
                             runner=_reader, cache=cache)
    assert other.meta["reused_chunks"] == 0

"""Progress, ETA input and warnings over a long, mostly silent file (no model: a stub
runner stands in for NeMo, so only the window loop is under test)."""
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

"""The worker's own rules: throttled progress with a guaranteed 100 %, bugs become failed rows."""
from __future__ import annotations

import shutil

import pytest

from nemo_desk.core.events import LogEvent, Progress, RetryEvent
from nemo_desk.gui.log_pane import MAX_LINES
from nemo_desk.gui.worker import Worker, _JobObserver
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    GUI_MARKS, dialogs_rec, make_window, no_leaks, use_local_model, wait_finished,
)

pytestmark = GUI_MARKS


@pytest.fixture(autouse=True)
def _guards(no_leaks):
    yield


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_throttled_but_stage_changes_and_100_percent_always_arrive(services):
    worker = Worker(services)  # not started: emits directly on this thread
    seen: list[tuple[str, float, float]] = []
    lines: list[tuple[str, str]] = []
    retries: list[str] = []
    worker.job_state.connect(lambda jid, state, frac, eta: seen.append((state, round(frac, 3), eta)))
    worker.log_line.connect(lambda level, text: lines.append((level, text)))
    worker.retry.connect(retries.append)
    clock = FakeClock()
    observer = _JobObserver(worker, "job1", clock=clock)

    observer(Progress("loading", 0, 0, "loading model"))
    observer(Progress("decoding", 0, 60))
    observer(Progress("transcribing", 0, 60))
    for done in range(1, 61):  # 60 updates within 59 ms: one stage start + the final 100 %
        clock.now += 0.001
        observer(Progress("transcribing", done, 60))
    clock.now += 0.5
    observer(Progress("writing", 0, 2))
    observer(Progress("writing", 2, 2))
    observer(RetryEvent("replace", "C:/out.srt", 1, 8, 0.1, "[WinError 32]"))
    observer(LogEvent("warning", "No pause found"))

    states = [s for s, _, _ in seen]
    assert states == ["loading model", "decoding", "transcribing", "transcribing", "writing", "writing"]
    transcribing = [(f, eta) for s, f, eta in seen if s == "transcribing"]
    assert transcribing == [(0.0, -1.0), (1.0, 0.0)]
    assert retries == ["file busy: C:/out.srt (replace, attempt 1/8), retrying in 0.1 s"]
    assert lines == [("warning", "No pause found")]

    # With time passing, about ten updates a second, never backwards, with an ETA.
    seen.clear()
    observer2 = _JobObserver(worker, "job2", clock=clock)
    observer2(Progress("transcribing", 0, 100))
    for done in range(1, 101):
        clock.now += 0.02  # 50 events a second
        observer2(Progress("transcribing", done, 100))
    fractions = [f for s, f, _ in seen]
    assert 18 <= len(fractions) <= 24 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(eta > 0 for s, f, eta in seen if 0 < f < 1)


def test_a_bug_in_a_job_fails_that_row_and_the_queue_goes_on(make_window, qtbot, tiny_steered, speech_dir,
                                                             tmp_path, services, monkeypatch):
    first = shutil.copy(speech_dir / "hello.wav", tmp_path / "first.wav")
    second = shutil.copy(speech_dir / "hello.wav", tmp_path / "second.wav")
    real_run = services.queue.run
    calls = []

    def buggy_once(job, cancel, observer):
        calls.append(job.source.name)
        if len(calls) == 1:
            raise RuntimeError("a bug outside the pipeline's own error handling")
        return real_run(job, cancel, observer)

    monkeypatch.setattr(services.queue, "run", buggy_once)
    window = make_window()
    use_local_model(window, tiny_steered)
    window.add_paths([first, second])
    window.start()
    wait_finished(qtbot, window, timeout=60)
    rows = window.queue.rows
    assert [r.state for r in rows] == ["failed", "done"]
    assert rows[0].message == "Unexpected error in the worker: RuntimeError: a bug outside the pipeline's own error handling"
    assert window.log_pane.count("error", "first.wav") == 1
    log = (services.paths.logs / "nemo_desk.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "buggy_once" in log
    assert window.worker.isRunning()  # the thread lived on


def test_log_pane_is_bounded_styled_and_its_buttons_use_the_seam(make_window, dialogs_rec):
    window = make_window()
    pane = window.log_pane
    for i in range(MAX_LINES + 50):
        pane.add("info", f"line {i}")
    pane.add("retry", "file busy: x.srt")
    pane.add("error", "Failed: y.wav: broken\nsecond line")
    assert pane.view.blockCount() == MAX_LINES
    assert pane.view.isReadOnly()
    text = pane.text()
    assert "line 0\n" not in text and "RETRY file busy: x.srt" in text and "ERROR Failed: y.wav: broken | second line" in text
    pane.copy_button.click()
    assert dialogs_rec.called("copy_text")[-1] == (text,)
    pane.open_button.click()
    opened = dialogs_rec.called("open_path")[-1][0]
    assert opened in (window.services.paths.logs / "nemo_desk.log", window.services.paths.logs)

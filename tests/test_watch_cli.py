"""`nemo-desk watch` end to end: a real process, a tiny real NeMo model, a file copied in slowly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.support import audio

REPO = Path(__file__).resolve().parents[1]
SETTLE_S = 3.0


class Watch:
    """A `nemo-desk watch` process whose output lines are kept with the time they came."""

    def __init__(self, home: Path, *args: str, command: str = "watch") -> None:
        env = {
            **os.environ,
            "NEMO_DESK_HOME": str(home),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nemo_desk", command, *args],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, name="watch-reader")
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, text: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for when, line in list(self.lines):
                if text in line:
                    return when
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        pytest.fail(f"{text!r} never came; output:\n" + "\n".join(line for _, line in self.lines))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)  # Ctrl+C: how a user ends watching
        code = self.proc.wait(timeout=120)
        self._reader.join(timeout=10)
        return code

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl+C is simulated with SIGINT")
def test_a_slowly_copied_file_is_transcribed_once_the_rest_ignored_and_the_batch_summed_up(
    tmp_path, tiny_steered, speech_dir
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    home = tmp_path / "home"
    (inbox / "notes.txt").write_text("minutes of the meeting, not media")
    args = (
        str(inbox),
        "--model-path",
        str(tiny_steered),
        "--device",
        "cpu",
        "--format",
        "srt",
        "--settle-seconds",
        str(SETTLE_S),
        "--poll-seconds",
        "0.2",
    )
    watch = Watch(home, *args)
    watch.wait_for("Watching", timeout=120)

    copied = audio.copy_slowly(speech_dir / "hello.wav", inbox / "meeting.wav")
    queued = watch.wait_for("queued:", timeout=60)
    finished = watch.wait_for("Batch finished:", timeout=300)
    time.sleep(SETTLE_S + 1)  # the transcript now lies in the inbox too: it must not be taken
    assert watch.stop() == 130
    text = watch.text()

    # Once, and only after it stopped growing for the settle time.
    assert [ln for ln in text.splitlines() if ln.startswith("queued:")] == [f"queued: {inbox / 'meeting.wav'}"]
    assert queued >= copied + SETTLE_S - 0.5, (queued - copied, text)
    assert "notes.txt" not in text  # not media: never mentioned, never queued
    assert (inbox / "meeting.srt").read_text(encoding="utf-8").strip()
    # The batch: kept awake (or said why not), then one summary line.
    awake = [ln for ln in text.splitlines() if "awake" in ln or "go to sleep" in ln]
    assert len(awake) == 1, text
    assert re.search(r"^Batch finished: 1 done in \d+:\d\d$", text, re.M), text
    assert finished > queued

    # A restart remembers what was queued: nothing is transcribed again.
    again = Watch(home, *args)
    again.wait_for("Watching", timeout=120)
    time.sleep(SETTLE_S + 2)
    assert again.stop() == 130
    assert "queued:" not in again.text() and "Batch finished" not in again.text(), again.text()


def test_watch_refuses_a_file_or_a_missing_folder_in_one_line(tmp_path):
    import io

    from nemo_desk import cli
    from nemo_desk.cli_checks import UsageError

    clip = tmp_path / "a.wav"
    clip.write_bytes(b"RIFF")
    for argv, said in (
        (["watch", str(clip)], "is a file; watch takes folders"),
        (["watch", str(tmp_path / "nowhere")], "no such folder"),
        (["watch", str(tmp_path), "--settle-seconds", "-1"], "--settle-seconds must be"),
    ):
        err = io.StringIO()
        with pytest.raises(UsageError):
            cli.run(argv, lambda **kw: pytest.fail("nothing may start"), err=err)
        assert said in err.getvalue() and len(err.getvalue().splitlines()) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl+C is simulated with SIGINT")
@pytest.mark.parametrize("first_run", ["watch", "transcribe"])
def test_a_file_interrupted_by_ctrl_c_is_continued_by_the_next_watch_once(tmp_path, tiny_steered, first_run):
    """The watcher never queues a file twice, so without this an unattended inbox would skip
    the interrupted file for good: the next watch of the folder continues it from its chunks,
    and only once (a file `transcribe` left was never seen by a watch: it is claimed)."""
    from tests.test_resume import long_audio, saved_chunks

    inbox, home, out = tmp_path / "inbox", tmp_path / "home", tmp_path / "out"
    inbox.mkdir()
    long_audio(inbox / "talk.wav", 60, seed=7)
    job = ("--model-path", str(tiny_steered), "--device", "cpu", "--format", "srt",
           "--output-dir", str(out), "--chunk-seconds", "12", "--batch-size", "1")
    args = (str(inbox), *job, "--settle-seconds", "0.5", "--poll-seconds", "0.2")
    if first_run == "watch":
        first = Watch(home, *args)
        first.wait_for("queued:", timeout=120)
    else:
        first = Watch(home, str(inbox / "talk.wav"), *job, command="transcribe")
    deadline = time.monotonic() + 240
    while saved_chunks(home) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.stop() == 130
    if first_run == "watch":
        assert "continues when these folders are watched again" in first.text(), first.text()
    assert not (out / "talk.srt").exists(), first.text()  # stopped mid-file

    again = Watch(home, *args)
    again.wait_for("Batch finished: 1 done", timeout=300)
    time.sleep(2.5)  # several polls after the batch: the continued file must not be queued again
    assert again.stop() == 130
    text = again.text()
    assert f"continuing: {inbox / 'talk.wav'}" in text and "queued:" not in text, text
    assert re.search(r"^Resuming: \d+ of \d+", text, re.M), text  # from its chunks, not from the start
    assert (out / "talk.srt").read_text(encoding="utf-8").strip()

"""Usage mistakes: found before anything loads, one line, exit status 2 in every front end."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nemo_desk import cli
from nemo_desk.core import limits
from nemo_desk.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def usage_error(*args: str) -> str:
    """Run `transcribe` with a factory that fails the test if anything is built."""

    def factory(**kw):
        raise AssertionError("services were built for a command line that is wrong")

    err = io.StringIO()
    with pytest.raises(SystemExit) as stop:
        cli.run(["transcribe", *args], factory, out=io.StringIO(), err=err)
    assert stop.value.code == 2, err.getvalue()
    text = err.getvalue()
    assert len(text.strip().splitlines()) == 1, text
    return text


@pytest.mark.parametrize("option, value, expected", [
    ("--chunk-seconds", "-5", "--chunk-seconds must be a number from 1 to 600 seconds"),
    ("--chunk-seconds", "1e9", "--chunk-seconds must be"),
    ("--chunk-seconds", "0", "--chunk-seconds must be"),
    ("--chunk-seconds", "nan", "not nan"),
    ("--chunk-seconds", "inf", "not inf"),
    ("--retry-seconds", "-1", "--retry-seconds must be a number from 0.5 to 600 seconds"),
    ("--batch-size", "0", "--batch-size must be a whole number from 1 to 256"),
    ("--batch-size", "100000", "--batch-size must be"),
    ("--audio-track", "0", "--audio-track must be a whole number from 1"),
    ("--chunk-seconds", "abc", "invalid float value: 'abc'"),
    ("--device", "tpu", "invalid choice: 'tpu'"),
    ("--language", "xx", "does not support language 'xx'"),
    ("--model", "nope", "unknown model 'nope'"),
    ("--format", "srt,zz", "unknown format zz"),
])
def test_bad_option_is_one_line_and_exit_2(tmp_path, option, value, expected):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    assert expected in usage_error(str(tmp_path / "a.wav"), option, value)


def test_output_dir_that_is_a_file_is_refused_before_transcribing(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "notes.txt").write_text("mine")
    assert "notes.txt is a file, not a folder" in usage_error(str(tmp_path / "a.wav"), "--output-dir",
                                                               str(tmp_path / "notes.txt"))
    below = usage_error(str(tmp_path / "a.wav"), "--output-dir", str(tmp_path / "notes.txt" / "subs"))
    assert "notes.txt is a file, so" in below
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_missing_model_file_and_wrong_combinations_are_usage_errors(tmp_path):
    assert "is not a file" in usage_error(str(tmp_path / "a.wav"), "--model-path", str(tmp_path / "none.nemo"))
    assert "not both" in usage_error(str(tmp_path / "a.wav"), "--resume")
    assert "say which files" in usage_error()


def test_language_for_a_model_that_detects_it_is_not_ignored_silently(tmp_path):
    """Parakeet v3 takes no language prompt: the user is told, and the run goes on."""
    notes = cli.check_transcribe(cli.build_parser().parse_args(["transcribe", "x.wav", "--language", "de"]))
    assert notes == ["note: Parakeet TDT 0.6B v3 detects the spoken language itself; "
                     "--language de only labels the transcript"]
    args = cli.build_parser().parse_args(["transcribe", "x.wav", "--model", "nvidia/canary-1b", "--language", "de"])
    assert cli.check_transcribe(args) == []


def test_a_real_process_exits_2_without_loading_anything(tmp_path):
    env = {**os.environ, "NEMO_DESK_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "nemo_desk", "transcribe", "x.wav",
                           "--chunk-seconds", "-5"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = [ln for ln in done.stderr.splitlines() if not ln.startswith("import time:")]
    assert lines == ["nemo-desk: --chunk-seconds must be a number from 1 to 600 seconds, not -5.0"]
    imported = {ln.split("|")[-1].strip() for ln in done.stderr.splitlines() if ln.startswith("import time:")}
    assert "torch" not in imported and "nemo" not in imported and "numpy" not in imported
    assert not (tmp_path / "home").exists()  # not even the app's folders were made


def test_settings_loader_uses_the_same_ranges(caplog):
    warnings: list[str] = []
    loaded = Settings.from_dict({"chunk_seconds": -5.0, "batch_size": 300, "retry_seconds": 0.1,
                                 "max_chars_per_line": 3}, warnings.append)
    d = Settings()
    assert (loaded.chunk_seconds, loaded.batch_size, loaded.retry_seconds, loaded.max_chars_per_line) == (
        d.chunk_seconds, d.batch_size, d.retry_seconds, d.max_chars_per_line)
    assert len(warnings) == 4
    # 0 is "the model's default" in a settings file, and every range's ends are allowed.
    edge = Settings.from_dict({"chunk_seconds": 0.0, "batch_size": 256, "retry_seconds": 600.0}, warnings.append)
    assert (edge.chunk_seconds, edge.batch_size, edge.retry_seconds) == (0.0, 256, 600.0)
    assert len(warnings) == 4


def test_every_limit_refuses_nan_bools_and_fractions():
    for limit in limits.LIMITS.values():
        assert not limit.allows(float("nan")) and not limit.allows(True) and not limit.allows("3")
        assert limit.allows(limit.low) and limit.allows(limit.high)
        assert not limit.allows(limit.high + 1) and not limit.allows(limit.low - 1)
    assert not limits.BATCH_SIZE.allows(2.5)


def test_settings_dialog_offers_exactly_the_shared_ranges(qtbot):
    from nemo_desk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    boxes = {"retry_seconds": dialog.retry_seconds, "batch_size": dialog.batch_size,
             "chunk_seconds": dialog.chunk_seconds, "max_chars_per_line": dialog.max_chars,
             "max_lines": dialog.max_lines, "max_cue_duration": dialog.max_duration,
             "custom_max_cps": dialog.max_cps, "custom_min_duration": dialog.min_duration,
             "custom_min_gap_frames": dialog.min_gap_frames}
    for name, box in boxes.items():
        limit = limits.LIMITS[name]
        assert box.maximum() == limit.high, name
        assert box.minimum() == (0 if limit.zero_is_default else limit.low), name
    dialog.chunk_seconds.setValue(0.5)  # below the range but above "model default"
    assert dialog.result_settings().chunk_seconds == limits.CHUNK_SECONDS.low


_SLOW_BATCH = r"""
import sys, time
from pathlib import Path
from nemo_desk import cli
from nemo_desk.engine.jobs import Job

class Queue:  # one file whose model call takes long and cannot see the first Ctrl+C
    def run(self, job, cancel, observer):
        print("started", flush=True)
        time.sleep(60)

class Services:
    queue = Queue()
    def observer(self, front):
        return front

reporter = cli.TerminalReporter(sys.stderr, interactive=False)
sys.exit(cli._run_jobs(Services(), [Job(source=Path("long.wav"))], reporter))
"""


def test_second_ctrl_c_exits_at_once_with_130_and_no_traceback():
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_BATCH], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None  # the first one only asks to stop after the current chunk
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert time.monotonic() - sent < 5
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "Stopping after the current chunk" in err and "Aborted." in err

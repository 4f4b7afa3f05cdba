"""The terminal reporter: a bar with ETA on a terminal, plain lines in logs and pipes."""
import io

from nemo_desk.cli import TerminalReporter, _eta
from nemo_desk.core.events import LogEvent, Progress, RetryEvent


def feed(interactive: bool) -> str:
    out = io.StringIO()
    r = TerminalReporter(out, interactive=interactive, interval=0.0)  # every event: the reporter's own rules
    r.start("[1/1] a.wav")
    r(Progress("loading", 0, 0))
    r(Progress("decoding", 0, 10))
    for done in (0, 2.5, 5, 7.5, 10):
        r(Progress("transcribing", done, 10))
    r(RetryEvent("replace", "C:\\x\\a.srt", 1, 8, 0.1, "busy"))
    r(LogEvent("info", "Model ready"))
    r.line("done: a.wav")
    return out.getvalue()


def test_plain_lines_have_no_control_codes():
    text = feed(False)
    assert "\r" not in text and "\x1b" not in text
    assert "[1/1] a.wav loading model..." in text and "[1/1] a.wav decoding..." in text  # the window's words (core/states.py)
    assert "transcribing 0%" in text and "transcribing 100%" in text
    assert "retry: file busy: C:\\x\\a.srt (replace, attempt 1/8), retrying in 0.1 s" in text
    assert "\nModel ready\n" in text


def test_terminal_gets_one_updating_bar_then_a_new_line():
    text = feed(True)
    assert text.count("\r") >= 5 and "100%" in text
    assert "\nretry: file busy" in text and text.endswith("done: a.wav\n")


def test_eta():
    assert _eta(30, 0.5) == "  ETA 0:30"
    assert _eta(0.5, 0.5) == "" and _eta(10, 0.01) == "" and _eta(10, 1.0) == ""

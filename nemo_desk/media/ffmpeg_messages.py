"""Reading ffmpeg's stderr safely and turning it into one line a user can act on.

ffmpeg writes its diagnostics to stderr. If nobody reads that pipe while we read the
audio from stdout, ffmpeg blocks once the pipe buffer is full and both sides wait
forever, so a thread drains it and keeps only the last lines for error messages.
"""
from __future__ import annotations

import re
import threading
from collections import deque
from typing import IO, Iterable

_KEEP_LINES = 40
_MAX_REASON_CHARS = 200

# "[mp3 @ 0x55d0c1e2a080] message" / "[in#0 @ 0x...] message" / "[aist#0:0/aac @ 0x..]"
_CONTEXT_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")
# ffmpeg 6+: "Error opening input files: Invalid data found when processing input"
_ERROR_OPENING = re.compile(r"^Error opening (?:input|output) files?:\s*(.+)$")
# ffmpeg 6+ threads: "Task finished with error code: -22 (Invalid argument)"; the
# reason in brackets is what matters.
_TASK_RESULT = re.compile(r"^(?:Task finished with error code|Terminating thread with return code)"
                          r":?\s*-?\d+\s*\((.+)\)$")
# Lines that say "it failed" without saying why; a more specific line is always nearby.
_GENERIC = re.compile(
    r"^(Error opening (input|output) file |Conversion failed|Exiting normally|"
    r"At least one output file must be specified|Press \[q\]|Consider increasing|"
    r"Nothing was written into output file|Could not open encoder before EOF|"
    r"Error initializing filters|Error number -?\d+ occurred|Invalid argument$)"
)
# Phrases that carry the actual reason, best first; the last line of the best rank wins.
# "Invalid data found" is ffmpeg's catch-all, so a more specific cause beats it.
_RANKS = (
    re.compile(r"No such file|Permission denied|moov atom not found", re.I),
    re.compile(r"Invalid data found", re.I),
    re.compile(r"not supported|unsupported|unknown|could not find|corrupt|truncat|"
               r"unspecified sample|decode error rate|failed to", re.I),
)
# What a user can make of ffmpeg's jargon.
_HINTS = {
    "moov atom not found": "the file is incomplete (a recording cut off?) or not really MP4/MOV/M4A",
}


class StderrTail:
    """Drains a binary stderr pipe on a daemon thread, keeping the last lines."""

    def __init__(self, stream: IO[bytes], keep: int = _KEEP_LINES) -> None:
        self._stream = stream
        self._lines: deque[str] = deque(maxlen=keep)
        self._thread = threading.Thread(target=self._drain, name="ffmpeg-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            for raw in iter(self._stream.readline, b""):
                # ffmpeg prints file names as UTF-8 on every platform.
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self._lines.append(line)
        except (OSError, ValueError):  # pipe closed under us after a kill: nothing to keep
            pass
        finally:
            try:
                self._stream.close()
            except OSError:
                pass

    def join(self, timeout: float = 5.0) -> list[str]:
        """Wait for EOF (the process has exited) and return the kept lines."""
        self._thread.join(timeout)
        return list(self._lines)


def useful_error_line(lines: Iterable[str], input_name: str = "") -> str:
    """The most informative single line of ffmpeg's stderr, or "" if there is none.

    `input_name` is the `-i` argument; ffmpeg 5 prefixes reasons with it
    ("file:/x/a.mp3: Invalid data ...") and the caller's message already names the file.
    """
    cleaned: list[str] = []
    for line in lines:
        text = _CONTEXT_PREFIX.sub("", line.strip())
        for pattern in (_ERROR_OPENING, _TASK_RESULT):
            found = pattern.match(text)
            if found:
                text = found.group(1).strip()
        if input_name and text.startswith(input_name + ":"):
            text = text[len(input_name) + 1 :].strip()
        if text and not _GENERIC.match(text):
            cleaned.append(text)
    if not cleaned:
        return ""
    best = cleaned[-1]
    for rank in _RANKS:
        matching = [t for t in cleaned if rank.search(t)]
        if matching:
            best = matching[-1]
            break
    best = " ".join(best.split())  # one line, whatever ffmpeg printed
    for phrase, hint in _HINTS.items():
        if phrase in best.lower():
            best = f"{best}: {hint}"
    if len(best) > _MAX_REASON_CHARS:
        best = best[: _MAX_REASON_CHARS - 1] + "…"
    return best

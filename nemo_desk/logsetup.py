"""The app's log file: a rotating file in the logs folder, plus what the user should see.

Events from the engine (retries, warnings, progress notes) go through `log_event` so the
same lines reach the log file whichever front end (CLI or window) shows them.

One handler owns the file, on the root logger: nemo_desk's own lines from INFO, other
libraries' (NeMo, lightning, telemetry) from WARNING. Two handlers on one file cannot
rotate it on Windows: the second one's open handle makes the rename fail (WinError 32),
and every later log call would try again and print an error to stderr.
"""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from nemo_desk.core.events import Event, LogEvent, RetryEvent

LOG_NAME = "nemo_desk"
LOG_FILE = "nemo_desk.log"
MAX_BYTES = 2_000_000
BACKUPS = 5


class _OursOrWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name == LOG_NAME or record.name.startswith(LOG_NAME + ".")
        return ours or record.levelno >= logging.WARNING


class _Formatter(logging.Formatter):
    """Our lines as they always were; other libraries' lines say whose they are."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s")
        self._foreign = logging.Formatter("%(asctime)s %(levelname)-7s [%(name)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.name == LOG_NAME or record.name.startswith(LOG_NAME + "."):
            return super().format(record)
        return self._foreign.format(record)


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file that survives a rollover it cannot do: when another process holds
    the file (a second nemo_desk, an editor, a scanner), it keeps writing to the current
    file, says so once in it, and tries again only after another `maxBytes`."""

    def __init__(self, path: str, max_bytes: int = MAX_BYTES) -> None:
        # delay=True: the file is opened on first write, so a locked or unwritable log
        # folder never stops start-up. backslashreplace: a file name that is not valid
        # UTF-8 is logged readably instead of raising inside the handler.
        super().__init__(path, maxBytes=max_bytes, backupCount=BACKUPS, encoding="utf-8", delay=True,
                         errors="backslashreplace")
        self._not_before = 0  # the file size from which a rollover may be tried again

    def shouldRollover(self, record: logging.LogRecord) -> int:
        if self.stream is not None and self.stream.tell() < self._not_before:
            return 0
        return super().shouldRollover(record)

    def doRollover(self) -> None:
        try:
            super().doRollover()
        except OSError as exc:
            if self.stream is None:
                self.stream = self._open()
            self.stream.seek(0, 2)
            self._not_before = self.stream.tell() + self.maxBytes
            self.stream.write(f"(could not start a new log file: {exc}; continuing in this one)\n")


def setup_file_logging(logs_dir: Path, level: int = logging.INFO, max_bytes: int = MAX_BYTES) -> logging.Logger:
    logger = logging.getLogger(LOG_NAME)
    logger.setLevel(level)
    logger.propagate = True  # to the one file handler on the root logger
    target = str(Path(logs_dir) / LOG_FILE)
    root = logging.getLogger()
    if not any(isinstance(h, LogFileHandler) and h.baseFilename == target for h in root.handlers):
        handler = LogFileHandler(target, max_bytes)
        handler.setLevel(level)
        handler.addFilter(_OursOrWarnings())
        handler.setFormatter(_Formatter())
        # With a handler on the root logger, Python's last-resort stderr printer stays
        # silent: third-party warnings go to the file, not to the user's terminal.
        root.addHandler(handler)
    return logger


def log_event(logger: logging.Logger, event: Event) -> None:
    if isinstance(event, RetryEvent):
        logger.warning("retry: %s", event.describe())
    elif isinstance(event, LogEvent):
        level = {"error": logging.ERROR, "warning": logging.WARNING, "retry": logging.WARNING}.get(
            event.level, logging.INFO)
        logger.log(level, "%s", event.message)

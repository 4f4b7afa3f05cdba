"""The app's log file: a rotating file in the logs folder, plus what the user should see.

Events from the engine (retries, warnings, progress notes) go through `EventLogger` so the
same lines reach the log file whichever front end (CLI or window) shows them.
"""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from nemo_desk.core.events import Event, LogEvent, RetryEvent

LOG_NAME = "nemo_desk"
LOG_FILE = "nemo_desk.log"


def setup_file_logging(logs_dir: Path, level: int = logging.INFO) -> logging.Logger:
    logger = logging.getLogger(LOG_NAME)
    logger.setLevel(level)
    target = str(Path(logs_dir) / LOG_FILE)
    if not any(getattr(h, "baseFilename", None) == target for h in logger.handlers):
        # delay=True: the file is opened on first write, so a locked or unwritable log
        # folder never stops start-up; rotation keeps it bounded (5 x 2 MB).
        handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=2_000_000, backupCount=5, encoding="utf-8", delay=True
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
        logger.addHandler(handler)
        # Third-party warnings (NeMo, lightning, telemetry) go to the file too, not to the
        # user's terminal: with a handler on the root logger Python's last-resort stderr
        # printer stays silent.
        root_handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=2_000_000, backupCount=5, encoding="utf-8", delay=True
        )
        root_handler.setLevel(logging.WARNING)
        root_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s [%(name)s] %(message)s"))
        logging.getLogger().addHandler(root_handler)
    logger.propagate = False
    return logger


def log_event(logger: logging.Logger, event: Event) -> None:
    if isinstance(event, RetryEvent):
        logger.warning("retry: %s", event.describe())
    elif isinstance(event, LogEvent):
        level = {"error": logging.ERROR, "warning": logging.WARNING, "retry": logging.WARNING}.get(
            event.level, logging.INFO)
        logger.log(level, "%s", event.message)

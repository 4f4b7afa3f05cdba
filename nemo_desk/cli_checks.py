"""Checking a command line before anything loads: one line and exit status 2 for every mistake.

Why before: a mistake found after the model loaded costs the user a minute and, for a
negative chunk length, used to cost the machine all its memory. Why one exit status:
scripts tell "you called me wrong" (2) from "a file failed" (1), whichever check found it.
"""
from __future__ import annotations

import argparse
import os
from typing import NoReturn

from nemo_desk.core import limits
from nemo_desk.core.errors import ModelError
from nemo_desk.core.longpaths import long_path

EXIT_USAGE = 2


class UsageError(SystemExit):
    """A mistake in how the command was called. Exits with 2, like argparse's own errors;
    str() is the one-line message (the CLI prints it before exiting)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = EXIT_USAGE
        self.message = message


class OneLineParser(argparse.ArgumentParser):
    """argparse prints the whole usage block before its error; one line says it better,
    and the same `UsageError` as every later check keeps one exit status and one format."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def check_transcribe(args: argparse.Namespace) -> list[str]:
    """Raise UsageError for the first mistake in `transcribe`'s options; return notes to show."""
    for limit in (limits.BATCH_SIZE, limits.CHUNK_SECONDS, limits.RETRY_SECONDS, limits.AUDIO_TRACK,
                  limits.OVERLAP_SECONDS):
        value = getattr(args, limit.name, None)
        if value is not None and (problem := limit.problem(value)):
            raise UsageError(problem)
    from nemo_desk.export import FORMATS

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageError(f"unknown format {', '.join(bad) or '(none)'}; choose from {','.join(FORMATS)}")
    from nemo_desk.export.writer import output_folder_problem

    if args.output_dir is not None and (problem := output_folder_problem(args.output_dir)):
        raise UsageError(f"--output-dir: {problem}")
    if args.model_path is not None:
        if not os.path.isfile(long_path(args.model_path)):
            raise UsageError(f"--model-path: {args.model_path} is not a file")
        return []  # a user's own model: its languages are known only once it loads
    return _check_languages(args)


def _check_languages(args: argparse.Namespace) -> list[str]:
    from nemo_desk.engine.catalog import get_spec

    try:
        spec = get_spec(args.model)
        spec.validate_languages(args.language, args.target_language)
    except ModelError as exc:
        raise UsageError(exc.user_message) from None
    if args.language and spec.family == "tdt":
        # Parakeet takes no language prompt: say so rather than ignore the option silently.
        how = "detects the spoken language itself" if spec.auto_language else "takes no language setting"
        return [f"note: {spec.name} {how}; --language {args.language} only labels the transcript"]
    return []

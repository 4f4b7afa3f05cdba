"""The options a job runs with, as the command line takes them (`transcribe` and `watch`),
and how the subtitle flags change the profile chosen in the settings."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from nemo_desk.core import limits
from nemo_desk.engine.catalog import CATALOG, DEFAULT_MODEL_ID, DIARIZERS
from nemo_desk.engine.options import DEFAULT_OVERLAP_S
from nemo_desk.engine.vocabulary import DEFAULT_STRENGTH, STRENGTHS
from nemo_desk.export import FORMATS
from nemo_desk.export.profiles import PROFILE_NAMES, RULE_LIMITS
from nemo_desk.export_cli import add_speaker_label_argument, with_speaker_label

if TYPE_CHECKING:
    from nemo_desk.cli import TerminalReporter


def add_transcribe_options(t: argparse.ArgumentParser) -> None:
    """What a job runs with: `transcribe` and `watch` take the same options."""
    which = t.add_mutually_exclusive_group()
    which.add_argument("--model", default=DEFAULT_MODEL_ID,
                       help="catalog model: " + ", ".join(s.id for s in CATALOG) + f" (default {DEFAULT_MODEL_ID})")
    which.add_argument("--model-path", type=Path, help="a local .nemo file (it can run code: trusted files only)")
    t.add_argument("--format", default="srt,txt", help=f"comma-separated: {','.join(FORMATS)} (default srt,txt)")
    t.add_argument("--output-dir", type=Path, help="write outputs here (default: next to each source)")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    t.add_argument("--no-cuda-graphs", action="store_true",
                   help="decode without CUDA graphs on the GPU (if decoding fails or stalls with them)")
    t.add_argument("--language", help="spoken language code, e.g. en, de (Canary; Parakeet v3 detects it)")
    t.add_argument("--target-language", help="translate into this language (Canary)")
    t.add_argument("--no-punctuation", action="store_true", help="ask Canary for text without punctuation")
    t.add_argument("--batch-size", type=int,
                   help=f"chunks per batch, {limits.BATCH_SIZE.describe()} (default: the settings', else the model's)")
    t.add_argument("--chunk-seconds", type=float,
                   help=f"longest piece of audio per model call, {limits.CHUNK_SECONDS.describe()} "
                        f"(default: the settings', else the model's)")
    t.add_argument("--overlap-seconds", type=float,
                   help=f"audio shared by neighbouring pieces, merged word by word so no word is lost or doubled "
                        f"at a cut, {limits.OVERLAP_SECONDS.describe()} (default: the settings', else "
                        f"{DEFAULT_OVERLAP_S:g}; 0: plain cuts)")
    t.add_argument("--no-speech-detection", dest="speech_detection", action="store_false", default=None,
                   help="send all audio to the model, cuts placed by level only (default: the settings', else "
                        "Silero VAD finds speech: cuts in its pauses, long stretches without speech skipped)")
    t.add_argument("--audio-track", type=int,
                   help="which audio track of a file with several to use, counting from 1 (default 1)")
    t.add_argument("--speakers", default="off", type=_speakers_arg, metavar="auto|off|N",
                   help="label who speaks (N: the expected number of speakers; default off)")
    t.add_argument("--diarizer", default="", metavar="ID",
                   help="diarizer: " + ", ".join(s.id for s in DIARIZERS) + " (default: Sortformer, TitaNet above 4)")
    t.add_argument("--diarizer-path", default="", metavar="PATH.nemo",
                   help="a local Sortformer or TitaNet .nemo (trusted files only)")
    t.add_argument("--boost", action="append", default=[], metavar="PHRASES",
                   help='vocabulary to prefer: names and terms, comma-separated ("Ada Lovelace, ACME"); repeatable')
    t.add_argument("--boost-file", action="append", default=[], type=Path, metavar="FILE",
                   help="vocabulary from a text file: one phrase a line, # starts a comment; repeatable")
    t.add_argument("--boost-strength", choices=tuple(STRENGTHS), default=DEFAULT_STRENGTH,
                   help=f"how strongly the vocabulary is preferred (default {DEFAULT_STRENGTH})")
    t.add_argument("--overwrite", action="store_true", help="replace existing outputs even if nemo_desk did not write them")
    t.add_argument("--retry-seconds", type=float,
                   help=f"how long to wait out a locked file, {limits.RETRY_SECONDS.describe()} "
                        f"(default: the settings', 10 s unless changed)")
    _add_subtitle_arguments(t)


def _add_subtitle_arguments(t: argparse.ArgumentParser) -> None:
    s = t.add_argument_group("subtitles", "cue rules for SRT, VTT, ASS and TTML (default: the profile "
                                          "chosen in the settings, else broadcast)")
    s.add_argument("--subtitle-profile", choices=PROFILE_NAMES,
                   help="broadcast: 42x2, 17 chars/s, 0.833-7 s, 2-frame gaps; children: 13 chars/s; "
                        "social: one line of 32; custom: the values set in the settings dialog")
    s.add_argument("--max-chars", type=int, metavar="N", help="characters per line")
    s.add_argument("--max-lines", type=int, metavar="N", help="lines per cue")
    s.add_argument("--max-cps", type=float, metavar="CPS", help="reading speed, characters per second")
    s.add_argument("--min-duration", type=float, metavar="S", help="shortest cue, seconds")
    s.add_argument("--max-duration", type=float, metavar="S", help="longest cue, seconds")
    s.add_argument("--min-gap-frames", type=int, metavar="N", help="frames between cues")
    s.add_argument("--fps", type=float, help="frame rate for the gap (default: the video's, else 25)")
    s.add_argument("--txt-timestamps", action="store_true", help="start each TXT paragraph with its time")
    add_speaker_label_argument(s)


def _subtitle_overrides(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name, None) for name, *_ in RULE_LIMITS}


def _apply_subtitle_rules(args: argparse.Namespace, services, reporter: TerminalReporter) -> None:
    """The chosen profile with the flags' changes, on the pipeline (ValueError: unusable)."""
    from nemo_desk.export.profiles import with_overrides
    from nemo_desk.settings import Settings

    settings = getattr(services, "settings", None) or Settings.load(
        services.paths.settings_file, warn=lambda m: reporter.line(f"warning: {m}"))
    base = settings.cue_rules(args.subtitle_profile)
    services.pipeline.rules = with_speaker_label(with_overrides(base, _subtitle_overrides(args)), args.speaker_label)
    services.pipeline.txt_timestamps = args.txt_timestamps or settings.txt_timestamps
def _speakers_arg(value: str) -> str:
    from nemo_desk.engine.speaker_job import parse_speakers

    if value.strip().lower() == "off":
        return "off"
    try:
        parse_speakers(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value.strip().lower()


def subtitle_rules_refused(args: argparse.Namespace, services, reporter: TerminalReporter, err: TextIO) -> bool:
    """Put the subtitle rules on the pipeline; True, after one line on `err`, when the
    flags make them unusable (the caller exits with the usage status)."""
    try:
        _apply_subtitle_rules(args, services, reporter)
    except ValueError as exc:
        err.write(f"nemo-desk: {exc}\n")
        return True
    return False

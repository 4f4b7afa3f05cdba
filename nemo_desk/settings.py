"""What the user chose, remembered between runs: one JSON file, no Qt, no registry.

The window stores its geometry here too (base64 of QWidget.saveGeometry) rather than in
QSettings, which on Windows writes to the registry and cannot be inspected or reset by
deleting one file.

Loading never fails: a missing file gives the defaults silently; a damaged file, a
field of the wrong type or an out-of-range value gives the default for what is wrong and
a warning (the user loses one choice, never the app). Saving goes through `FileOps` as
a temp file in the same folder plus `replace`, so a scanner holding settings.json is
waited out like any other locked file, and a crash mid-write leaves the old file whole.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from nemo_desk.core.limits import LIMITS
from nemo_desk.engine.catalog import DEFAULT_MODEL_ID
from nemo_desk.engine.options import DEFAULT_OVERLAP_S, TranscribeOptions
from nemo_desk.engine.vocabulary import DEFAULT_STRENGTH, STRENGTHS
from nemo_desk.export import FORMATS, CueRules
from nemo_desk.export.profiles import CUSTOM, PROFILE_NAMES, profile_rules
from nemo_desk.locks.fileops import FileOps

SETTINGS_VERSION = 1
_log = logging.getLogger(__name__)
Warn = Callable[[str], None]


@dataclass
class Settings:
    # Folder overrides; "" means the app's default. Models/temp take effect at next start
    # (the model store and temp root are set up before anything else runs).
    models_dir: str = ""
    temp_dir: str = ""
    output_dir: str = ""  # "" = next to each source file
    watch_folder: str = ""  # new media in it is queued and started (gui/watch_folder.py); "" = off
    watch_output_dir: str = ""  # where the watched folder's transcripts go; "" = next to each file
    retry_seconds: float = 10.0  # how long a locked file is waited out
    batch_size: int = 0  # chunks per model call; 0 = the model's default
    chunk_seconds: float = 0.0  # longest piece per model call; 0 = the model's default
    overlap_seconds: float = DEFAULT_OVERLAP_S  # audio neighbouring pieces share; 0 = plain cuts
    speech_detection: bool = True  # Silero VAD places cuts and skips long stretches without speech
    # Subtitle rules: a named profile (export/profiles.py); the "custom" one uses the
    # values below, which the settings dialog edits.
    subtitle_profile: str = "broadcast"
    max_chars_per_line: int = 42
    max_lines: int = 2
    max_cue_duration: float = 7.0
    custom_max_cps: float = 17.0
    custom_min_duration: float = 0.833
    custom_min_gap_frames: int = 2
    txt_timestamps: bool = False  # a time stamp before each TXT paragraph
    # Last choices in the options panel.
    model_id: str = DEFAULT_MODEL_ID
    local_model_path: str = ""  # set when the user chose a .nemo file
    device: str = "auto"
    # The GPU decoder's CUDA graphs: faster; off only if decoding fails or stalls with them
    # (the app also retries without them by itself when decoding fails).
    cuda_graphs: bool = True
    formats: list[str] = field(default_factory=lambda: ["srt", "txt"])
    language: str = ""
    target_language: str = ""
    speakers: str = "off"  # "off", "auto" or a count: the "Identify speakers" option
    # Vocabulary (phrase boosting): the options panel's phrases and strength, and the
    # user's named lists ("Council meetings": ["Jane Doe", ...]).
    vocabulary: str = ""
    boost_strength: str = DEFAULT_STRENGTH
    vocabulary_lists: dict[str, list[str]] = field(default_factory=dict)
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    splitter_state: str = ""

    # -- derived values the engine takes ---------------------------------------------
    def job_options(self, **chosen: Any) -> TranscribeOptions:
        """The options a job runs with: what the front end chose (the CLI's flags, the
        window's options panel), the settings' values for what it left unsaid (None)."""
        defaults = {"batch_size": self.batch_size or None, "chunk_seconds": self.chunk_seconds or None,
                    "overlap_seconds": self.overlap_seconds, "speech_detection": self.speech_detection}
        return TranscribeOptions(**{**defaults, **{k: v for k, v in chosen.items() if v is not None}})

    def cue_rules(self, profile: str | None = None) -> CueRules:
        """The rules of `profile` (default: the chosen one); "custom" is this file's values."""
        custom = CueRules(max_chars_per_line=self.max_chars_per_line, max_lines=self.max_lines,
                          max_duration=self.max_cue_duration, max_cps=self.custom_max_cps,
                          min_duration=min(self.custom_min_duration, self.max_cue_duration),
                          min_gap_frames=self.custom_min_gap_frames)
        return profile_rules(profile or self.subtitle_profile, custom)

    def path_overrides(self) -> dict[str, str]:
        """For build_services(path_overrides=...)."""
        return {k: v for k, v in (("models", self.models_dir), ("temp", self.temp_dir)) if v}

    # -- disk ----------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str], warn: Warn | None = None) -> "Settings":
        warn = warn or _log.warning
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as exc:
            warn(f"could not read the settings file {path} ({exc}); using the defaults")
            return cls()
        try:
            data = json.loads(raw)
        except ValueError as exc:
            warn(f"the settings file {path} is damaged ({exc}); using the defaults")
            return cls()
        if not isinstance(data, dict):
            warn(f"the settings file {path} does not hold settings; using the defaults")
            return cls()
        return cls.from_dict(data, warn)

    @classmethod
    def from_dict(cls, data: dict[str, Any], warn: Warn | None = None) -> "Settings":
        warn = warn or _log.warning
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = _coerce(data[f.name], getattr(defaults, f.name))
            if value is None:
                warn(f"setting {f.name!r} has an unusable value {data[f.name]!r}; using the default")
                continue
            values[f.name] = value
        settings = cls(**values)
        if "subtitle_profile" not in data and any(
                k in data and values.get(k) != getattr(defaults, k)
                for k in ("max_chars_per_line", "max_lines", "max_cue_duration")):
            # A file from before profiles existed, with line rules the user changed.
            settings.subtitle_profile = CUSTOM
        settings._repair(warn)
        return settings

    def to_dict(self) -> dict[str, Any]:
        return {"version": SETTINGS_VERSION, **asdict(self)}

    def save(self, path: str | os.PathLike[str], fileops: FileOps) -> None:
        """Atomic, lock-aware write. Raises OSError/LockError; the caller decides what to say."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        from nemo_desk.export.atomic import atomic_write_bytes  # only when saving, not at start-up

        atomic_write_bytes(path, data.encode("utf-8"), fileops)

    def _repair(self, warn: Warn) -> None:
        """Out-of-range values back to their defaults, one warning each."""
        d = Settings()
        # The ranges are the CLI's and the dialog's too (core/limits.py).
        checks = tuple((name, limit.allows(getattr(self, name), setting=True))
                       for name, limit in LIMITS.items() if hasattr(self, name))
        checks += (
            ("device", self.device in ("auto", "cpu", "cuda")),
            ("subtitle_profile", self.subtitle_profile in PROFILE_NAMES),
            ("boost_strength", self.boost_strength in STRENGTHS),
        )
        for name, ok in checks:
            if not ok:
                warn(f"setting {name!r} = {getattr(self, name)!r} is out of range; using {getattr(d, name)!r}")
                setattr(self, name, getattr(d, name))
        kept = [f for f in self.formats if f in FORMATS]
        if kept != self.formats or not kept:
            if not kept:
                warn(f"setting 'formats' = {self.formats!r} names no known format; using {d.formats!r}")
            self.formats = list(dict.fromkeys(kept)) or d.formats


def _coerce(value: Any, default: Any) -> Any:
    """`value` as the type of `default`, or None when it cannot honestly be one."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, int):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok and value == value else None  # NaN is unusable
    if isinstance(default, str):
        return value if isinstance(value, str) else None
    if isinstance(default, dict):  # named vocabulary lists: name -> phrases
        ok = isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(p, str) for p in v) for k, v in value.items())
        return {k: list(v) for k, v in value.items()} if ok else None
    if isinstance(default, list):
        return list(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else None
    return None

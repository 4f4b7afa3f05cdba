"""Subtitle profiles: named sets of delivery rules, and overriding single rules.

"broadcast" is the common default (Netflix's English timed-text style guide): 42
characters x 2 lines, 17 characters a second, 5/6 s to 7 s, 2 frames between cues.
"children" reads slower (13 characters a second, as in the same guide). "social" is
for vertical video: one short line, quicker cues. "custom" is whatever the user set in
the settings dialog (its values live in the settings, not here).

The ranges of the numeric rules are one table (`RULE_LIMITS`), so the command line and
the settings file give the same one-line message for a value out of range.
"""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Mapping

from nemo_desk.export.cues import CueRules

PROFILES: dict[str, CueRules] = {
    "broadcast": CueRules(),
    "children": CueRules(max_cps=13.0),
    "social": CueRules(max_chars_per_line=32, max_lines=1, max_cps=20.0, min_duration=0.5, max_duration=4.0),
}
CUSTOM = "custom"
PROFILE_NAMES: tuple[str, ...] = (*PROFILES, CUSTOM)
DEFAULT_PROFILE = "broadcast"

# (option name, CueRules field, type, lowest, highest). The option names are the
# command line's (--max-chars, ...) without the dashes.
RULE_LIMITS: tuple[tuple[str, str, type, float, float], ...] = (
    ("max_chars", "max_chars_per_line", int, 5, 200),
    ("max_lines", "max_lines", int, 1, 10),
    ("max_cps", "max_cps", float, 5.0, 100.0),
    ("min_duration", "min_duration", float, 0.0, 10.0),
    ("max_duration", "max_duration", float, 0.5, 60.0),
    ("min_gap_frames", "min_gap_frames", int, 0, 60),
    ("fps", "fps", float, 1.0, 300.0),
)
_FIELDS = {f.name for f in fields(CueRules)}


def check_rule(option: str, value: float) -> str | None:
    """A one-line message when `value` is out of range for `option`, else None."""
    for name, _, kind, low, high in RULE_LIMITS:
        if name == option:
            if kind is int and (not float(value).is_integer()):
                return f"{option.replace('_', '-')} must be a whole number (got {value})"
            if not low <= value <= high:
                return f"{option.replace('_', '-')} must be between {low:g} and {high:g} (got {value:g})"
            return None
    raise KeyError(option)


def profile_rules(name: str, custom: CueRules | None = None) -> CueRules:
    """The rules of a named profile; "custom" needs the user's values."""
    key = name.strip().lower()
    if key == CUSTOM:
        return custom if custom is not None else PROFILES[DEFAULT_PROFILE]
    if key not in PROFILES:
        raise ValueError(f"unknown subtitle profile {name!r}; choose from {', '.join(PROFILE_NAMES)}")
    return PROFILES[key]


def with_overrides(base: CueRules, overrides: Mapping[str, float | int | None]) -> CueRules:
    """`base` with the given rules changed (option names of RULE_LIMITS; None = keep).

    Raises ValueError with a one-line message for a value out of range or a combination
    that cannot work (a minimum duration above the maximum).
    """
    changes: dict[str, float | int] = {}
    for option, field_name, kind, _, _ in RULE_LIMITS:
        value = overrides.get(option)
        if value is None:
            continue
        problem = check_rule(option, value)
        if problem:
            raise ValueError(problem)
        changes[field_name] = kind(value)
    unknown = set(overrides) - {r[0] for r in RULE_LIMITS}
    if unknown:
        raise ValueError(f"unknown subtitle rule(s): {', '.join(sorted(unknown))}")
    merged = {**{f: getattr(base, f) for f in _FIELDS}, **changes}
    if merged["min_duration"] > merged["max_duration"]:
        raise ValueError(f"min-duration ({merged['min_duration']:g} s) must not exceed "
                         f"max-duration ({merged['max_duration']:g} s)")
    return replace(base, **changes)

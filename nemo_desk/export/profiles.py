"""Subtitle profiles: named sets of delivery rules, and overriding single rules.

"broadcast" is the common default (Netflix's English timed-text style guide): 42
characters x 2 lines, 17 characters a second, 5/6 s to 7 s, 2 frames between cues.
"children" reads slower (13 characters a second, as in the same guide). "social" is
for vertical video: one short line, quicker cues. "custom" is whatever the user set in
the settings dialog (its values live in the settings, not here).

The ranges of the numeric rules are core/limits.py's, so the command line, the settings
file and the settings dialog agree on them.
"""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, Mapping

from nemo_desk.core import limits
from nemo_desk.export.cues import CueRules

PROFILES: dict[str, CueRules] = {
    "broadcast": CueRules(),
    "children": CueRules(max_cps=13.0),
    "social": CueRules(max_chars_per_line=32, max_lines=1, max_cps=20.0, min_duration=0.5, max_duration=4.0),
}
CUSTOM = "custom"
PROFILE_NAMES: tuple[str, ...] = (*PROFILES, CUSTOM)
DEFAULT_PROFILE = "broadcast"

# (option name, CueRules field, its range). The option names are the command line's
# (--max-chars, ...) without the dashes; the ranges are core/limits.py's, shared with the
# settings file and the settings dialog.
RULE_LIMITS: tuple[tuple[str, str, limits.Limit], ...] = (
    ("max_chars", "max_chars_per_line", limits.MAX_CHARS_PER_LINE),
    ("max_lines", "max_lines", limits.MAX_LINES),
    ("max_cps", "max_cps", limits.MAX_CPS),
    ("min_duration", "min_duration", limits.MIN_CUE_DURATION),
    ("max_duration", "max_duration", limits.MAX_CUE_DURATION),
    ("min_gap_frames", "min_gap_frames", limits.MIN_GAP_FRAMES),
    ("fps", "fps", limits.FPS),
)
_FIELDS = {f.name for f in fields(CueRules)}


def check_rule(option: str, value: float) -> str | None:
    """A one-line message when `value` is out of range for `option`, else None."""
    for name, _, limit in RULE_LIMITS:
        if name == option:
            return limit.problem(value)
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
    changes: dict[str, Any] = {}
    for option, field_name, limit in RULE_LIMITS:
        value = overrides.get(option)
        if value is None:
            continue
        problem = limit.problem(value)
        if problem:
            raise ValueError(problem)
        changes[field_name] = int(value) if limit.integer else float(value)
    unknown = set(overrides) - {r[0] for r in RULE_LIMITS}
    if unknown:
        raise ValueError(f"unknown subtitle rule(s): {', '.join(sorted(unknown))}")
    merged = {**{f: getattr(base, f) for f in _FIELDS}, **changes}
    if merged["min_duration"] > merged["max_duration"]:
        raise ValueError(f"min-duration ({merged['min_duration']:g} s) must not exceed "
                         f"max-duration ({merged['max_duration']:g} s)")
    return replace(base, **changes)

"""Status and log colours that stay readable (WCAG AA, 4.5:1) on the palette in use.

Fixed colours failed: green "done" was 3.25:1 and red "failed" 2.97:1 on a dark palette,
orange warnings 3.8:1 on a light one. Each colour keeps its hue and is darkened or
lightened, against the actual background, until it passes; so it follows the system's
light or dark scheme and any high-contrast palette too.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

from nemo_desk.core.states import JobState

AA = 4.5  # WCAG 2 AA for normal text
# The hue of each meaning (what the colour says), not its final lightness.
HUES = {
    JobState.DONE: "#2e7d32",
    JobState.FAILED: "#c62828",
    JobState.CANCELLED: "#8d6e63",  # queue rows
    "retry": "#b26a00",
    "warning": "#e65100",
    "error": "#c62828",  # log lines
}


def luminance(colour: QColor) -> float:
    """Relative luminance (WCAG 2)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(colour: QColor, background: QColor, ratio: float = AA) -> QColor:
    """`colour`, as little lighter or darker as needed to reach `ratio` on `background`."""
    if contrast(colour, background) >= ratio:
        return colour
    darker = luminance(background) > 0.18  # light background: go darker, else lighter
    hsl: tuple[float, float, float, float] = colour.getHslF()  # type: ignore[assignment]
    h, s, lightness, a = hsl
    h = max(h, 0.0)  # achromatic colours report -1
    for step in range(1, 101):
        lum = lightness * (1 - step / 100) if darker else lightness + (1 - lightness) * step / 100
        candidate = QColor.fromHslF(h, s, lum, a)
        if contrast(candidate, background) >= ratio:
            return candidate
    return QColor("black") if darker else QColor("white")


def for_state(state: str, palette: QPalette) -> QColor | None:
    """The colour for a queue state or log level on `palette`, readable on its base and its
    alternate base (rows alternate); None where plain text colour is used."""
    hue = HUES.get(state)
    if hue is None:
        return None
    colour = QColor(hue)
    for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase):
        colour = readable(colour, palette.color(role))
    return colour

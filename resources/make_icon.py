"""Draws the app icon (resources/nemo-desk.png and .ico) with Pillow; run it to redo them.

    .venv/bin/python resources/make_icon.py

A rounded green tile, white sound-wave bars and two caption lines: "audio in, text out".
Drawn at 4x and scaled down, so the edges are smooth at every size the .ico holds.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZE = 256
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
GREEN, DARK, WHITE = (118, 185, 0, 255), (44, 72, 0, 255), (255, 255, 255, 255)
BARS = (0.30, 0.55, 0.85, 1.0, 0.70, 0.45, 0.80, 0.50, 0.25)  # relative heights


def draw(size: int = SIZE, scale: int = 4) -> Image.Image:
    s = size * scale
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    pad = s * 0.04
    d.rounded_rectangle([pad, pad, s - pad, s - pad], radius=s * 0.20, fill=GREEN)
    # Sound wave in the upper part.
    n = len(BARS)
    left, right = s * 0.18, s * 0.82
    step = (right - left) / n
    bar_w = step * 0.58
    mid, max_h = s * 0.40, s * 0.36
    for i, rel in enumerate(BARS):
        x = left + i * step + (step - bar_w) / 2
        h = max(bar_w, max_h * rel)
        d.rounded_rectangle([x, mid - h / 2, x + bar_w, mid + h / 2], radius=bar_w / 2, fill=WHITE)
    # Two subtitle lines below it.
    line_h = s * 0.065
    for top, x0, x1 in ((0.68, 0.18, 0.82), (0.79, 0.28, 0.72)):
        d.rounded_rectangle([s * x0, s * top, s * x1, s * top + line_h], radius=line_h / 2, fill=DARK)
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    icon = draw()
    icon.save(HERE / "nemo-desk.png", optimize=True)
    icon.save(HERE / "nemo-desk.ico", sizes=ICO_SIZES)


if __name__ == "__main__":
    main()

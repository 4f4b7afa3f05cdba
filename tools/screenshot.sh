#!/usr/bin/env bash
# Screenshot of the main window (finished queue + log pane) under Xvfb, for review.
#   tools/screenshot.sh [OUT.png]        default: resources/screenshot.png
# Needs: xvfb (xvfb-run), xauth; imagemagick to shrink a large PNG.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
out="${1:-$here/resources/screenshot.png}"
cd "$here"
# A real X server (not Qt's offscreen plugin) so fonts, hinting and the style are what a
# desktop shows; -a picks a free display number.
unset QT_QPA_PLATFORM
exec xvfb-run -a -s "-screen 0 1400x900x24" "$python" tools/screenshot.py "$out"

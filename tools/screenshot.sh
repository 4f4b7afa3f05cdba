#!/usr/bin/env bash
# Screenshot of the main window (finished queue + log pane) under Xvfb, for review.
#   tools/screenshot.sh [OUT.png]        default: resources/screenshot.png
#   tools/screenshot.sh --set [DIR]      running, finished and failed-with-message, at 100 %
#                                        and 150 %, light and dark (default DIR: resources/screenshots)
# Needs: xvfb (xvfb-run), xauth; imagemagick to shrink a large PNG.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
out="${1:-$here/resources/screenshot.png}"
cd "$here"
# A real X server (not Qt's offscreen plugin) so fonts, hinting and the style are what a
# desktop shows; -a picks a free display number.
unset QT_QPA_PLATFORM
if [[ "${1:-}" == "--set" ]]; then
  dir="${2:-$here/resources/screenshots}"
  for scale in 1 1.5; do
    for scheme in light dark; do
      QT_SCALE_FACTOR=$scale NEMO_DESK_SHOT_SCHEME=$scheme NEMO_DESK_SHOT_SET=1 \
        xvfb-run -a -s "-screen 0 1920x1080x24" "$python" tools/screenshot.py "$dir/window-${scale/./}x-$scheme.png"
    done
  done
  exit 0
fi
exec xvfb-run -a -s "-screen 0 1400x900x24" "$python" tools/screenshot.py "$out"

#!/usr/bin/env bash
# Sets up everything nemo_desk needs on a fresh Debian/Ubuntu machine (or refreshes it):
# system tools (ffmpeg, espeak-ng, sox, Qt's libraries, Xvfb) and a virtual environment in .venv.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg espeak-ng sox xvfb xauth imagemagick
  libegl1 libgl1 libglx0 libglvnd0 libxkbcommon0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3
  libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-randr0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "bootstrap: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The torch 2.13.0 CPU wheel on these machines is built for CPython 3.11; prefer it.
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $PY"
  "$PY" -m venv .venv
fi

# torch first, pinned: a plain 'torch' requirement would pull GBs of CUDA packages.
stamp=.venv/.nemo_desk-installed
want="$(cat pyproject.toml tools/constraints.txt | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python packages (a few minutes the first time)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -c tools/constraints.txt -e ".[dev,cluster]"
  echo "$want" > "$stamp"
fi

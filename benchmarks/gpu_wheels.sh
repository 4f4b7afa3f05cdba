#!/usr/bin/env bash
# Prepares what benchmarks/gpu_check.sh needs on the device machine, which has a CUDA torch
# and many common packages but no NeMo and no network: the wheels of every package this
# venv has and that machine lacks (its list: /work/.library/device/KINDS.md), for Python
# 3.12 on x86-64, into .whl/; and espeak-ng's .deb files into .debs/ (the benchmark speaks
# its test audio). Both folders are git-ignored; the device tool carries them (64 MiB limit).
set -euo pipefail
cd "$(dirname "$0")/.."
KINDS=${KINDS:-/work/.library/device/KINDS.md}
rm -rf .whl .debs && mkdir -p .whl .debs
have=$(grep -A3 '^## Python packages already there' "$KINDS" | tail -1 | sed 's/.*Packages: //' \
       | tr ',' '\n' | sed 's/^ *//; s/\.$//' | tr 'A-Z_' 'a-z-' | sort -u)
skip='^(imageio-ffmpeg|nvidia-.*|torch|triton|pyside6.*|shiboken6|pyinstaller.*|pytest.*|import-linter|grimp|nemo-desk|pip|setuptools|wheel|altgraph|wandb|hypothesis|ruff|mypy.*)$'
.venv/bin/python -m pip list --format=freeze 2>/dev/null | grep -v '^-e\|@' | while IFS='=' read -r name _ version; do
  key=$(echo "$name" | tr 'A-Z_' 'a-z-')
  echo "$have" | grep -qx "$key" && continue
  echo "$key" | grep -Eq "$skip" && continue
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 --platform any -d .whl "$name==$version" 2>/dev/null \
    || .venv/bin/python -m pip wheel -q --no-deps --no-binary :all: -w .whl "$name==$version" 2>/dev/null \
    || echo "gpu_wheels: no wheel for $name==$version (py3.12, x86-64)"
done
# imageio-ffmpeg's platform wheel carries a 65 MB ffmpeg; its sdist builds a wheel without one,
# and the app then uses the machine's ffmpeg (gpu_check.sh checks there is one).
.venv/bin/python -m pip wheel -q --no-deps --no-binary :all: -w .whl \
  "imageio-ffmpeg==$(.venv/bin/python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.__version__)')"
(cd .debs && apt-get download espeak-ng libespeak-ng1 espeak-ng-data libpcaudio0 libsonic0 2>/dev/null >/dev/null)
du -sh .whl .debs

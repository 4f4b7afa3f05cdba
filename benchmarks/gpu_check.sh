#!/usr/bin/env bash
# The prepared GPU run (issue #12, closes issue #6's GPU section): one script for the device
# tool's machine (an H200 with python3 holding a CUDA torch, no network). It needs NeMo and
# its dependencies there as wheels in .whl/ (made here by `bash benchmarks/gpu_wheels.sh`)
# and ffmpeg/espeak-ng for the audio: carried as .deb files in .debs/ by the same script.
#
#   device run, carry [".whl", ".debs"], timeout_s 540:
#     bash benchmarks/gpu_check.sh
#
# Steps, each bounded: install the carried wheels into /tmp/site (PYTHONPATH), unpack the
# .debs, check that torch sees the GPU, then `benchmarks/run.py --sections gpu` with the
# Parakeet 0.6B architecture (random weights, steered decoding as in the CPU benchmarks) on a
# 60-minute mp4: fp32 / bf16 autocast / bf16 model x batch 4, 8, 16, 32 x CUDA graphs on/off,
# then NeMo's long-form recipe. Results go to $OUT (gpu.json, gpu.md, gpu.log) for the README.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu.log") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
PY=${PYTHON:-python3}
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "gpu_check: wheel install failed"; exit 1; }
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
if [ -d .debs ]; then
  for f in .debs/*.deb; do dpkg -x "$f" /tmp/debroot; done
  export PATH=/tmp/debroot/usr/bin:$PATH LD_LIBRARY_PATH=/tmp/debroot/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
fi
command -v ffmpeg >/dev/null || { echo "gpu_check: no ffmpeg on this machine (carry Debian's ffmpeg .debs)"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
"$PY" - <<'PY' || exit 1
import torch, nemo, nemo_desk
assert torch.cuda.is_available(), "torch sees no GPU"
print("torch", torch.__version__, "CUDA", torch.version.cuda, torch.cuda.get_device_name(0), "nemo", nemo.__version__)
from nemo_desk.engine.device import preflight
print("app device check:", preflight("auto", 3.0).summary())
PY
timeout 480 "$PY" benchmarks/run.py --sections gpu --threads 0 --json "$OUT/gpu.json" | tee "$OUT/gpu.md"
echo "gpu_check: exit ${PIPESTATUS[0]}"

#!/usr/bin/env bash
# Builds the Windows-style one-folder bundle dist/nemo-desk (two executables; see build_exe.spec).
#
#   tools/build_exe.sh                  # dist/nemo-desk, work files in build/
#   NEMO_DESK_LEAN=0 tools/build_exe.sh --distpath build/full/dist --workpath build/full/work
#                                       # without the exclusions (to measure what they save)
#
# Extra arguments go to PyInstaller. PYTHON picks the interpreter (default .venv/bin/python,
# or python on Windows). Prints the build time and the bundle size.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python
  elif [ -x .venv/Scripts/python.exe ]; then PYTHON=.venv/Scripts/python.exe
  else PYTHON=python; fi
fi

distpath=dist
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--distpath" ] && distpath="${args[$((i + 1))]}"
done

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --log-level "${PYI_LOG_LEVEL:-WARN}" "$@" build_exe.spec
seconds=$(($(date +%s) - start))
size=$(du -sm "$distpath/nemo-desk" | cut -f1)
echo "build_exe: $distpath/nemo-desk built in ${seconds} s ($((seconds / 60)) min $((seconds % 60)) s), ${size} MB"

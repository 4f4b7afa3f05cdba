#!/usr/bin/env bash
# Frozen smoke test: builds dist/nemo-desk with build_exe.spec and proves the bundle works on
# its own, with an empty environment (`env -i`, a fresh HOME, no PATH: no Python, no system
# ffmpeg): the console exe transcribes an mp4 with a tiny real NeMo model into an SRT that
# parses, `--self-test` passes (and fails when ffmpeg is broken), and the window shows
# (offscreen). Prints the build time, the bundle size and the largest parts.
#
#   tools/smoke_frozen.sh              # build, then test
#   tools/smoke_frozen.sh --no-build   # test the existing dist/nemo-desk
#   tools/smoke_frozen.sh --compare    # also build without the exclusions (build/full/, reused
#                                      # unless REBUILD_FULL=1) and report what they save
#
# Needs the dev venv (.venv) and espeak-ng, sox, ffmpeg (tools/bootstrap.sh installs them).
# Not part of the pytest suite: the build alone takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY=${PYTHON:-.venv/bin/python}
BUNDLE=$REPO/dist/nemo-desk
build=1 compare=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --compare) compare=1 ;;
    *) echo "usage: $0 [--no-build] [--compare]" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nemo-desk-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failures=0
say() { printf 'smoke: %s\n' "$*"; }
fail() { printf 'smoke: FAIL: %s\n' "$*"; failures=$((failures + 1)); }
# The bundle must not need anything from this environment: only a fresh HOME.
frozen() { env -i HOME="$WORK/home" "$@"; }

# --- 1. build -------------------------------------------------------------------------
build_s="(not built)"
if [ "$build" = 1 ]; then
  start=$(date +%s)
  bash tools/build_exe.sh --clean  # a clean build: the time CI would see
  build_s="$(($(date +%s) - start)) s"
fi
[ -x "$BUNDLE/nemo-desk-cli" ] && [ -x "$BUNDLE/nemo-desk" ] || { echo "smoke: no bundle in $BUNDLE" >&2; exit 1; }
size_mb=$(du -sm "$BUNDLE" | cut -f1)

# --- 2. inputs: the tiny steered model (says "the" every 0.16 s) and an mp4 with speech --
model_dir=$("$PY" - <<'EOF'
import hashlib, os
from importlib.metadata import version
from pathlib import Path
src = Path("tests/support/tiny_models.py").read_bytes()
key = hashlib.sha256(src + version("nemo_toolkit").encode()).hexdigest()[:12]  # as tests/conftest.py
print(Path(os.environ.get("NEMO_DESK_TEST_CACHE", ".test-cache")).resolve() / f"tiny-models-{key}")
EOF
)
MODEL=$model_dir/tiny-tdt-steered.nemo
if [ ! -f "$MODEL" ]; then
  say "building the tiny models into $WORK/models (about a minute)"
  "$PY" tests/support/tiny_models.py "$WORK/models" >/dev/null
  MODEL=$WORK/models/tiny-tdt-steered.nemo
fi
"$PY" - "$WORK/media" <<'EOF'
import sys
from pathlib import Path
from tests.support import audio
d = Path(sys.argv[1])
audio.speak("one two three four five six seven eight nine", d / "digits.wav")
audio.make_mp4_with_audio(d / "digits.wav", d / "digits.mp4")
EOF
MP4=$WORK/media/digits.mp4
mkdir -p "$WORK/home"

# --- 3. the console exe transcribes an mp4 ----------------------------------------------
start=$(date +%s)
if frozen "$BUNDLE/nemo-desk-cli" transcribe --model-path "$MODEL" --format srt,txt,json --output-dir "$WORK/out" \
    "$MP4" >"$WORK/transcribe.log" 2>&1; then
  transcribe_s=$(($(date +%s) - start))
  if "$PY" - "$WORK/out/digits.srt" <<'EOF'
import re, sys
from pathlib import Path
text = Path(sys.argv[1]).read_text(encoding="utf-8")
stamp = r"(\d\d):(\d\d):(\d\d),(\d\d\d)"
secs = lambda m, i: int(m[i]) * 3600 + int(m[i + 1]) * 60 + int(m[i + 2]) + int(m[i + 3]) / 1000
cues, last = [], 0.0
for block in [b for b in text.strip().split("\n\n") if b.strip()]:
    lines = block.strip().splitlines()
    m = re.fullmatch(rf"{stamp} --> {stamp}", lines[1]) if len(lines) >= 3 and lines[0].isdigit() else None
    assert m, f"not an SRT cue: {block!r}"
    start, end = secs(m.groups(), 0), secs(m.groups(), 4)
    assert last <= start < end, f"bad times in cue {lines[0]}: {lines[1]}"
    last = end
    cues.append(" ".join(lines[2:]))
assert cues and "the" in " ".join(cues).split(), f"no expected words in {cues!r}"
print(f"smoke: SRT parses: {len(cues)} cues, {sum(len(c.split()) for c in cues)} words, last ends at {last:.2f} s")
EOF
  then say "transcribe OK in ${transcribe_s} s (frozen, empty environment)"
  else fail "the SRT is missing or does not parse"; fi
else
  fail "nemo-desk-cli transcribe exited $?"; tail -20 "$WORK/transcribe.log"
fi

# --- 4. --self-test, frozen ---------------------------------------------------------------
if frozen "$BUNDLE/nemo-desk-cli" --self-test --model-path "$MODEL" "$MP4" >"$WORK/selftest.log" 2>&1 \
    && grep -q "self-test passed" "$WORK/selftest.log" && grep -q "frozen build" "$WORK/selftest.log" \
    && grep -q "ffmpeg: .*($BUNDLE/_internal/imageio_ffmpeg/" "$WORK/selftest.log" \
    && grep -q "OK    GPU decoder: cuda-bindings" "$WORK/selftest.log"; then
  say "self-test OK:"; sed 's/^/    /' "$WORK/selftest.log"
else
  fail "--self-test did not pass with the bundled ffmpeg"; cat "$WORK/selftest.log"
fi
set +e
frozen NEMO_DESK_FFMPEG=/nonexistent "$BUNDLE/nemo-desk-cli" --self-test >"$WORK/selftest-bad.log" 2>&1
code=$?
set -e
if [ "$code" = 1 ] && grep -q "FAIL  ffmpeg: /nonexistent" "$WORK/selftest-bad.log"; then
  say "self-test with a broken ffmpeg fails as it should (exit 1)"
else
  fail "self-test with NEMO_DESK_FFMPEG=/nonexistent exited $code"; cat "$WORK/selftest-bad.log"
fi

# --- 5. the window shows (offscreen) --------------------------------------------------------
if frozen QT_QPA_PLATFORM=offscreen "$BUNDLE/nemo-desk" --quit-after-show >"$WORK/gui.log" 2>&1 \
    && grep -q "nemo_desk: window shown: True" "$WORK/gui.log" && grep -q "nemo_desk: ready: True" "$WORK/gui.log"; then
  say "window shown, then services attached and worker running (offscreen)"
else
  fail "the window did not show"; tail -20 "$WORK/gui.log"
fi

# --- 5b. the transcript editor opens on the JSON, with its player (QtMultimedia) ---------
if frozen QT_QPA_PLATFORM=offscreen "$BUNDLE/nemo-desk" open "$WORK/out/digits.json" --quit-after-show \
    >"$WORK/editor.log" 2>&1 && grep -q "nemo_desk: editor shown: True, player: True" "$WORK/editor.log"; then
  say "editor shown on the transcript, with its player (offscreen)"
else
  fail "the editor did not open"; tail -20 "$WORK/editor.log"
fi

# Where the frozen runs wrote in the fresh HOME (only the app's own folders are expected).
say "written under the fresh HOME: $(cd "$WORK/home" && find . -mindepth 1 -maxdepth 3 -type d | sort | tr '\n' ' ')"

# --- 6. sizes -------------------------------------------------------------------------------
say "largest parts of $BUNDLE/_internal (MB):"
# sed, not head: head stops reading, and under pipefail sort's SIGPIPE (141) would end the script.
du -sm "$BUNDLE"/_internal/* | sort -rn | sed -n '1,12s/^/    /p'
if [ "$compare" = 1 ]; then
  if [ -x build/full/dist/nemo-desk/nemo-desk-cli ] && [ "${REBUILD_FULL:-0}" != 1 ]; then
    say "comparing with the build without exclusions from $(date -r build/full/dist/nemo-desk '+%F %T') (REBUILD_FULL=1 redoes it)"
  else
    say "building without the exclusions into build/full/ for comparison"
    NEMO_DESK_LEAN=0 bash tools/build_exe.sh --clean --distpath build/full/dist --workpath build/full/work
  fi
  full_mb=$(du -sm build/full/dist/nemo-desk | cut -f1)
  say "without exclusions: ${full_mb} MB; the exclusions save $((full_mb - size_mb)) MB; largest differences (MB):"
  join -a1 -e0 -o 0,1.2,2.2 <(cd build/full/dist/nemo-desk/_internal && du -sm -- * | awk '{print $2, $1}' | sort) \
    <(cd "$BUNDLE/_internal" && du -sm -- * | awk '{print $2, $1}' | sort) \
    | awk '$2 != $3 {print $2 - $3, $1}' | sort -rn | sed -n '1,12s/^/    /p'
fi

say "build time: $build_s; bundle size: ${size_mb} MB ($(du -sh "$BUNDLE" | cut -f1))"
if [ "$failures" -gt 0 ]; then say "FAILED ($failures)"; exit 1; fi
say "PASSED"

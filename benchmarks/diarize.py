"""Speakers: diarization time against transcription time on the same audio, and peak memory
against file length, with full-size architectures (random weights) on the CPU.

    .venv/bin/python benchmarks/diarize.py                 # 5 and 60 minutes (long on 2 cores)
    .venv/bin/python benchmarks/diarize.py --minutes 1 3   # a quick look

Each measurement runs in a fresh process (peak RSS is the process's own, ru_maxrss), through
the app's own path: store import, fast folder load, `diarize_array` / `transcribe_array` on
the decoded array. Prints one JSON line per run and writes benchmarks/results/diarize.json.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _sortformer_nemo() -> Path:
    from benchmarks.fixtures import CACHE

    out = CACHE / "models" / "sortformer-full-streaming.nemo"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        code = ("import sys, os; sys.path.insert(0, sys.argv[1]); from pathlib import Path;"
                "from tests.support.tiny_diarizers import build, sortformer_config;"
                "build('SortformerEncLabelModel', sortformer_config(full_size=True), Path(sys.argv[2])); os._exit(0)")
        subprocess.run([sys.executable, "-c", code, str(REPO), str(out)], check=True, cwd=REPO)
    return out


def child(kind: str, nemo: str, wav: str) -> dict:
    import soundfile as sf

    from nemo_desk.engine.loader import load_from_folder
    from nemo_desk.engine.store import ModelStore
    from nemo_desk.locks.fileops import FileOps

    audio, _ = sf.read(wav, dtype="float32")
    with tempfile.TemporaryDirectory() as home:
        loaded = load_from_folder(ModelStore(Path(home), FileOps()).import_local(Path(nemo)), "cpu")
        started = time.perf_counter()
        if kind == "diarize":
            from nemo_desk.engine.diarizer import diarize_array

            diarize_array(loaded, audio)
        else:
            from nemo_desk.engine.transcriber import transcribe_array

            transcribe_array(loaded, audio)
        seconds = time.perf_counter() - started
    return {"kind": kind, "audio_min": round(len(audio) / 16000 / 60, 2), "seconds": round(seconds, 1),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, nargs="+", default=[5, 60])
    parser.add_argument("--no-asr", action="store_true", help="diarization only")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(*args.child)), flush=True)
        return
    from benchmarks.fixtures import build_model, speech_wav

    runs = [("diarize", str(_sortformer_nemo()))]
    if not args.no_asr:
        runs.append(("transcribe", str(build_model("parakeet-0.6b")[0])))
    results = []
    for minutes in args.minutes:
        wav = str(speech_wav(minutes))
        for kind, nemo in runs:
            done = subprocess.run([sys.executable, __file__, "--child", kind, nemo, wav],
                                  capture_output=True, text=True, cwd=REPO)
            line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            result = json.loads(line[-1][7:]) if line else {"kind": kind, "error": done.stderr[-500:]}
            print(json.dumps(result), flush=True)
            results.append(result)
    out = REPO / "benchmarks" / "results" / "diarize.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

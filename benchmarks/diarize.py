"""Speakers: diarization time against transcription time on the same audio, and peak memory
against file length, with full-size architectures (random weights) on the CPU: the
streaming Sortformer and the embedding path (TitaNet-Large's shape, windows clustered).

    .venv/bin/python benchmarks/diarize.py                 # 5 and 60 minutes (long on 2 cores)
    .venv/bin/python benchmarks/diarize.py --minutes 1 3   # a quick look
    .venv/bin/python benchmarks/diarize.py --minutes 1 --tiny   # the trained tiny encoder, seconds
    .venv/bin/python benchmarks/diarize.py --features-only      # Sortformer's features: pieces vs one pass

As the other benchmarks, the figures are ratios against a reference measured in the same
run (the machine is shared; absolute seconds do not compare between runs): diarization
seconds / transcription seconds on the same file, and each length's peak memory / the
shortest length's, from the medians of `--repeat` interleaved runs.

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


def _full_nemo(cls: str, config: str, name: str) -> Path:
    from benchmarks.fixtures import CACHE

    out = CACHE / "models" / name
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        code = ("import sys, os; sys.path.insert(0, sys.argv[1]); from pathlib import Path;"
                f"from tests.support.tiny_diarizers import build, {config};"
                f"build('{cls}', {config}(full_size=True), Path(sys.argv[2])); os._exit(0)")
        subprocess.run([sys.executable, "-c", code, str(REPO), str(out)], check=True, cwd=REPO)
    return out


def _sortformer_nemo() -> Path:
    return _full_nemo("SortformerEncLabelModel", "sortformer_config", "sortformer-full-streaming-v2.1.nemo")


def _titanet_nemo() -> Path:
    return _full_nemo("EncDecSpeakerLabelModel", "titanet_config", "titanet-full.nemo")


def medians(results: list[dict]) -> list[dict]:
    """One row per (kind, length): the median seconds and peak memory of its repeats."""
    import statistics

    rows: dict[tuple, list[dict]] = {}
    for r in results:
        if "seconds" in r:
            rows.setdefault((r["kind"], r["audio_min"]), []).append(r)
    return [{"kind": k, "audio_min": m, "repeats": len(rs),
             "seconds": statistics.median(r["seconds"] for r in rs),
             "peak_rss_gb": statistics.median(r["peak_rss_gb"] for r in rs)} for (k, m), rs in rows.items()]


def ratios(results: list[dict]) -> list[dict]:
    """Each diarizer's seconds over the transcription's on the same length, and each
    length's peak memory over the shortest length's (same diarizer)."""
    out = []
    asr = {r["audio_min"]: r["seconds"] for r in results if r.get("kind") == "transcribe" and "seconds" in r}
    for r in results:
        if r.get("kind") == "transcribe" or "seconds" not in r:
            continue
        same = [x for x in results if x.get("kind") == r["kind"] and "peak_rss_gb" in x]
        shortest = min(same, key=lambda x: x["audio_min"])
        row = {"kind": r["kind"], "audio_min": r["audio_min"],
               "peak_rss_vs_shortest": round(r["peak_rss_gb"] / shortest["peak_rss_gb"], 2),
               "shortest_min": shortest["audio_min"]}
        if r["audio_min"] in asr:
            row["diarize_over_transcribe"] = round(r["seconds"] / max(asr[r["audio_min"]], 1e-9), 3)
        out.append(row)
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
        if kind.startswith("features-"):  # Sortformer's input features alone: in pieces, or one pass
            import torch

            from nemo_desk.engine import diarizer

            piece_s = diarizer.FEATURE_PIECE_S if kind == "features-pieces" else 1e9
            with torch.inference_mode():
                diarizer.streaming_features(loaded.model, audio, piece_s=piece_s)
        elif kind != "transcribe":
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
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind and length (medians)")
    parser.add_argument("--no-embedding", action="store_true", help="Sortformer only")
    parser.add_argument("--features-only", action="store_true",
                        help="Sortformer's input features only, in pieces and in one pass (memory)")
    parser.add_argument("--tiny", action="store_true",
                        help="the trained tiny encoder and digits model of tests/data instead of full sizes")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(*args.child)), flush=True)
        return
    from benchmarks.fixtures import build_model, speech_wav

    if args.features_only:
        runs = [(kind, str(_sortformer_nemo())) for kind in ("features-pieces", "features-whole")]
    elif args.tiny:
        data = REPO / "tests" / "data"
        runs = [("embedding", str(data / "speakers-titanet.nemo"))]
        if not args.no_asr:
            runs.append(("transcribe", str(data / "digits-tdt.nemo")))
    else:
        runs = [("sortformer", str(_sortformer_nemo()))]
        if not args.no_embedding:
            runs.append(("embedding", str(_titanet_nemo())))
        if not args.no_asr:
            runs.append(("transcribe", str(build_model("parakeet-0.6b")[0])))
    results = []
    for minutes in args.minutes:
        wav = str(speech_wav(minutes))
        for _ in range(args.repeat):  # interleaved, so a busy spell on the machine hits every kind
            for kind, nemo in runs:
                done = subprocess.run([sys.executable, __file__, "--child", kind, nemo, wav],
                                      capture_output=True, text=True, cwd=REPO)
                line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
                result = json.loads(line[-1][7:]) if line else {"kind": kind, "error": done.stderr[-500:]}
                print(json.dumps(result), flush=True)
                results.append(result)
    summary = ratios(medians(results))
    for row in summary:
        print(json.dumps(row), flush=True)
    name = "diarize-features.json" if args.features_only else "diarize-tiny.json" if args.tiny else "diarize.json"
    out = REPO / "benchmarks" / "results" / name
    out.write_text(json.dumps({"runs": results, "ratios": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Word errors at window seams, and the model time overlap costs (a script, not a test).

Continuous speech (tools/train_tiny/synth.continuous_recording: four trained voices, no
pause over 90 ms) through tests/data/digits-tdt.nemo on the CPU, in one piece and in
windows of 10, 15 and 30 s with and without overlap. Errors are counted against the
one-piece run (what the model hears with full context) and split into those at a seam
(within the stretch around a cut that two windows share, or 1.5 s either side of a plain
cut) and the rest; model time is CPU time relative to the same windows without overlap.

    .venv/bin/python benchmarks/seams.py [--seeds 1,2,3] [--seconds 150]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--seconds", type=float, default=150.0)
    p.add_argument("--windows", default="10,15,30")
    p.add_argument("--overlaps", default="0,3")
    a = p.parse_args()
    import torch

    torch.set_num_threads(1)  # CPU time repeats within a few percent on a shared machine
    from nemo_desk.app import build_services
    from nemo_desk.engine.chunking import plan_windows
    from nemo_desk.engine.models import ModelRef
    from nemo_desk.engine.transcriber import SAMPLE_RATE, TranscribeOptions, transcribe_array
    from tests.support import truth
    from tools.train_tiny import synth

    home = tempfile.mkdtemp(prefix="nemo-desk-seams-")  # an isolated app home, models unpacked there
    services = build_services(env={**os.environ, "NEMO_DESK_HOME": home})
    loaded = services.models.get(ModelRef(path=truth.MODEL, device="cpu"))
    services.close()

    def run(audio, window, overlap):
        cpu = time.process_time()
        # Speech detection off: the plan here is the one `plan_windows` gives below, and the
        # ratio measures what overlap alone costs.
        tr = transcribe_array(loaded, audio, TranscribeOptions(chunk_seconds=window, overlap_seconds=overlap,
                                                               speech_detection=False))
        return truth.transcript_words(tr), time.process_time() - cpu

    rows: dict[tuple[float, float], list] = {}
    for seed in [int(s) for s in a.seeds.split(",")]:
        rec = synth.continuous_recording(seed, a.seconds, truth.TRAIN_VOICES)
        one, _ = run(rec.audio, 10_000, 0)
        ref = [w.word for w in rec.words]
        one_wer = truth.wer([ref], [[w for w, _, _ in one]])
        print(f"seed {seed}: {len(ref)} words, one piece {one_wer:.3%} word errors against the truth", flush=True)
        for window in [float(w) for w in a.windows.split(",")]:
            for overlap in [float(o) for o in a.overlaps.split(",")]:
                hyp, cpu = run(rec.audio, window, overlap)
                plan = plan_windows(rec.audio, SAMPLE_RATE, window, overlap)
                seams = [((w.start if overlap else w.start - 1.5 * SAMPLE_RATE) / SAMPLE_RATE,
                          (prev.end if overlap else prev.end + 1.5 * SAMPLE_RATE) / SAMPLE_RATE)
                         for prev, w in zip(plan, plan[1:])]
                at_seam = other = 0
                x, y = [w for w, _, _ in one], [w for w, _, _ in hyp]
                for i, j in truth.align(x, y):
                    if i is not None and j is not None and x[i] == y[j]:
                        continue
                    t = one[i][1] if i is not None else hyp[j][1]
                    if any(lo <= t <= hi for lo, hi in seams):
                        at_seam += 1
                    else:
                        other += 1
                rows.setdefault((window, overlap), []).append((at_seam, other, len(plan) - 1, cpu))
                print(f"  {window:g} s windows, overlap {overlap:g} s: {len(plan) - 1} cuts, "
                      f"{at_seam} errors at seams, {other} elsewhere, cpu {cpu:.1f} s", flush=True)
    print("\n| windows | overlap | cuts | word errors at seams | elsewhere | model time vs no overlap |")
    print("|---|---|---|---|---|---|")
    for (window, overlap), r in sorted(rows.items()):
        base = sum(x[3] for x in rows[(window, 0.0)]) if (window, 0.0) in rows else float("nan")
        print(f"| {window:g} s | {overlap:g} s | {sum(x[2] for x in r)} | {sum(x[0] for x in r)} | "
              f"{sum(x[1] for x in r)} | {sum(x[3] for x in r) / base:.2f} |")


if __name__ == "__main__":
    main()

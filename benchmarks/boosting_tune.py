"""Which boosting strength fixes a misheard word without writing it where it was not said?

    nice -n 10 .venv/bin/python benchmarks/boosting_tune.py                  # the default grid
    nice -n 10 .venv/bin/python benchmarks/boosting_tune.py --grid 0.5/1/2 0.7/1/1 --strengths
    # the app's strengths as engine/vocabulary.py quotes them:
    nice -n 10 .venv/bin/python benchmarks/boosting_tune.py --strengths --snr 20 \
        --spoken-seeds 101 103 105 107 109 111 113 115 117 119 121 123 \
        --absent-seeds 201 203 205 207 209 211 213 215 217 219 221 223

The trained digits model (tests/data) hears speech under a steady noise bed (the effect
test's, 20 dB below it, or `--snr`) and misses "world" about one time in four at 20 dB,
one in two at 15 dB, two in three at 10 dB. For every setting (alpha / context_score /
depth_scaling of NeMo's boosting tree; `--strengths`: the app's named strengths, with
whatever engine/boosting.py does around them) "world" is boosted on tuning recordings
that say it (one "world" in each of 16 utterances per recording) and on recordings that
never say it, and the table gives:

    fixed    misses of the un-boosted run that the boosted run gets right (of all misses)
    broke    "world"s the un-boosted run got right and the boosted one does not
    other    errors at the other words, un-boosted -> boosted
    false    "world" written where it was not said: in the recordings that say it
             (not aligned to a spoken "world") + in those that never say it

The tuning seeds are not the effect test's (tests/test_boosting_effect.py uses 31/32),
so that test stays held out. Writes benchmarks/results/boosting_tune.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_GRID = ["0.3/1/2", "0.5/1/2", "0.7/1/2", "1/1/2",
                "0.5/1/1", "0.7/1/1", "1/1/1", "1/1/0.5", "1.5/1/0.5", "1/2/0.5", "2/1/0.25"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", nargs="*", default=DEFAULT_GRID, help="alpha/context_score/depth_scaling[/max_deficit]")
    ap.add_argument("--strengths", action="store_true", help="measure the app's named strengths instead")
    ap.add_argument("--spoken-seeds", type=int, nargs="*", default=[101, 103, 105, 107])
    ap.add_argument("--absent-seeds", type=int, nargs="*", default=[201, 203])
    ap.add_argument("--snr", type=float, default=None,
                    help="noise bed, dB below the speech (default: the effect test's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "boosting_tune.json")
    a = ap.parse_args(argv)

    import torch

    from nemo_desk.engine import vocabulary
    from nemo_desk.engine.loader import load_from_folder
    from nemo_desk.engine.unpack import unpack_nemo
    from nemo_desk.locks.fileops import FileOps
    from tests import test_boosting_effect as effect
    from tests.support import truth

    torch.set_num_threads(a.threads)
    snr = effect.SNR_DB if a.snr is None else a.snr
    folder = Path(tempfile.mkdtemp(prefix="boost-tune-")) / "digits"
    unpack_nemo(truth.MODEL, folder, FileOps())
    loaded = load_from_folder(folder, "cpu")
    spoken = [effect._recording(s, 16, with_word=True, snr_db=snr) for s in a.spoken_seeds]
    absent = [effect._recording(s, 16, with_word=False, snr_db=snr) for s in a.absent_seeds]
    word = effect.WORD
    said = sum(w.word == word for r in spoken for w in r.words)

    def run_all(**boost):
        return [effect._run(loaded, r, **boost) for r in spoken], [effect._run(loaded, r, **boost) for r in absent]

    base_spoken, base_absent = run_all()
    missed0 = [effect._missed(r, h) for r, h in zip(spoken, base_spoken)]
    other0 = sum(effect._score(r, h)[1] for r, h in zip(spoken, base_spoken))
    ins0 = sum(effect._score(r, h)[2] for r, h in zip(spoken, base_spoken))
    abs0 = sum([w for w, _, _ in h].count(word) for h in base_absent)
    m0 = sum(len(m) for m in missed0)
    print(f"noise bed {snr:g} dB; said {word} {said}x; un-boosted: {m0} missed, {other0} other errors, "
          f"{ins0} + {abs0} written where not said", flush=True)
    rows = []
    settings = list(vocabulary.STRENGTHS) if a.strengths else a.grid
    for setting in settings:
        if a.strengths:
            name = setting
        else:
            alpha, score, depth, *check = (float(x) for x in setting.split("/"))
            name = "tune-" + setting
            vocabulary.STRENGTHS[name] = (alpha, score, depth, check[0] if check else None)
        hyp_spoken, hyp_absent = run_all(boost=(word,), boost_strength=name)
        search = loaded.model.decoding.decoding
        checked = f"  check kept {search.kept} dropped {search.dropped}" if hasattr(search, "dropped") else ""
        missed1 = [effect._missed(r, h) for r, h in zip(spoken, hyp_spoken)]
        fixed = sum(len(m0_ - m1_) for m0_, m1_ in zip(missed0, missed1))
        broke = sum(len(m1_ - m0_) for m0_, m1_ in zip(missed0, missed1))
        other1 = sum(effect._score(r, h)[1] for r, h in zip(spoken, hyp_spoken))
        ins1 = sum(effect._score(r, h)[2] for r, h in zip(spoken, hyp_spoken))
        abs1 = sum([w for w, _, _ in h].count(word) for h in hyp_absent)
        row = {"setting": setting, "fixed": fixed, "missed": m0, "broke": broke, "other": [other0, other1],
               "false": [ins0 + abs0, ins1 + abs1], "false_spoken": ins1, "false_absent": abs1}
        rows.append(row)
        print(f"{setting:>14}  fixed {fixed:2d}/{m0}  broke {broke}  other {other0}->{other1}  "
              f"false {ins0}+{abs0} -> {ins1}+{abs1}{checked}", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"snr_db": snr, "said": said, "spoken_seeds": a.spoken_seeds,
                                 "absent_seeds": a.absent_seeds, "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The benchmark report (scripts in benchmarks/, not timed tests): it renders from the
committed results, and its verdicts follow the targets. No timing is measured here."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # benchmarks/ is a folder of scripts at the top level

from benchmarks.report import TARGETS, _verdict, markdown  # noqa: E402

LATEST = REPO / "benchmarks" / "results" / "latest.json"


@pytest.mark.parametrize("value,target,verdict", [
    (0.41, "<= 0.5", "met"), (0.51, "<= 0.5", "NOT met"), (420.0, ">= 200x", "met"),
    (150.0, ">= 200x", "NOT met"), (None, "<= 2", "n/a"),
])
def test_verdicts_follow_the_targets(value, target, verdict):
    assert _verdict(value, target) == verdict


def test_report_of_the_committed_results_states_each_ratio_and_verdict():
    results = json.loads(LATEST.read_text(encoding="utf-8"))
    report = markdown(results)
    s = results["sections"]
    for key, ratio in (("load", s["load"]["ratio_folder_over_plain"]), ("startup", s["startup"]["ratio"])):
        what, target = TARGETS[key]
        line = next(l for l in report.splitlines() if what in l and l.startswith("|"))
        assert f"{ratio:.3f}" in line and line.rstrip().endswith(f"| {target} | {_verdict(ratio, target)} |")
    # The GPU section says plainly that it did not run where there was no CUDA.
    assert "### 6. GPU" in report
    if not s.get("gpu", {}).get("rows"):
        assert "skipped: no CUDA" in report or "not run" in report

"""benchmarks/diarize.py's figures: medians of repeats, then ratios against the
transcription of the same length and the shortest length of the same diarizer."""
from __future__ import annotations

import pytest

from benchmarks.diarize import medians, ratios


def test_ratios_of_medians():
    runs = [{"kind": "embedding", "audio_min": 1.0, "seconds": s, "peak_rss_gb": 1.0} for s in (2.0, 9.0, 3.0)]
    runs += [{"kind": "transcribe", "audio_min": 1.0, "seconds": s, "peak_rss_gb": 1.5} for s in (30.0, 20.0, 40.0)]
    runs += [{"kind": "embedding", "audio_min": 5.0, "seconds": 15.0, "peak_rss_gb": 1.2},
             {"kind": "embedding", "error": "killed"}]
    rows = {(r["kind"], r["audio_min"]): r for r in ratios(medians(runs))}
    assert set(rows) == {("embedding", 1.0), ("embedding", 5.0)}
    assert rows[("embedding", 1.0)]["diarize_over_transcribe"] == pytest.approx(0.1)  # 3 / 30
    assert "diarize_over_transcribe" not in rows[("embedding", 5.0)]  # no transcription of 5 minutes
    assert rows[("embedding", 5.0)]["peak_rss_vs_shortest"] == pytest.approx(1.2)

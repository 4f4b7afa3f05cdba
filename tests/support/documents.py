"""A real transcript document of real speech, made once per test run.

Speech from the trained model's own recipe (tools/train_tiny/synth.py: espeak-ng words of
new speakers, known word times), transcribed by the CLI with tests/data/digits-tdt.nemo
into JSON and SRT. No mocks: the document the editor and `nemo-desk export` tests work on
is what a user gets. Cached in the process, so several test modules share one run.
"""
from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import truth

_MADE: dict[str, "RealTranscript"] = {}


@dataclass(frozen=True)
class RealTranscript:
    folder: Path  # holds talk.wav, talk.json, talk.srt as the CLI wrote them
    home: Path  # the app home the CLI ran with (its ledger knows talk.json and talk.srt)
    truth: list[tuple[str, float, float]]  # what was said, with exact times

    def copy_to(self, dest: Path) -> Path:
        """A fresh copy of the folder (tests edit their own), returning its talk.json."""
        shutil.copytree(self.folder, dest)
        return dest / "talk.json"


def real_transcript(base: Path) -> RealTranscript:
    if "talk" not in _MADE:
        from nemo_desk import cli
        from nemo_desk.app import build_services
        from tools.train_tiny import synth

        folder, home = base / "talk", base / "home"
        utts = synth.held_out_set(5151, 6, truth.TRAIN_VOICES, n_speakers=2)
        rec = synth.join(utts, [1.2] * (len(utts) - 1), lead_s=0.4)
        wav = truth.write(rec, folder / "talk.wav")
        err = io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("NEMO_DESK_HOME", str(home))
            code = cli.run(["transcribe", str(wav), "--model-path", str(truth.MODEL), "--device", "cpu",
                            "--format", "json,srt"], lambda **kw: build_services(**kw),
                           out=io.StringIO(), err=err)
        assert code == 0, err.getvalue()
        _MADE["talk"] = RealTranscript(folder, home, truth.truth_words(rec))
    return _MADE["talk"]

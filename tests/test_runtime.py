"""A torch that fails part-way through its import: one clear message, no retry, no crash."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import audio
from tests.support.gui_helpers import (  # noqa: F401 (fixtures)
    GUI_MARKS, dialogs_rec, make_window, no_leaks, use_local_model, wait_finished,
)

REPO = Path(__file__).resolve().parents[1]
WINERROR_1114 = ('[WinError 1114] A dynamic link library (DLL) initialization routine failed. '
                 'Error loading "c10.dll" or one of its dependencies.')


def fake_torch(folder: Path) -> Path:
    """A `torch` package whose import fails the way a broken Windows install does."""
    pkg = folder / "torch"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "import os\n"
        "with open(os.environ['FAKE_TORCH_IMPORTS'], 'a') as f:\n"
        "    f.write('import\\n')\n"
        "__version__ = '2.13.0'  # set part-way, like the real package before it loads c10.dll\n"
        f"raise OSError(22, {WINERROR_1114!r})\n", encoding="utf-8")
    return folder


def test_cli_reports_a_broken_torch_once_and_exits_cleanly(tmp_path, tiny_steered):
    files = [audio.make_tone(tmp_path / f"t{i}.wav", 1.0) for i in range(3)]
    count = tmp_path / "imports.txt"
    env = {**os.environ, "NEMO_DESK_HOME": str(tmp_path / "home"), "FAKE_TORCH_IMPORTS": str(count),
           "PYTHONPATH": os.pathsep.join([str(fake_torch(tmp_path / "fake")), str(REPO)])}
    done = subprocess.run([sys.executable, "-m", "nemo_desk", "transcribe", *map(str, files),
                           "--model-path", str(tiny_steered), "--device", "cpu"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, (done.returncode, done.stderr)  # not 139: no crash at exit
    lines = [ln for ln in done.stderr.splitlines() if "could not be loaded" in ln]
    assert len(lines) == 1 and "WinError 1114" in lines[0] and "Visual C++" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert count.read_text().count("import") == 1  # never retried in the same process
    again = subprocess.run([sys.executable, "-m", "nemo_desk", "transcribe", "--resume"], env=env,
                           capture_output=True, text=True, timeout=300)
    # The files were not at fault: they stay queued for when the install is repaired.
    assert again.returncode == 1 and "could not be loaded" in again.stderr


@pytest.mark.qt_log_level_fail("WARNING")
@pytest.mark.qt_log_ignore(*GUI_MARKS[1].args)
def test_window_shows_one_dialog_and_fails_every_queued_row(make_window, qtbot, tiny_steered, tmp_path,
                                                            services, dialogs_rec):
    from nemo_desk.engine.runtime import Runtime

    imports = []

    def broken_import():
        imports.append(1)
        raise OSError(22, WINERROR_1114)

    services.pipeline.runtime = Runtime(broken_import)
    dialogs_rec.answer("show_error", None)
    window = make_window()
    use_local_model(window, tiny_steered)
    window.add_paths([str(audio.make_tone(tmp_path / f"t{i}.wav", 1.0)) for i in range(3)])
    window.start()
    wait_finished(qtbot, window, timeout=60)
    rows = window.queue.rows
    assert [r.state for r in rows] == ["failed"] * 3
    assert len({r.message for r in rows}) == 1 and "WinError 1114" in rows[0].message
    assert len(imports) == 1
    (parent, title, text, detail), = dialogs_rec.called("show_error")
    assert "Visual C++" in text

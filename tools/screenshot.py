"""Screenshot of the main window with a finished queue and the log pane, for review.

Runs the real window, worker and pipeline with the tiny test model on a few generated
files (done, failed, cancelled, one locked output that is retried), then saves a PNG.
Meant to run under Xvfb (tools/screenshot.sh) so fonts and styles are the real ones;
it also works with QT_QPA_PLATFORM=offscreen.

    python tools/screenshot.py [OUT.png]      (default resources/screenshot.png)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MAX_BYTES = 300_000


def tiny_model() -> Path:
    found = sorted(REPO.glob(".test-cache/tiny-models-*/tiny-tdt-steered.nemo"), key=lambda p: p.stat().st_mtime)
    if found:
        return found[-1]
    folder = REPO / ".test-cache" / "screenshot-models"
    model = folder / "tiny-tdt-steered.nemo"
    if not model.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(REPO / "tests" / "support" / "tiny_models.py"), str(folder)],
                       cwd=REPO, check=True, capture_output=True)
    return model


def make_media(folder: Path) -> dict[str, Path]:
    from tests.support import audio

    folder.mkdir(parents=True, exist_ok=True)
    hello = audio.speak("hello and welcome to the interview about offline transcription", folder / "raw1.wav")
    digits = audio.speak("one two three four five six seven eight nine ten", folder / "raw2.wav")
    interview = folder / "Interview Müller 2024-03-12.wav"
    audio.concat_with_pauses([hello, digits, hello], 0.6, interview)
    files = {
        "interview": interview,
        "podcast": audio.make_mp4_with_audio(digits, folder / "podcast episode 12.mp4"),
        "lecture": audio.encode_audio(hello, folder / "lecture notes (draft).mp3"),
        "broken": audio.make_corrupt(folder / "phone recording.m4a"),
        "long": audio.make_tone(folder / "council meeting full.wav", 120),
    }
    for raw in (hello, digits):
        raw.unlink()
    return files


def wait_until(app, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the queue did not finish in time")
        app.processEvents()
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else REPO / "resources" / "screenshot.png"
    work = Path(tempfile.mkdtemp(prefix="nemo_desk-shot-"))
    os.environ["NEMO_DESK_HOME"] = str(work / "home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from PySide6.QtWidgets import QApplication

    from nemo_desk.app import build_services
    from nemo_desk.gui import dialogs
    from nemo_desk.gui.main_window import MainWindow
    from nemo_desk.settings import Settings
    from tests.support.locksim import LockSimulator

    app = QApplication.instance() or QApplication(sys.argv[:1])
    files = make_media(work / "Transcripts")
    model = tiny_model()
    dialogs.show_error = lambda *a, **k: None  # a review picture, not an interactive session
    services = build_services(retry_seconds=3.0)
    window = MainWindow(services, Settings(batch_size=1, chunk_seconds=4.0, formats=["srt", "txt", "vtt"]))
    window.resize(1280, 800)
    window.show()
    window.options.set_local_model(model)
    try:
        with LockSimulator() as sim:
            sim.lock("*/podcast episode 12.srt", ops={"replace"}, times=2)  # a sync client, briefly
            window.add_paths([str(files[k]) for k in ("interview", "podcast", "lecture", "broken", "long")])
            window.start()
            long_row = next(r for r in window.queue.rows if r.job.source == files["long"])
            wait_until(app, lambda: long_row.state == "transcribing" and long_row.fraction > 0.2, 120)
            window.cancel_current()
            wait_until(app, lambda: all(not r.pending for r in window.queue.rows), 120)
        window.view.selectRow(0)
        app.processEvents()
        time.sleep(0.2)
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out), "PNG"):
            print(f"could not save {out}", file=sys.stderr)
            return 1
    finally:
        window.shutdown()
        window.close()
        services.close()
        shutil.rmtree(work, ignore_errors=True)
    if out.stat().st_size > MAX_BYTES:  # keep the repository small: fewer colours
        subprocess.run(["convert", str(out), "-strip", "-colors", "128", f"PNG8:{out}"], check=False)
    print(f"{out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Screenshot of the main window with a finished queue and the log pane, for review.

Runs the real window, worker and pipeline with the tiny test model on a few generated
files (done, failed, cancelled, one locked output that is retried), then saves a PNG.
Meant to run under Xvfb (tools/screenshot.sh) so fonts and styles are the real ones;
it also works with QT_QPA_PLATFORM=offscreen.

    python tools/screenshot.py [OUT.png]      (default resources/screenshot.png)

With NEMO_DESK_SHOT_SET=1 it also saves OUT-running.png (mid-batch) and OUT-failed.png
(the message a double-click on the failed row shows); NEMO_DESK_SHOT_SCHEME=dark uses a
dark palette, and QT_SCALE_FACTOR=1.5 gives the 150 % pictures (tools/screenshot.sh --set).
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


def dark_palette(app) -> None:
    """A dark scheme as Windows 11 and desktops in dark mode give Fusion."""
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, colour in ((roles.Window, "#202020"), (roles.WindowText, "#e6e6e6"), (roles.Base, "#1b1b1b"),
                         (roles.AlternateBase, "#262626"), (roles.Text, "#e6e6e6"), (roles.Button, "#2d2d2d"),
                         (roles.ButtonText, "#e6e6e6"), (roles.Highlight, "#3a6ea5"),
                         (roles.HighlightedText, "#ffffff"), (roles.ToolTipBase, "#2d2d2d"),
                         (roles.ToolTipText, "#e6e6e6"), (roles.PlaceholderText, "#9a9a9a")):
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)


def save(pixmap, out: Path) -> bool:
    out.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(out), "PNG"):
        print(f"could not save {out}", file=sys.stderr)
        return False
    if out.stat().st_size > MAX_BYTES:  # keep the repository small: fewer colours
        subprocess.run(["convert", str(out), "-strip", "-colors", "128", f"PNG8:{out}"], check=False)
    print(f"{out} ({out.stat().st_size // 1024} KB)")
    return True


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
    if os.environ.get("NEMO_DESK_SHOT_SCHEME") == "dark":
        dark_palette(app)
    full_set = os.environ.get("NEMO_DESK_SHOT_SET") == "1"
    files = make_media(work / "Transcripts")
    model = tiny_model()
    shown = []

    def show_error(parent, title, text, detail=""):  # a review picture, not an interactive session
        shown.append((title, text, detail))

    dialogs.show_error = show_error
    services = build_services(retry_seconds=3.0)
    window = MainWindow(services, Settings(batch_size=1, chunk_seconds=4.0, formats=["srt", "txt", "vtt"]))
    from nemo_desk.gui.main_window import DEFAULT_SIZE

    window.resize(DEFAULT_SIZE)
    window.show()
    window.options.set_local_model(model)
    try:
        with LockSimulator() as sim:
            sim.lock("*/podcast episode 12.srt", ops={"replace"}, times=2)  # a sync client, briefly
            window.add_paths([str(files[k]) for k in ("interview", "podcast", "lecture", "broken", "long")])
            window.start()
            long_row = next(r for r in window.queue.rows if r.job.source == files["long"])
            wait_until(app, lambda: long_row.state == "transcribing" and long_row.fraction > 0.2, 120)
            if full_set:
                save(window.grab(), out.with_name(f"{out.stem}-running.png"))
            window.cancel_current()
            wait_until(app, lambda: all(not r.pending for r in window.queue.rows), 120)
        window.view.selectRow(0)
        app.processEvents()
        time.sleep(0.2)
        app.processEvents()
        if not save(window.grab(), out):
            return 1
        if full_set:
            failed = next(r for r in window.queue.rows if r.job.source == files["broken"])
            window.actions_.activate(failed.job.id)  # what a double-click on the row shows
            title, text, detail = shown[-1]
            from PySide6.QtWidgets import QMessageBox

            box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=window)
            box.setDetailedText(detail)
            box.show()
            for _ in range(5):
                app.processEvents()
                time.sleep(0.05)
            save(box.grab(), out.with_name(f"{out.stem}-failed.png"))
    finally:
        window.shutdown()
        window.close()
        services.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

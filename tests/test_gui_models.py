"""The models dialog: listing, a download that fails offline, cancel, import and delete."""
from __future__ import annotations

import time

import pytest

from nemo_desk.core.events import Progress
from nemo_desk.engine.catalog import CATALOG, DIARIZERS
from nemo_desk.engine.store import FOREIGN_MODEL_NOTE
from nemo_desk.gui.models_dialog import ModelsDialog
from tests.support.gui_helpers import GUI_MARKS, dialogs_rec, no_leaks  # noqa: F401 (fixtures)

pytestmark = GUI_MARKS


@pytest.fixture(autouse=True)
def _guards(no_leaks):
    yield


def _dialog(qtbot, services, lines=None) -> ModelsDialog:
    dialog = ModelsDialog(services, log=(lambda level, text: lines.append((level, text))) if lines is not None else None)
    qtbot.addWidget(dialog)  # closed after the test: that cancels and waits for any task
    dialog.show()
    return dialog


def test_lists_catalog_models_not_installed(qtbot, services):
    dialog = _dialog(qtbot, services)
    names = [e.name for e in dialog.entries]
    assert names == [s.name for s in CATALOG] + [f"{s.name} [speakers]" for s in DIARIZERS]
    assert all(not e.installed for e in dialog.entries)
    assert dialog.table.item(0, 3).text() == "not installed"
    assert "GB download" in dialog.table.item(0, 2).text()
    dialog.select(CATALOG[2].name)
    assert dialog.download_button.isEnabled() and not dialog.delete_button.isEnabled()
    assert CATALOG[2].description in dialog.description.text()


def test_download_without_network_shows_a_clear_error(qtbot, services, dialogs_rec, monkeypatch):
    # The test run is offline (HF_HUB_OFFLINE=1 in conftest): the real downloader must say so.
    dialogs_rec.answer("show_error", None)
    dialogs_rec.answer("confirm", True)
    lines: list = []
    dialog = _dialog(qtbot, services, lines)
    dialog.select("Canary 1B")
    dialog.download_button.click()
    (_parent, title, text, _ok), = dialogs_rec.called("confirm")  # asked first: size and place (#19)
    assert title == "Download the model?" and "GB" in text and str(services.store.root) in text
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20_000)
    (_parent, title, message), = dialogs_rec.called("show_error")
    assert title == "Download failed" and "offline" in message and "Canary 1B" in message
    assert ("error", f"Download failed: {message}") in lines
    assert not dialog.progress.isVisible() and dialog.download_button.isEnabled()


def test_download_can_be_cancelled(qtbot, app_home, dialogs_rec):
    from nemo_desk.app import build_services

    def slow_download(spec, dest, observer, cancel):  # a stuck network, reporting some progress
        observer(Progress("downloading", 25, 100, f"downloading {spec.name}"))
        cancel.wait(30)
        cancel.raise_if_cancelled()
        raise AssertionError("not cancelled")

    services = build_services(retry_seconds=2.0, downloader=slow_download)
    dialogs_rec.answer("confirm", True)
    dialog = _dialog(qtbot, services)
    try:
        dialog.select(CATALOG[0].name)
        dialog.download_button.click()
        qtbot.waitUntil(lambda: dialog.progress.value() == 250, timeout=10_000)
        assert dialog.cancel_button.isVisible() and not dialog.download_button.isEnabled()
        asked = time.monotonic()
        dialog.cancel_button.click()
        qtbot.waitUntil(lambda: dialog.task is None, timeout=10_000)
        assert time.monotonic() - asked < 5
        assert "cancelled" in dialog.status.text()
        assert not dialogs_rec.called("show_error")
    finally:
        dialog.close()
        services.close()


def test_import_asks_first_then_delete(qtbot, services, dialogs_rec, tiny_steered):
    dialogs_rec.answer("pick_model_file", str(tiny_steered))
    dialogs_rec.answer("confirm", False)
    dialog = _dialog(qtbot, services)
    dialog.import_button.click()
    (_p, title, text, _ok), = dialogs_rec.called("confirm")
    assert FOREIGN_MODEL_NOTE in text and str(tiny_steered) in text
    assert dialog.task is None and len(dialog.entries) == len(CATALOG) + len(DIARIZERS)  # declined: nothing imported

    dialogs_rec.answer("confirm", True)
    dialog.import_button.click()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=30_000)
    local = [e for e in dialog.entries if e.kind == "local"]
    assert [e.name for e in local] == [tiny_steered.name] and local[0].installed
    folder = local[0].folder
    assert folder.is_dir()

    dialog.select(tiny_steered.name)
    assert dialog.delete_button.isEnabled()
    dialog.delete_button.click()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=30_000)
    assert "Delete model?" in [args[1] for args in dialogs_rec.called("confirm")]
    assert not folder.exists()
    assert [e for e in dialog.entries if e.kind == "local"] == []

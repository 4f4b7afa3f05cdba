"""Diagnosis of the likely holder and the steps shown to the user."""
from __future__ import annotations

import json
import threading
import time

import pytest

from nemo_desk.locks.diagnose import Diagnoser
from tests.support.locksim import sharing_violation

LOCAL = r"C:\Users\Ann\AppData\Local"
APP = {
    "data": LOCAL + r"\nemo_desk",
    "models": LOCAL + r"\nemo_desk\models",
    "cache": LOCAL + r"\nemo_desk\Cache",
    "temp": LOCAL + r"\nemo_desk\Cache\tmp",
}
WIN_ENV = {"USERPROFILE": r"C:\Users\Ann", "LOCALAPPDATA": LOCAL}
TALK = r"C:\Users\Ann\OneDrive\Videos\talk.srt"


def diagnose(path, operation="replace", *, env=None, processes=None, windows=True, **kw):
    lister = None if processes is None else (lambda: list(processes))
    d = Diagnoser(APP, {**WIN_ENV, **(env or {})}, lister, windows=windows, **kw)
    return d(path, operation, sharing_violation(path))


def text(report) -> str:
    return "\n".join(report.steps)


def test_onedrive_from_environment_names_the_folders():
    report = diagnose(TALK, env={"OneDrive": r"C:\Users\Ann\OneDrive"}, processes=["MsMpEng.exe"])
    assert report.holder.kind == "onedrive" and report.holder.name == "OneDrive"
    assert "environment variable OneDrive" in report.holder.evidence
    assert "Pause OneDrive" in report.steps[0] and "Pause syncing" in report.steps[0]
    assert r"the output folder C:\Users\Ann\OneDrive\Videos" in text(report)
    assert r"outside C:\Users\Ann\OneDrive" in text(report)
    assert r"C:\Users\Ann\Transcripts" in text(report)  # a concrete unsynced suggestion
    assert "talk.srt" in text(report) and report.steps[-1].startswith("Then press Retry")
    assert report.path == TALK and report.operation == "replace" and "WinError 32" in report.error


def test_windows_comparison_ignores_case_slashes_and_env_name_case():
    env = {"ONEDRIVECOMMERCIAL": r"C:\Users\Ann\Work Files"}  # keys as a Windows os.environ copy has them
    report = diagnose("c:/users/ann/work files/minutes/talk.srt", env=env)
    assert report.holder.kind == "onedrive" and "OneDriveCommercial" in report.holder.evidence


def test_posix_comparison_is_case_sensitive():
    env = {"OneDrive": "/home/ann/Cloud", "HOME": "/home/ann"}
    assert diagnose("/home/ann/cloud/talk.srt", env=env, windows=False).holder.kind == "unknown"
    assert diagnose("/home/ann/Cloud/talk.srt", env=env, windows=False).holder.kind == "onedrive"


def test_sibling_folder_with_a_common_prefix_is_not_inside():
    report = diagnose(r"C:\Users\Ann\Cloud2\talk.srt", env={"OneDrive": r"C:\Users\Ann\Cloud"})
    assert report.holder.kind == "unknown"


@pytest.mark.parametrize(
    ("path", "kind", "root"),
    [
        (r"C:\Users\Ann\OneDrive - Contoso\Meetings\a.srt", "onedrive", r"C:\Users\Ann\OneDrive - Contoso"),
        (r"C:\Users\Ann\Dropbox\talks\a.srt", "dropbox", r"C:\Users\Ann\Dropbox"),
        (r"D:\Dropbox (Contoso)\a.srt", "dropbox", r"D:\Dropbox (Contoso)"),
        (r"G:\My Drive\talks\a.srt", "google_drive", r"G:\My Drive"),
        (r"G:\Shared drives\Team\a.srt", "google_drive", r"G:\Shared drives"),
        (r"C:\Users\Ann\Google Drive\a.srt", "google_drive", r"C:\Users\Ann\Google Drive"),
        (r"C:\Users\Ann\iCloudDrive\a.srt", "icloud", r"C:\Users\Ann\iCloudDrive"),
    ],
)
def test_sync_folders_by_name(path, kind, root):
    report = diagnose(path, processes=["MsMpEng.exe"])
    assert report.holder.kind == kind
    assert root in report.holder.evidence and root in text(report)


def test_icloud_on_macos_has_no_pause_button():
    path = "/Users/ann/Library/Mobile Documents/com~apple~CloudDocs/a.srt"
    report = diagnose(path, windows=False)
    assert report.holder.kind == "icloud" and "no pause button" in report.steps[0]


def test_dropbox_custom_folder_from_info_json(tmp_path):
    (tmp_path / "Dropbox").mkdir()
    info = {"personal": {"path": r"E:\Sync\Box", "host": 1}, "business": {"path": r"E:\Work"}}
    (tmp_path / "Dropbox" / "info.json").write_text(json.dumps(info))
    report = diagnose(r"e:\work\a.srt", env={"LOCALAPPDATA": str(tmp_path)})
    assert report.holder.kind == "dropbox" and "info.json" in report.holder.evidence


def test_unreadable_dropbox_info_is_ignored(tmp_path):
    (tmp_path / "Dropbox").mkdir()
    (tmp_path / "Dropbox" / "info.json").write_text("{not json")
    assert diagnose(r"E:\Work\a.srt", env={"LOCALAPPDATA": str(tmp_path)}).holder.kind == "unknown"


def test_defender_names_the_app_folders_and_how_to_exclude():
    path = APP["temp"] + r"\run-1-2\tmpx\manifest.json"
    report = diagnose(path, "remove folder", processes=["svchost.exe", "MsMpEng.exe"])
    assert report.holder.kind == "antivirus" and report.holder.name == "Microsoft Defender"
    assert "MsMpEng.exe is running" in report.holder.evidence
    steps = text(report)
    assert APP["data"] in steps and APP["temp"] in steps
    assert "Windows Security > Virus & threat protection > Manage settings > Exclusions" in steps


def test_third_party_antivirus_outranks_defender():
    report = diagnose(r"C:\Users\Ann\Videos\a.srt", processes=["MsMpEng.exe", "AVP.EXE", "SearchIndexer.exe"])
    assert report.holder.name == "Kaspersky"
    assert "MsMpEng.exe" in report.holder.evidence
    assert "Kaspersky's settings" in text(report)


def test_indexer():
    report = diagnose(r"C:\Users\Ann\Videos\a.srt", processes=["searchprotocolhost.exe"])
    assert report.holder.kind == "indexer" and r"C:\Users\Ann\Videos" in text(report)


def test_steps_differ_per_operation():
    procs = ["MsMpEng.exe"]
    output = diagnose(r"C:\Users\Ann\Videos\a.srt", "replace", processes=procs)
    model = diagnose(APP["models"] + r"\parakeet\model_weights.ckpt", "unpack", processes=procs)
    temp = diagnose(APP["temp"] + r"\run-1-2\x", "remove folder", processes=procs)
    assert len({output.steps, model.steps, temp.steps}) == 3
    assert "output folder" in text(output) and "Close programs that may have a.srt open" in text(output)
    assert "model files are large" in text(model)
    assert "temporary folder" in temp.steps[0] and "next start" in temp.steps[0]


def test_input_file_in_a_synced_folder_gets_read_advice():
    report = diagnose(r"C:\Users\Ann\OneDrive\Videos\talk.mp4", "open", env={"OneDrive": r"C:\Users\Ann\OneDrive"})
    assert "still downloading or uploading" in text(report)


def test_app_folder_inside_sync_root_suggests_moving_it():
    app = dict(APP, models=r"C:\Users\Ann\OneDrive\models")
    d = Diagnoser(app, WIN_ENV, None, windows=True)
    report = d(r"C:\Users\Ann\OneDrive\models\m\a.ckpt", "unpack", sharing_violation("x"))
    assert r"model folder C:\Users\Ann\OneDrive\models" in text(report)
    assert LOCAL + r"\nemo_desk" in text(report)


def test_unknown_holder():
    report = diagnose(r"C:\Users\Ann\Videos\a.srt", processes=["explorer.exe"])
    assert report.holder.kind == "unknown" and report.holder.name == "another program"
    # The user's own file: its folder is named, never the app's folders (#19).
    assert "Close programs" in text(report) and r"C:\Users\Ann\Videos" in text(report)
    assert APP["data"] not in text(report)


def test_no_lister_means_no_process_evidence():
    holder = diagnose(r"C:\Users\Ann\Videos\a.srt").holder
    assert holder.kind == "unknown" and "could not be checked" in holder.evidence
    holder = diagnose(r"C:\Users\Ann\Videos\a.srt", processes=[]).holder
    assert holder.kind == "unknown" and "no known scanner" in holder.evidence


def test_input_file_being_scanned():
    report = diagnose(r"C:\Users\Ann\Downloads\talk.mp4", "open", processes=["MsMpEng.exe"])
    assert "just downloaded or copied" in report.steps[0] and "talk.mp4 open" in text(report)


def test_lister_that_raises_still_gives_a_diagnosis():
    def broken():
        raise OSError("tasklist missing")

    report = Diagnoser(APP, WIN_ENV, broken, windows=True)(r"C:\x\a.srt", "replace", sharing_violation("a"))
    assert report.holder.kind == "unknown" and report.steps


def test_lister_that_hangs_is_abandoned_after_the_timeout():
    release = threading.Event()

    def hangs():
        release.wait(10)
        return ["MsMpEng.exe"]

    try:
        d = Diagnoser(APP, WIN_ENV, hangs, windows=True, process_timeout_s=0.2)
        start = time.monotonic()
        report = d(r"C:\x\a.srt", "replace", sharing_violation("a"))
        assert time.monotonic() - start < 1.5
        assert report.holder.kind == "unknown"
    finally:
        release.set()


def test_data_and_temp_named_once_when_they_are_the_same_folder():
    d = Diagnoser({"data": r"C:\nd", "temp": r"c:\ND"}, WIN_ENV, lambda: ["MsMpEng.exe"], windows=True)
    steps = "\n".join(d(r"C:\nd\models\m\a.ckpt", "replace", sharing_violation("a")).steps)
    assert r"C:\nd" in steps and r"c:\ND" not in steps

"""Who most likely holds a locked file, and what the user can do about it.

Called once a lock outlasted the retry budget, to fill the dialog (GUI) or message (CLI).
Evidence, strongest first: the path lies in a synced folder (OneDrive, Dropbox, Google
Drive, iCloud); a known scanner, indexer or sync client is running; otherwise we say
"another program". The steps name the exact folders, because "exclude the app's folder"
is useless advice when the user cannot find that folder.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

from nemo_desk.core.states import FileOp
from nemo_desk.locks.lockerror import RETRY_STEP, Holder, LockReport
from nemo_desk.locks.processes import default_process_lister
from nemo_desk.locks.syncroots import (
    SyncRoot, env_lookup, find_sync_root, is_within, normalize, path_module, running_on_windows,
)

__all__ = ["Diagnoser", "KNOWN_PROCESSES", "default_process_lister"]

ProcessLister = Callable[[], list[str]]
# Image name (lower case) -> (holder kind, human name, rank). Lower rank wins when several
# run: a third-party antivirus usually switches Defender's real-time scan off; a sync
# client only touches its own folder, which the path is not in when we get this far.
KNOWN_PROCESSES: Mapping[str, tuple[str, str, int]] = MappingProxyType({
    "avp.exe": ("antivirus", "Kaspersky", 0), "avpui.exe": ("antivirus", "Kaspersky", 0),
    "bdagent.exe": ("antivirus", "Bitdefender", 0), "bdservicehost.exe": ("antivirus", "Bitdefender", 0),
    "vsserv.exe": ("antivirus", "Bitdefender", 0),
    "avgsvc.exe": ("antivirus", "AVG", 0), "avastsvc.exe": ("antivirus", "Avast", 0),
    "ekrn.exe": ("antivirus", "ESET", 0), "mbamservice.exe": ("antivirus", "Malwarebytes", 0),
    "mcshield.exe": ("antivirus", "McAfee", 0), "mfemms.exe": ("antivirus", "McAfee", 0),
    "nortonsecurity.exe": ("antivirus", "Norton", 0), "ccsvchst.exe": ("antivirus", "Norton / Symantec", 0),
    "savservice.exe": ("antivirus", "Sophos", 0), "sophoshealth.exe": ("antivirus", "Sophos", 0),
    "wrsa.exe": ("antivirus", "Webroot", 0), "psanhost.exe": ("antivirus", "Panda", 0),
    "coreserviceshell.exe": ("antivirus", "Trend Micro", 0),
    "msmpeng.exe": ("antivirus", "Microsoft Defender", 1),
    "mpdefendercoreservice.exe": ("antivirus", "Microsoft Defender", 1),
    "searchindexer.exe": ("indexer", "Windows Search indexer", 2),
    "searchprotocolhost.exe": ("indexer", "Windows Search indexer", 2),
    "onedrive.exe": ("onedrive", "OneDrive", 3), "dropbox.exe": ("dropbox", "Dropbox", 3),
    "googledrivefs.exe": ("google_drive", "Google Drive", 3), "iclouddrive.exe": ("icloud", "iCloud Drive", 3),
})
_APP_FOLDER_LABELS = MappingProxyType({"data": "data", "models": "model", "temp": "temporary", "cache": "cache"})
_PAUSE = MappingProxyType({
    "onedrive": "click the OneDrive cloud icon in the taskbar, then Settings (gear) > Pause syncing > 2 hours",
    "dropbox": "click the Dropbox icon in the taskbar, then your profile picture > Pause syncing",
    "google_drive": "click the Google Drive icon in the taskbar, then Settings (gear) > Pause syncing",
})
_DEFENDER_HOW = ("Windows Security > Virus & threat protection > Manage settings > Exclusions > "
                 "Add or remove exclusions > Add an exclusion > Folder")


class Diagnoser:
    """`(path, operation, exc) -> LockReport`; made once by the composition root.

    `list_processes=None` skips process evidence; pass `default_process_lister` in the app.
    `windows` picks the path rules (default: the running platform)."""

    def __init__(
        self,
        app_folders: Mapping[str, Path | str],
        env: Mapping[str, str] | None = None,
        list_processes: ProcessLister | None = None,
        *,
        windows: bool | None = None,
        process_timeout_s: float = 3.0,
    ) -> None:
        self.app_folders = {k: os.fspath(v) for k, v in app_folders.items()}
        self.env = os.environ if env is None else env
        self.list_processes = list_processes
        self.windows = running_on_windows() if windows is None else windows
        self.process_timeout_s = process_timeout_s

    def __call__(self, path: str, operation: str, exc: BaseException) -> LockReport:
        path = os.fsdecode(path)
        context = self._context(path)
        action = _action(operation)
        sync = find_sync_root(path, self.env, windows=self.windows)
        if sync is not None:
            holder = Holder(sync.service, sync.name, sync.evidence)
            steps = self._sync_steps(sync, path, context, action)
        else:
            holder = self._holder_from_processes()
            steps = self._process_steps(holder, path, context, action)
        return LockReport(path=path, operation=operation, holder=holder, steps=tuple(steps), error=str(exc))

    # -- evidence -----------------------------------------------------------------
    def _context(self, path: str) -> str:
        """The innermost app folder holding `path` ("temp", "models", ...), else "user"."""
        hits = [(len(normalize(f, self.windows)), k) for k, f in self.app_folders.items()
                if f and is_within(path, f, windows=self.windows)]
        return max(hits)[1] if hits else "user"

    def running_processes(self) -> list[str] | None:
        """The lister's answer, or None when there is no lister, it fails, or it takes
        longer than the timeout.

        A daemon thread, not an executor: an executor's worker would be joined at exit,
        so a hung lister could keep the app from closing."""
        lister = self.list_processes
        if lister is None:
            return None
        result: list[list[str]] = []

        def work() -> None:
            try:
                result.append([str(n) for n in lister()])
            except BaseException:
                pass

        worker = threading.Thread(target=work, name="nemo_desk-process-list", daemon=True)
        worker.start()
        worker.join(self.process_timeout_s)
        return result[0] if result else None

    def _holder_from_processes(self) -> Holder:
        names = self.running_processes()
        if names is None:
            return Holder("unknown", "another program", "running programs could not be checked")
        found: dict[tuple[str, str, int], str] = {}  # (kind, human, rank) -> the image seen
        for name in names:
            known = KNOWN_PROCESSES.get(name.lower())
            if known is not None:
                found.setdefault(known, name)
        if not found:
            return Holder("unknown", "another program", "no known scanner or sync program was found running")
        (kind, human, _rank), image = min(found.items(), key=lambda kv: kv[0][2])
        others = sorted({img for info, img in found.items() if info[1] != human})
        evidence = f"{image} is running" + (f"; also running: {', '.join(others)}" if others else "")
        return Holder(kind, human, evidence)

    # -- steps --------------------------------------------------------------------
    def _sync_steps(self, sync: SyncRoot, path: str, context: str, action: str) -> list[str]:
        how = _PAUSE.get(sync.service)
        if how:
            steps = [f"Pause {sync.name} for a while ({how}), or wait until its icon shows the sync is done."]
        else:
            steps = [f"Wait until {sync.name} has finished syncing (its taskbar icon shows no progress); "
                     f"it has no pause button."]
        if context != "user":
            folder = self.app_folders[context]
            steps.append(f"Move the app's {_APP_FOLDER_LABELS.get(context, context)} folder {folder} out of "
                         f"{sync.root} (Settings, or the NEMO_DESK_HOME environment variable), for example to "
                         f"{self._suggest('app')}.")
        elif action == "read":
            steps.append(f"{path} is in {sync.root}. If {sync.name} is still downloading or uploading it, wait "
                         f"until it is done, or copy it to a folder outside {sync.root} and transcribe the copy.")
        else:
            steps.append(f"Save the transcripts outside {sync.root}: the output folder {self._folder(path)} is "
                         f"synced. Choose an output folder that is not synced, for example "
                         f"{self._suggest('output')}.")
        if context == "user":
            steps.append(self._close_programs(path))
        steps.append(RETRY_STEP)
        return steps

    def _process_steps(self, holder: Holder, path: str, context: str, action: str) -> list[str]:
        steps: list[str] = []
        folders = self._exclusion_folders()
        if context == "models":
            steps.append("Wait a minute: freshly unpacked model files are large (gigabytes), and scanning "
                         "them can take a while.")
        elif context == "temp":
            steps.append("This is only a temporary folder: if it cannot be removed now, the app removes it "
                         "at its next start.")
        elif action == "read" and holder.kind == "antivirus":
            steps.append(f"If {path} was just downloaded or copied, wait a minute: {holder.name} may still be "
                         f"scanning it.")
        # The user's own file (a transcript, a recording): advice about that file's folder,
        # not about the app's folders, which have nothing to do with it.
        user_folder = self._folder(path)
        if holder.kind == "antivirus":
            where = _DEFENDER_HOW if holder.name == "Microsoft Defender" else \
                f"{holder.name}'s settings (usually under Exclusions or Exceptions)"
            if context != "user":
                steps.append(f"Exclude the app's folders from real-time scanning: {_join(folders)}. "
                             f"Add each one in {where}.")
            elif action != "read":
                steps.append(f"If this keeps happening with the output folder {user_folder}, exclude it from "
                             f"real-time scanning ({where}), or choose another output folder.")
        elif holder.kind == "indexer":
            targets = [self._folder(path)] if context == "user" else folders
            steps.append("Wait a moment: Windows Search reads new files briefly. To stop it, add "
                         f"{_join(targets)} in Settings > Privacy & security > Searching Windows "
                         "(Windows 10: Settings > Search > Searching Windows) > Add an excluded folder.")
        elif holder.kind in _PAUSE or holder.kind == "icloud":
            steps.append(f"Pause {holder.name} for a while, or wait until its icon shows the sync is done.")
        elif context == "user":
            steps.append(f"If you use antivirus, backup or sync software, pause it for a while, or exclude "
                         f"the folder {user_folder} from its real-time scanning.")
        else:
            steps.append(f"If you use antivirus, backup or sync software, exclude the app's folders "
                         f"{_join(folders)} from its real-time scanning, or pause it for a while "
                         f"(Microsoft Defender: {_DEFENDER_HOW}).")
        if context == "user":
            steps.append(self._close_programs(path))
        else:
            steps.append("Close other copies of this app and any program that may use its folders.")
        steps.append(RETRY_STEP)
        return steps

    def _close_programs(self, path: str) -> str:
        name = path_module(self.windows).basename(normalize(path, self.windows))
        return (f"Close programs that may have {name} open: video players, subtitle or text editors, "
                f"and the File Explorer preview pane.")

    def _exclusion_folders(self) -> list[str]:
        # Data and temp are always named, even when temp lies inside data (the Windows
        # layout): users look for the folder the error shows. Models and cache only when
        # an exclusion above does not already cover them.
        kept = [f for f in (self.app_folders.get("data"), self.app_folders.get("temp")) if f]
        if len(kept) == 2 and is_within(kept[0], kept[1], windows=self.windows) and \
                is_within(kept[1], kept[0], windows=self.windows):  # the same folder
            kept.pop()
        for key in ("models", "cache"):
            folder = self.app_folders.get(key)
            if folder and not any(is_within(folder, k, windows=self.windows) for k in kept):
                kept.append(folder)
        return kept

    def _folder(self, path: str) -> str:
        return path_module(self.windows).dirname(normalize(path, self.windows))

    def _suggest(self, purpose: str) -> str:
        pm = path_module(self.windows)
        if purpose == "app" and self.windows:
            base, leaf = env_lookup(self.env, "LOCALAPPDATA", True), "nemo_desk"
        else:
            base = env_lookup(self.env, "USERPROFILE" if self.windows else "HOME", self.windows)
            leaf = "Transcripts" if purpose == "output" else ".nemo_desk"
        candidate = pm.join(base, leaf) if base else None
        if candidate and find_sync_root(candidate, self.env, windows=self.windows) is None:
            return candidate
        return "a folder that is not synced"


# What each file operation does to the file, which decides the advice.
_ACTIONS: Mapping[str, str] = MappingProxyType({
    FileOp.DELETE: "delete", FileOp.REMOVE_FOLDER: "delete",
    FileOp.REPLACE: "write", FileOp.RENAME: "write", FileOp.OPEN_FOR_WRITING: "write", FileOp.UNPACK: "write",
    FileOp.OPEN: "read", FileOp.LOAD_MODEL: "read",
})


def _action(operation: str) -> str:
    """An operation we do not know is treated as a write: the advice that fits most locks."""
    return _ACTIONS.get(operation, "write")


def _join(items: list[str]) -> str:
    if not items:
        return "the app's data and temporary folders"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

"""One window per user profile: a second launch hands its files to the running window and exits.

Two windows on one profile would both restore the same queue and transcribe the same file
twice, and overwrite each other's settings. The first launch holds a lock file in the
profile's data folder and listens on a local socket (a named pipe on Windows, a Unix socket
elsewhere) named after the user and the profile folder, so two users of one PC, or a test's
private profile, never meet. A later launch that cannot take the lock connects, sends its
files (absolute paths, one JSON line) and exits; the window adds them as if dropped and
comes to the front ("Open with nemo_desk" on five files in Explorer starts five processes).

The lock, not the socket, decides who is first: on Windows a second QLocalServer can listen
on a pipe name already in use, and files opened together start several processes at the
same moment. QLockFile takes over the lock of a crashed window (its process is gone).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

HANDOVER_WAIT_S = 20.0  # a first window still starting up (its server listens once attached)
_IO_TIMEOUT_MS = 3000
_MAX_MESSAGE = 4 * 1024 * 1024  # a few thousand long paths; anything bigger is not ours
_HELLO = "nemo_desk"
LOCK_NAME = "window.lock"


def server_name(profile: str | os.PathLike[str], user: str | None = None, platform: str = sys.platform) -> str:
    """The socket's name for this user and profile folder; short (Unix sockets: ~100 bytes).
    Made before the services start (see below)."""
    if user is None:
        user = os.environ.get("USERNAME") or os.environ.get("USER") or str(getattr(os, "getuid", lambda: 0)())
    key = os.path.normcase(os.path.abspath(os.fspath(profile)))
    digest = hashlib.sha1(f"{user}\0{key}".encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = f"nemo_desk-{re.sub(r'[^A-Za-z0-9]', '', user)[:16]}-{digest}"
    if platform == "win32":
        return name  # a named pipe: one namespace for the whole PC
    # A Unix socket file. Qt would put a bare name in the temp folder of the moment, and the
    # window points TMPDIR at its own temp root once started (which its children, and so a
    # launch from a file manager it opened, inherit): a later launch would look elsewhere. So a
    # folder no TMPDIR moves: the user's runtime folder where there is one, else /tmp.
    folder = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return os.path.join(folder, name)


def _allow_foreground(pid: int, platform: str = sys.platform) -> None:
    """Windows lets only the foreground process bring a window forward: we are it (the user
    just launched us), so we let the first window come to the front with its new files."""
    if platform != "win32":
        return
    try:
        import ctypes

        ctypes.windll.user32.AllowSetForegroundWindow(int(pid))  # type: ignore[attr-defined]
    except (OSError, AttributeError, ValueError):
        pass  # the window still gets the files; it may only flash in the taskbar


def _read_line(socket: QLocalSocket, timeout_ms: int) -> str:
    deadline = time.monotonic() + timeout_ms / 1000
    while not socket.canReadLine():
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0 or not socket.waitForReadyRead(left):
            return ""
    return bytes(socket.readLine().data()).decode("utf-8", "replace").strip()


def hand_over(
    name: str,
    files: Sequence[str],
    timeout_ms: int = _IO_TIMEOUT_MS,
    allow_foreground: Callable[[int], None] = _allow_foreground,
) -> bool:
    """Send `files` to the window listening on `name`. True once it said it has them."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    try:
        if not socket.waitForConnected(timeout_ms):
            return False
        hello = _read_line(socket, timeout_ms).split()
        if len(hello) != 2 or hello[0] != _HELLO or not hello[1].isdigit():
            return False  # something else listens on that name
        allow_foreground(int(hello[1]))
        socket.write(json.dumps({"files": [os.path.abspath(f) for f in files]}).encode("utf-8") + b"\n")
        socket.waitForBytesWritten(timeout_ms)
        return _read_line(socket, timeout_ms) == "ok"
    finally:
        socket.abort()


class InstanceServer(QObject):
    """The first window's end: says hello (its pid), reads one line of files, answers ok."""

    files_received = Signal(list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user only
        self._server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        if self._server.listen(self.name):
            return True
        # A crashed window's socket file (Unix): we hold the lock, so nobody else owns it.
        QLocalServer.removeServer(self.name)
        return self._server.listen(self.name)

    def close(self) -> None:
        self._server.close()

    def error_text(self) -> str:
        return self._server.errorString()

    def _accept(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.setParent(self)
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)
            socket.write(f"{_HELLO} {os.getpid()}\n".encode("ascii"))
            socket.flush()

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            if socket.bytesAvailable() > _MAX_MESSAGE:
                socket.abort()
            return
        try:
            files = [str(f) for f in json.loads(bytes(socket.readLine().data()))["files"]]
        except (ValueError, KeyError, TypeError):
            socket.abort()
            return
        socket.write(b"ok\n")
        socket.flush()
        self.files_received.emit(files)


class SingleInstance:
    """claim() first; then either hand_over() and exit, or serve() once the window is up."""

    def __init__(self, profile: str | os.PathLike[str], user: str | None = None) -> None:
        self.profile = Path(profile)
        self.name = server_name(profile, user)
        self._lock = QLockFile(str(self.profile / LOCK_NAME))
        self._lock.setStaleLockTime(0)  # never stale by age: only when its process is gone
        self.server: InstanceServer | None = None
        self.notes: list[str] = []  # for the window's log

    @property
    def holds_lock(self) -> bool:
        return self._lock.isLocked()

    def claim(self) -> bool:
        """True: no other window runs on this profile (or it cannot be known: run anyway)."""
        try:
            self.profile.mkdir(parents=True, exist_ok=True)
        except OSError:
            return True
        if self._lock.tryLock(0):
            return True
        return self._lock.error() != QLockFile.LockError.LockFailedError  # unwritable folder: run

    def hand_over(self, files: Sequence[str], wait_s: float = HANDOVER_WAIT_S) -> bool:
        """Give `files` to the first window, waiting for it to listen. False when it never
        answered, or went away meanwhile (then this launch holds the lock and goes on)."""
        deadline = time.monotonic() + wait_s
        while True:
            if hand_over(self.name, files):
                return True
            if self._lock.tryLock(0) or time.monotonic() > deadline:
                return False
            time.sleep(0.2)

    def serve(self, on_files: Callable[[list], None]) -> bool:
        self.server = InstanceServer(self.name)
        self.server.files_received.connect(on_files)
        if self.server.listen():
            return True
        self.notes.append(
            f"Could not listen for later launches ({self.server.error_text()}); opening a file "
            "with nemo_desk now starts a second window"
        )
        return False

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        self._lock.unlock()


def receive_into(window) -> Callable[[list], None]:
    """What the first window does with a later launch's files: add them (a running queue
    takes them in), and come to the front."""

    def receive(files: list) -> None:
        if files:
            window.log("info", f"Opened from another launch: {len(files)} file(s)")
            window.add_paths(files)
        if window.isMinimized():
            window.showNormal()
        window.raise_()
        window.activateWindow()

    return receive


# Qt's own options that take a value (QApplication removes them; they are not files).
_QT_VALUE_OPTIONS = frozenset(
    {
        "-platform",
        "-platformpluginpath",
        "-platformtheme",
        "-plugin",
        "-style",
        "-stylesheet",
        "-qwindowgeometry",
        "-qwindowtitle",
        "-qwindowicon",
        "-display",
        "-session",
        "-geometry",
        "-title",
        "-name",
    }
)


def launch_files(args: Sequence[str]) -> list[str]:
    """The files on the command line ("Open with", a drop on the program's icon)."""
    files: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in _QT_VALUE_OPTIONS
        else:
            files.append(arg)
    return files


def first_or_hand_over(
    profile: str | os.PathLike[str], args: Sequence[str], say: Callable[[str], None] = print
) -> SingleInstance | None:
    """This launch's SingleInstance if it is the first window; None once its files went to
    the window already running (then this process exits)."""
    instance = SingleInstance(profile)
    if instance.claim():
        return instance
    files = launch_files(args)
    if instance.hand_over(files):
        say(f"nemo_desk: handed {len(files)} file(s) to the nemo_desk window already running")
        return None
    if not instance.holds_lock:
        instance.notes.append(
            "Another nemo_desk window is running on this profile but did not answer; this "
            "one runs beside it (each leaves the other's unfinished files alone)"
        )
    return instance

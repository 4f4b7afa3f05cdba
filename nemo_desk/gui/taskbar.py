"""The batch's progress on the taskbar button (Windows) and in the window title (everywhere).

Qt 6 dropped QWinTaskbarProgress, so the button is driven by hand: ITaskbarList3 is made
with CoCreateInstance and called through its vtable with ctypes (no comtypes, no pywin32).
Anywhere else, or when COM refuses, the button part is a no-op; the title still shows it.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Callable

# {56FDF344-FD6D-11d0-958A-006097C9A090} and {EA1AFB91-9E28-4B86-90E9-9E9F8A5EEFAF}
CLSID_TASKBAR_LIST = "{56FDF344-FD6D-11D0-958A-006097C9A090}"
IID_ITASKBAR_LIST3 = "{EA1AFB91-9E28-4B86-90E9-9E9F8A5EEFAF}"
CLSCTX_INPROC_SERVER = 1
# ITaskbarList3's vtable: IUnknown (0-2), ITaskbarList (3-7), ITaskbarList2 (8), then ours.
HR_INIT, SET_PROGRESS_VALUE, SET_PROGRESS_STATE = 3, 9, 10
RELEASE = 2
TBPF_NOPROGRESS, TBPF_NORMAL, TBPF_ERROR = 0x0, 0x2, 0x4
STEPS = 1000

# COM methods are stdcall on 32-bit Windows (WINFUNCTYPE); the same as cdecl on x64.
_FUNCTYPE = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)
CoCreate = Callable[[str, str], ctypes.c_void_p]


class GUID(ctypes.Structure):
    _fields_ = [
        ("Data1", ctypes.c_uint32),
        ("Data2", ctypes.c_uint16),
        ("Data3", ctypes.c_uint16),
        ("Data4", ctypes.c_ubyte * 8),
    ]

    @classmethod
    def parse(cls, text: str) -> "GUID":
        h = text.strip("{}").replace("-", "")
        return cls(int(h[:8], 16), int(h[8:12], 16), int(h[12:16], 16), (ctypes.c_ubyte * 8)(*bytes.fromhex(h[16:])))


def _co_create_windows(clsid: str, iid: str) -> ctypes.c_void_p:
    ole32 = ctypes.windll.ole32  # type: ignore[attr-defined]
    ole32.CoInitialize(None)  # Qt's GUI thread is already an STA: this only adds a reference
    pointer = ctypes.c_void_p()
    hr = ole32.CoCreateInstance(
        ctypes.byref(GUID.parse(clsid)),
        None,
        CLSCTX_INPROC_SERVER,
        ctypes.byref(GUID.parse(iid)),
        ctypes.byref(pointer),
    )
    if hr != 0 or not pointer.value:
        raise OSError(f"CoCreateInstance(TaskbarList) failed: 0x{hr & 0xFFFFFFFF:08X}")
    return pointer


class TaskbarButton:
    """Progress on one window's taskbar button. `co_create` makes the COM object (the real
    one on Windows; tests pass one built in memory to check the calls)."""

    def __init__(self, hwnd: int, co_create: CoCreate | None = None, platform: str = sys.platform) -> None:
        self.hwnd = hwnd
        self._this: ctypes.c_void_p | None = None
        self.error = ""
        if platform != "win32":
            return
        try:
            self._this = (co_create or _co_create_windows)(CLSID_TASKBAR_LIST, IID_ITASKBAR_LIST3)
            self._call(HR_INIT, [])
        except (OSError, AttributeError, ValueError) as exc:  # no shell (a server core): no button
            self._this, self.error = None, str(exc)

    @property
    def active(self) -> bool:
        return self._this is not None

    def _call(self, index: int, args: list[tuple[type, object]]) -> int:
        assert self._this is not None
        vtable = ctypes.cast(
            ctypes.cast(self._this, ctypes.POINTER(ctypes.c_void_p))[0], ctypes.POINTER(ctypes.c_void_p)
        )
        proto = _FUNCTYPE(ctypes.c_long, ctypes.c_void_p, *(t for t, _ in args))
        return int(proto(vtable[index])(self._this, *(v for _, v in args)))

    def set_progress(self, fraction: float | None, failed: bool = False) -> None:
        """`fraction` 0..1 shows the bar (red when `failed`); None removes it."""
        if self._this is None:
            return
        hwnd = (ctypes.c_void_p, ctypes.c_void_p(self.hwnd))
        if fraction is None:
            self._call(SET_PROGRESS_STATE, [hwnd, (ctypes.c_int, TBPF_NOPROGRESS)])
            return
        self._call(SET_PROGRESS_STATE, [hwnd, (ctypes.c_int, TBPF_ERROR if failed else TBPF_NORMAL)])
        done = int(round(min(1.0, max(0.0, fraction)) * STEPS))
        self._call(SET_PROGRESS_VALUE, [hwnd, (ctypes.c_uint64, done), (ctypes.c_uint64, STEPS)])

    def close(self) -> None:
        if self._this is not None:
            self.set_progress(None)
            self._call(RELEASE, [])
            self._this = None


def title_for(base: str, overall: tuple[int, int, float] | None) -> str:
    """The window title: the batch's progress first, so it shows in the taskbar and Alt+Tab."""
    if overall is None:
        return base
    done, total, fraction = overall
    return f"{int(fraction * 100)} % ({done} of {total} done) — {base}"

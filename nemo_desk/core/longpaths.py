"""Paths longer than Windows' MAX_PATH (260 characters).

Unless a machine has long paths switched on (a registry setting most do not have), Win32
file calls fail on longer paths, and our own temporary file next to an output adds about
30 characters to an already long name: a transcript of a file deep in a project folder
would fail to save. The `\\\\?\\` prefix lifts the limit for every Win32 file call, but it
also switches off Windows' path clean-up, so the path given with it must be absolute,
normalised and use backslashes; a UNC path `\\\\server\\share\\...` becomes
`\\\\?\\UNC\\server\\share\\...`.

Only the strings handed to the OS get the prefix: messages, the output ledger and the
journal keep the path as the user knows it.
"""
from __future__ import annotations

import ntpath
import os
import sys

# Folders are limited to 248 characters (room for an 8.3 name), files to 259; prefix
# well before either, so a temporary name added later still fits.
PREFIX_FROM = 240
_PREFIX = "\\\\?\\"


def long_path(path: str | os.PathLike[str], platform: str | None = None) -> str:
    """`path` as a string the OS accepts at any length (unchanged off Windows or when short)."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if (platform or sys.platform) != "win32" or len(text) < PREFIX_FROM or text.startswith(_PREFIX):
        return text
    full = ntpath.abspath(text)  # GetFullPathNameW on Windows: drive-relative and '..' resolved
    if full.startswith("\\\\"):  # \\server\share\... (UNC)
        return _PREFIX + "UNC\\" + full[2:]
    return _PREFIX + full


def printable(text: str) -> str:
    """`text` as valid Unicode: a Linux file name that is not valid UTF-8 keeps its bytes as
    lone surrogates, which no UTF-8 file, JSON document or database can hold. For what
    people read (a transcript's source, a journal's display column), never to open a file."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

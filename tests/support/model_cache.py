"""Tiny test models are built once per machine and cached under .test-cache/.

The cache key hashes the builder scripts and the NeMo version, so a change to either
rebuilds. Building runs in a subprocess: NeMo's global state (AppState) stays out of the
test process.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("NEMO_DESK_TEST_CACHE", REPO / ".test-cache"))
SUPPORT = REPO / "tests" / "support"


def cached_build(prefix: str, script: str, outputs: list[str], key_files: list[str]) -> Path:
    """Folder holding `outputs`, made by `python tests/support/<script> FOLDER` if missing."""
    blob = b"".join((SUPPORT / f).read_bytes() for f in key_files) + version("nemo_toolkit").encode()
    folder = CACHE / f"{prefix}-{hashlib.sha256(blob).hexdigest()[:12]}"
    if not all((folder / name).is_file() for name in outputs):
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, str(SUPPORT / script), str(folder)],
                              cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
    return folder

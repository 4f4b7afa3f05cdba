"""The linter and the type checker run with the tests: zero findings over nemo_desk/.

Their settings live in pyproject.toml ([tool.ruff], [tool.mypy]) with the reasons.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess:
    exe = BIN / tool
    if not exe.exists():
        pytest.fail(f"{tool} is not installed: install the dev extra (pip install -e .[dev])")
    return subprocess.run([str(exe), *args], cwd=REPO, capture_output=True, text=True, timeout=900)


def test_ruff_finds_nothing():
    done = run("ruff", "check", "nemo_desk")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing():
    done = run("mypy")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_checks_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef f(x: int) -> str:\n    return x\n", encoding="utf-8")
    assert run("ruff", "check", "--no-cache", str(bad)).returncode != 0  # unused import
    assert run("mypy", "--no-incremental", str(bad)).returncode != 0  # wrong return type

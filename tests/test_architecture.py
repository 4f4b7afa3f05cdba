"""The house rules, enforced: only the GUI imports Qt, torch/NeMo load lazily, small modules."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "nemo_desk"
QT = ("PySide6", "shiboken6", "PyQt5", "PyQt6")
HEAVY = ("torch", "nemo", "lightning", "pytorch_lightning", "huggingface_hub", "omegaconf")


def modules():
    return sorted(p for p in PKG.rglob("*.py"))


def benchmark_modules():
    return sorted((PKG.parent / "benchmarks").glob("*.py"))


def imported_names(tree: ast.AST, top_level_only: bool) -> list[tuple[str, int]]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
        elif top_level_only and isinstance(node, (ast.If, ast.Try)):  # imports under if/try at top level
            found += imported_names(ast.Module(body=node.body, type_ignores=[]), True)
    return found


def test_import_linter_contracts():
    exe = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(exe)], cwd=PKG.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_only_gui_imports_qt(path):
    if "gui" in path.relative_to(PKG).parts:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [(n, ln) for n, ln in imported_names(tree, False) if n.split(".")[0] in QT]
    assert not bad, f"{path.name} imports Qt: {bad}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_torch_and_nemo_are_imported_lazily(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [(n, ln) for n, ln in imported_names(tree, True) if n.split(".")[0] in HEAVY]
    assert not bad, f"{path.name} imports {bad} at module level; import inside the function that needs it"


@pytest.mark.parametrize("path", modules() + benchmark_modules(), ids=lambda p: str(p.relative_to(PKG.parent)))
def test_modules_stay_small(path):
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= 420, f"{path.name} has {lines} lines; split it by what it does"


def test_startup_imports_no_heavy_package():
    # numpy too: the window must appear as fast as a bare Qt window can.
    code = ("import sys, nemo_desk.app, nemo_desk.cli, nemo_desk.gui.launch, nemo_desk.gui.main_window;"
            f"print(sorted(m for m in {HEAVY + ('numpy',)!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# What the services need, imported only after the window's first paint (gui/launch.py).
AFTER_FIRST_PAINT = ("nemo_desk.engine.store", "nemo_desk.engine.pipeline", "nemo_desk.engine.journal",
                     "nemo_desk.engine.models", "nemo_desk.export.writer", "tenacity", "sqlite3", "tarfile",
                     "logging.handlers", "subprocess", "hashlib", "multiprocessing")


def test_the_path_to_the_first_window_leaves_the_services_for_later(tmp_path):
    def loaded_after(statement: str) -> list[str]:
        code = (f"import sys, nemo_desk.app, nemo_desk.gui.launch, nemo_desk.gui.main_window; {statement};"
                f"print(sorted(m for m in {AFTER_FIRST_PAINT!r} if m in sys.modules))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "NEMO_DESK_HOME": str(tmp_path)})
        assert done.returncode == 0, done.stderr
        return ast.literal_eval(done.stdout.strip().splitlines()[-1])

    assert loaded_after("pass") == []
    # The control: building the services does import them (so the check can see them).
    assert {"nemo_desk.engine.store", "nemo_desk.engine.journal", "sqlite3", "logging.handlers"} <= set(
        loaded_after("nemo_desk.app.build_services().close()"))


def test_the_checks_can_fail(tmp_path):
    """The AST scan does see a module-level Qt/torch import (guards against a blind test)."""
    tree = ast.parse("import os\ntry:\n    import torch\nexcept ImportError:\n    pass\nfrom PySide6 import QtCore\n")
    names = [n for n, _ in imported_names(tree, True)]
    assert "torch" in names and "PySide6" in names


def test_media_exports_the_functions_even_after_their_modules_load():
    import nemo_desk.media as media
    import nemo_desk.media.decoding  # noqa: F401  (a submodule import must not shadow the function)

    assert callable(media.decode) and callable(media.probe)

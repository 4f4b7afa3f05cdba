"""The Windows bundle's CUDA choices agree with each other and with torch 2.13 itself."""
from __future__ import annotations

import re
from pathlib import Path

import torch.cuda

REPO = Path(__file__).resolve().parents[1]


def _workflow_cuda() -> str:
    text = (REPO / ".github" / "workflows" / "windows-build.yml").read_text(encoding="utf-8")
    m = re.search(r"TORCH_INDEX: https://download\.pytorch\.org/whl/cu(\d+)(\d)\b", text)
    assert m, "windows-build.yml names no CUDA index"
    return f"{m.group(1)}.{m.group(2)}"


def test_the_windows_build_uses_a_cuda_build_torch_publishes():
    cuda = _workflow_cuda()
    assert cuda in torch.cuda.PYTORCH_RELEASES_CODE_CC, (cuda, sorted(torch.cuda.PYTORCH_RELEASES_CODE_CC))
    # It covers Turing (7.5) to Blackwell (12.0), and an RTX 40 runs its kernels.
    built = torch.cuda.PYTORCH_RELEASES_CODE_CC[cuda]["x86_64"]
    from nemo_desk.engine.device import code_runs_on

    for card in (75, 86, 89, 120):
        assert any(code_runs_on(card, cc) for cc in built), card


def test_cuda_bindings_are_pinned_to_the_builds_cuda_major():
    constraints = (REPO / "tools" / "constraints.txt").read_text(encoding="utf-8")
    m = re.search(r"^cuda-bindings>=(\d+)\.(\d+),<(\d+)\s*$", constraints, re.M)
    assert m, "tools/constraints.txt must pin cuda-bindings to one CUDA major"
    major, minor = _workflow_cuda().split(".")
    assert m.group(1) == major and int(m.group(3)) == int(major) + 1
    assert int(m.group(2)) <= int(minor)


def test_the_bundle_collects_what_cuda_bindings_imports_at_run_time():
    spec = (REPO / "build_exe.spec").read_text(encoding="utf-8")
    for package in ("cuda.bindings", "cuda.pathfinder"):
        assert f'collect_submodules("{package}")' in spec, package

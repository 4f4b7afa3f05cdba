"""`nemo-desk --self-test`: is this installation (or unpacked folder) able to work?

    nemo-desk-cli --self-test [--device auto|cpu|cuda] [--model ID | --model-path X.nemo] [FILE]

Checks, in this order (the app folders and the temp root first, so that NeMo's import
already writes into the app's own folders, as in a real run):

1. the app folders (data, models, cache, logs, temp) are writable: a file is written and
   deleted in each through the app's FileOps (the same retry policy as real work);
2. ffmpeg runs (its version line, and which binary: the bundled one or an override);
3. NeMo imports (timed: 7-11 s frozen is normal);
4. the device the app would use (the same preflight as a job);
5. only with a model and FILE: the model loads and transcribes FILE (outputs go to the
   run's temp folder and are deleted at exit).

Prints one line per check and a verdict; exits 0 when every check passed, 1 otherwise.
The report goes to the log file too.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence, TextIO

FLAG = "--self-test"
_PROBE = b"nemo_desk self-test\n"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    text: str

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name}: {self.text}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"nemo-desk {FLAG}", description="Check that this installation works.")
    p.add_argument("file", nargs="?", type=Path, help="also transcribe this file (needs a model)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", help="an installed catalog model to load")
    which.add_argument("--model-path", type=Path, help="a local .nemo file to load")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    return p


def _check_folders(services) -> list[Check]:
    folders = {**services.paths.folders(), "temp": services.temp_root.run_dir}
    checks = []
    for role, folder in folders.items():
        probe = Path(folder) / f"self-test-{os.getpid()}.tmp"
        try:
            with services.fileops.open(probe, "wb") as f:
                f.write(_PROBE)
            with services.fileops.open(probe, "rb") as f:
                if f.read() != _PROBE:
                    raise OSError("what was written did not read back")
            services.fileops.unlink(probe, missing_ok=False)
            checks.append(Check(f"{role} folder", True, f"writable ({folder})"))
        except Exception as exc:
            checks.append(Check(f"{role} folder", False, f"cannot write and delete a file in {folder}: {_one_line(exc)}"))
    return checks


def _check_ffmpeg(env: Mapping[str, str]) -> Check:
    from nemo_desk.media import Ffmpeg

    try:
        ffmpeg = Ffmpeg.locate(env)
        version = ffmpeg.check()
    except Exception as exc:
        return Check("ffmpeg", False, _one_line(exc))
    return Check("ffmpeg", True, f"{version} ({ffmpeg.exe})")


def _check_nemo() -> Check:
    from nemo_desk.engine.loader import import_nemo_asr

    started = time.perf_counter()
    try:
        import_nemo_asr()
        import nemo
        import torch
    except (Exception, SystemExit) as exc:  # a broken bundle can raise odd things (SystemExit from a hook)
        return Check("NeMo", False, f"import failed after {time.perf_counter() - started:.1f} s: {_one_line(exc)}")
    elapsed = time.perf_counter() - started
    return Check("NeMo", True, f"imported in {elapsed:.1f} s (nemo {nemo.__version__}, torch {torch.__version__})")


def _check_device(requested: str) -> Check:
    from nemo_desk.engine.device import preflight

    try:
        return Check("device", True, preflight(requested).summary())
    except Exception as exc:
        return Check("device", False, _one_line(exc))


def _check_gpu_decoder() -> Check:
    """cuda-bindings runs the TDT decoder's CUDA graphs. A bundle that lacks it, or lacks
    cuda.pathfinder (which it imports at run time, out of PyInstaller's sight), decodes
    slower on every GPU without saying why: this check fails for that packaging bug."""
    try:
        import cuda.bindings
        import cuda.pathfinder
        from cuda.bindings import driver  # noqa: F401
    except Exception as exc:
        return Check("GPU decoder", False, f"cuda-bindings cannot be loaded ({_one_line(exc)}); decoding on a "
                                           f"GPU will be slower; reinstall the app")
    version = getattr(cuda.bindings, "__version__", "?")
    try:
        from nemo.core.utils.cuda_python_utils import check_cuda_python_cuda_graphs_conditional_nodes_supported

        check_cuda_python_cuda_graphs_conditional_nodes_supported()
    except Exception as exc:  # no GPU, or a driver older than the bindings: slower, not broken
        return Check("GPU decoder", True, f"cuda-bindings {version}; full CUDA graphs not available here "
                                          f"({_one_line(exc)})")
    return Check("GPU decoder", True, f"full CUDA graphs (cuda-bindings {version})")


def _check_transcribe(services, args: argparse.Namespace) -> Check:
    from nemo_desk.core.states import JobState
    from nemo_desk.engine.models import ModelRef
    from nemo_desk.engine.pipeline import Job

    ref = (ModelRef(path=args.model_path, device=args.device) if args.model_path
           else ModelRef(model_id=args.model, device=args.device))
    out_dir = services.temp_root.run_dir / "self-test"
    job = Job(source=args.file, model=ref, formats=("srt",), output_dir=out_dir, overwrite=True)
    try:
        result = services.pipeline.run(job, None, services.observer(lambda event: None))
    except Exception as exc:
        return Check("transcribe", False, _one_line(exc))
    if result.status != JobState.DONE:
        reason = result.failure.message if result.failure else result.status
        if result.failure is not None and result.failure.detail:
            services.log_detail(result.failure.detail)
        return Check("transcribe", False, f"{args.file.name}: {reason}")
    srt = next((o.path for o in result.outputs if o.format == "srt"), None)
    cues = Path(srt).read_text(encoding="utf-8").count(" --> ") if srt else 0
    transcript = result.transcript
    words = transcript.text.split() if transcript else []
    duration = transcript.duration if transcript else 0.0
    excerpt = " ".join(words[:8]) + (" ..." if len(words) > 8 else "")
    text = (f"{args.file.name}: {duration:.1f} s of audio in {result.elapsed:.1f} s, {len(words)} words, "
            f"{cues} subtitle cues: \"{excerpt}\"")
    return Check("transcribe", bool(words) and cues > 0, text if words else text + " (no words: expected speech)")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def header() -> str:
    from nemo_desk import __version__
    from nemo_desk.frozen import is_frozen

    how = "frozen build" if is_frozen() else "from source"
    return (f"nemo_desk {__version__} self-test ({how}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()})")


def run_self_test(argv: Sequence[str], services_factory: Callable, out: TextIO | None = None,
                  env: Mapping[str, str] | None = None) -> int:
    out = sys.stdout if out is None else out
    env = os.environ if env is None else env
    args = build_parser().parse_args([a for a in argv if a != FLAG])
    if args.file is not None and not (args.model or args.model_path):
        build_parser().error("transcribing FILE needs --model ID or --model-path X.nemo")

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    say(header())
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        say("  " + check.line())

    try:
        services = services_factory()
    except Exception as exc:
        report(Check("app folders", False, f"cannot set up the app's folders: {_one_line(exc)}"))
        say(traceback.format_exc().rstrip())
        say("self-test FAILED")
        return 1
    try:
        for check in _check_folders(services):
            report(check)
        report(_check_ffmpeg(env))
        report(_check_nemo())
        report(_check_device(args.device))
        report(_check_gpu_decoder())
        if args.file is not None:
            report(_check_transcribe(services, args))
        failed = [c for c in checks if not c.ok]
        verdict = (f"self-test FAILED: {len(failed)} of {len(checks)} checks failed "
                   f"({', '.join(c.name for c in failed)})" if failed
                   else f"self-test passed ({len(checks)} checks)")
        say(verdict)
        services.logger.info("%s\n%s\n%s", header(), "\n".join(c.line() for c in checks), verdict)
        return 1 if failed else 0
    finally:
        services.close()

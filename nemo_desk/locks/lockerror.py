"""The error a user sees when a file stayed locked through the whole retry budget."""
from __future__ import annotations

from dataclasses import dataclass, field

from nemo_desk.core.errors import NemoDeskError


# The last step of every diagnosis; the window's dialog leaves it out (it says "then press
# Retry" itself, and has no command to run again).
RETRY_STEP = "Then press Retry (or run the command again)."


@dataclass(frozen=True)
class Holder:
    """Who most likely holds the file, and the evidence for saying so."""

    kind: str  # "onedrive", "dropbox", "google_drive", "icloud", "antivirus", "indexer", "program", "unknown"
    name: str  # human name: "OneDrive", "Microsoft Defender", "another program"
    evidence: str = ""


@dataclass(frozen=True)
class LockReport:
    path: str
    operation: str
    holder: Holder
    steps: tuple[str, ...] = field(default_factory=tuple)
    error: str = ""


class LockError(NemoDeskError):
    def __init__(self, report: LockReport) -> None:
        self.report = report
        super().__init__(
            f"{report.path} is in use by another process ({report.operation} failed); "
            f"likely holder: {report.holder.name}"
        )

    @property
    def path(self) -> str:
        return self.report.path

    @property
    def operation(self) -> str:
        return self.report.operation

    @property
    def holder(self) -> Holder:
        return self.report.holder

    @property
    def steps(self) -> tuple[str, ...]:
        return self.report.steps

    @property
    def user_message(self) -> str:
        r = self.report
        lines = [
            f"The file is in use by another process and stayed locked: {r.path}",
            f"Operation: {r.operation}",
            f"Likely holder: {r.holder.name}" + (f" ({r.holder.evidence})" if r.holder.evidence else ""),
            "What to do:",
        ]
        lines += [f"  {i}. {step}" for i, step in enumerate(r.steps, 1)]
        return "\n".join(lines)

"""Findings: what cpualloc reports about an input, as data (never printed by the core)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing worth telling the user, pointing at a file and line where there is one."""

    rule: str  # stable id, e.g. "config.out-of-range", "sparc64.image-8mib"
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    symbol: str | None = None
    hint: str | None = None

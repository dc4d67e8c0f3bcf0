"""What changed between two kernel images: bloat-o-meter's per-symbol view, section and
Berkeley deltas, deltas grouped by kind, and budget verdicts (`cpualloc diff`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cpualloc_cli.model.image import BerkeleyTotals


class Kind(StrEnum):
    """Where a byte lives, as far as limits care: only some kinds count against each limit."""

    TEXT = "text"
    DATA = "data"
    RODATA = "rodata"
    BSS = "bss"
    PERCPU = "percpu"  # .data..percpu: one copy per CPU at run time
    INIT = "init"  # between __init_begin and __init_end: freed after boot
    OTHER = "other"  # not allocated, or not classified
    MIXED = "mixed"  # a folded bloat-o-meter name whose members live in several kinds


@dataclass(frozen=True, slots=True)
class NmSymbol:
    """One line of `nm --size-sort`: a sized symbol with GNU nm's type letter."""

    name: str
    size_bytes: int
    nm_type: str
    kind: Kind = Kind.OTHER


@dataclass(frozen=True, slots=True)
class SymbolDelta:
    """One row of bloat-o-meter: a (folded) name, its old and new size (None: absent)."""

    name: str
    old_bytes: int | None
    new_bytes: int | None
    kind: Kind = Kind.OTHER

    @property
    def delta_bytes(self) -> int:
        return (self.new_bytes or 0) - (self.old_bytes or 0)

    @property
    def status(self) -> str:
        if self.old_bytes is None:
            return "added"
        if self.new_bytes is None:
            return "removed"
        d = self.delta_bytes
        return "grown" if d > 0 else "shrunk" if d < 0 else "same"


@dataclass(frozen=True, slots=True)
class BloatSummary:
    """bloat-o-meter's first and last lines:
    `add/remove: A/R grow/shrink: G/S up/down: U/-D (NET)` and `Total: Before=, After=, chg`."""

    added: int
    removed: int
    grown: int
    shrunk: int
    up_bytes: int
    down_bytes: int  # positive; bloat-o-meter prints it negated
    old_total_bytes: int
    new_total_bytes: int

    @property
    def net_bytes(self) -> int:
        return self.up_bytes - self.down_bytes

    @property
    def change_percent(self) -> float:
        if not self.old_total_bytes:
            return 0.0
        return (self.new_total_bytes - self.old_total_bytes) * 100.0 / self.old_total_bytes


@dataclass(frozen=True, slots=True)
class BloatResult:
    """One bloat-o-meter table: `label` ("Function", "Data", "RO Data"), the nm letters it
    counts, the summary, and every nonzero delta in bloat-o-meter's order."""

    label: str
    nm_types: str
    summary: BloatSummary
    deltas: tuple[SymbolDelta, ...]


@dataclass(frozen=True, slots=True)
class SectionDelta:
    name: str
    old_bytes: int | None
    new_bytes: int | None
    kind: Kind

    @property
    def delta_bytes(self) -> int:
        return (self.new_bytes or 0) - (self.old_bytes or 0)


@dataclass(frozen=True, slots=True)
class KindDelta:
    """Allocated section bytes of one kind, old and new, and the symbols' share of it."""

    kind: Kind
    old_bytes: int
    new_bytes: int
    old_symbol_bytes: int
    new_symbol_bytes: int

    @property
    def delta_bytes(self) -> int:
        return self.new_bytes - self.old_bytes


@dataclass(frozen=True, slots=True)
class MeasureDelta:
    """A measure from the shared vocabulary (text, data, bss, total, image_extent, ...)."""

    measure: str
    old_bytes: int
    new_bytes: int
    source: str  # how it was measured, e.g. "GNU size (Berkeley)", "_end - KERNBASE"

    @property
    def delta_bytes(self) -> int:
        return self.new_bytes - self.old_bytes


@dataclass(frozen=True, slots=True)
class BudgetVerdict:
    text: str  # as given, e.g. "bss=+1%"
    measure: str
    baseline_bytes: int
    allowed_bytes: int
    actual_bytes: int

    @property
    def exceeded(self) -> bool:
        return self.actual_bytes > self.allowed_bytes


@dataclass(frozen=True, slots=True)
class DiffReport:
    old_path: str
    new_path: str
    bloat: BloatResult
    sections: tuple[SectionDelta, ...]
    kinds: tuple[KindDelta, ...]
    berkeley_old: BerkeleyTotals
    berkeley_new: BerkeleyTotals
    measures: tuple[MeasureDelta, ...]
    budgets: tuple[BudgetVerdict, ...] = ()
    threshold_bytes: int = 0
    top: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def budget_exceeded(self) -> bool:
        return any(b.exceeded for b in self.budgets)

    def shown_deltas(self) -> tuple[SymbolDelta, ...]:
        """The rows to show after --threshold and --top (the N largest |delta|, kept in
        bloat-o-meter's order); the summary always counts all."""
        rows = tuple(d for d in self.bloat.deltas if abs(d.delta_bytes) >= self.threshold_bytes)
        if self.top is not None and len(rows) > self.top:
            keep = set(sorted(range(len(rows)), key=lambda i: (-abs(rows[i].delta_bytes), i))[: self.top])
            rows = tuple(r for i, r in enumerate(rows) if i in keep)
        return rows

"""The report `cpualloc inspect` builds for one image."""

from __future__ import annotations

from dataclasses import dataclass, field

from cpualloc_cli.model.image import BerkeleyTotals, ElfImage, ImageExtent, SysvRow


@dataclass(frozen=True, slots=True)
class PercpuSummary:
    section: str | None
    size_bytes: int
    address: int
    linked_at_zero: bool
    top: tuple[int, ...]  # symbol indices, largest first


@dataclass(frozen=True)
class InspectReport:
    path: str
    image: ElfImage | None  # None: a raw (non-ELF) payload such as an arm64 Image
    source: str  # "elf" or how the ELF was obtained ("bzImage payload (xz)")
    berkeley: BerkeleyTotals | None
    berkeley_common: BerkeleyTotals | None
    sysv: tuple[SysvRow, ...]
    sysv_total: int
    extents: tuple[ImageExtent, ...]
    percpu: PercpuSummary | None
    top: tuple[int, ...]  # symbol indices, largest first
    top_by_section: dict[str, tuple[int, ...]] = field(default_factory=dict)
    nm_order: tuple[int, ...] | None = None  # --symbols: nm -S --size-sort order
    #: facts about a compressed container: numbers as int (sizes in bytes), words as str
    container: tuple[tuple[str, int | str], ...] = ()
    notes: tuple[str, ...] = ()

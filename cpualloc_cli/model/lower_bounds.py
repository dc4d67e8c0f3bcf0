"""The smallest kernel an arch and version builds: a cited lower bound of the kernel's own size,
used when there is no image (data/lower_bounds.toml, measured by tools/lower_bounds/)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LowerBound:
    arch: str
    kind: str  # "measured" (a real tinyconfig build) or "structural" (true of any kernel of the range)
    series: str  # "6.1" for a measured build; "" for a structural floor
    since: str  # structural: first version it holds for ("" = always)
    before: str  # structural: first version it no longer holds for ("" = still)
    smp: bool | None  # None: holds with and without SMP
    nr_cpus: int | None
    measures: dict[str, int]  # text, data, bss, total, image_extent (bytes); a structural floor may give one
    source: str
    recorded: str = ""  # repo-relative path of the recorded build outputs
    kernel_version: str = ""
    id: str = ""
    extents: dict[str, int] = field(default_factory=dict)  # extent kind ("loader", "text_to_end") -> bytes
    floor_symbols: tuple[str, ...] = ()  # structural: Kconfig symbols the floor depends on

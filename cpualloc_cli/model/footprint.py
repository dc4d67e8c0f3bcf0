"""The footprint of each per-cpu design: inputs (with where each came from), the kernel's
first-chunk numbers, the 2007 allocator's packing, per-design measures and the sweep."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from cpualloc_cli.model.findings import Finding
from cpualloc_cli.model.measures import Measure


class Design(StrEnum):
    STATIC = "static"  # cpu_alloc v1, cpu area in BSS
    VIRTUAL = "virtual"  # cpu_alloc v1, CPU_AREA_VIRTUAL=y
    VMALLOC = "vmalloc"  # Dumazet's alternative: NR_CPUS x area reserved in vmalloc space
    PERCPU = "percpu"  # modern mm/percpu.c, embedded first chunk


DESIGN_TITLES: dict[Design, str] = {
    Design.STATIC: "cpu_alloc static (BSS)",
    Design.VIRTUAL: "cpu_alloc virtual",
    Design.VMALLOC: "vmalloc reserve",
    Design.PERCPU: "modern percpu",
}


class Provenance(StrEnum):
    IMAGE = "measured from image"
    CONFIG = "from config"
    COMMAND_LINE = "from command line"
    DEFAULT = "assumed default"
    DERIVED = "derived"
    DATABASE = "limits database"


@dataclass(frozen=True, slots=True)
class InputFact:
    """One input the footprint used: its value, where it came from, and a note (source)."""

    name: str
    value: int | bool | str | None
    provenance: Provenance
    note: str = ""


@dataclass(frozen=True)
class FootprintInputs:
    """Everything the analysis needs, already resolved; the analysis never sees Kconfig."""

    arch: str
    kernel_version: tuple[int, ...]
    bits: int
    page_size: int
    nr_cpus: int
    possible_cpus: int
    cpu_area_order: int
    alloc_order: int
    modules: bool = True
    random_kmalloc_caches: bool = False
    mem_alloc_profiling: bool = False
    lockdep: bool = False
    percpu_static_bytes: int | None = None  # None: unknown, an estimate is used
    base_bss_bytes: int | None = None  # BSS of the image without any cpu area
    base_extent_bytes: int | None = None  # loader extent of the image without any cpu area
    percpu_reserve_bytes: int = 8 << 10  # cpu_alloc "in use": static + this module reserve
    vmalloc_area_bytes: int | None = None  # None: the arch's default
    numa_groups: tuple[int, ...] | None = None  # CPUs per node; None: one node holding all
    packing_used_bytes: int | None = None  # from the packing simulation, when run
    cpu_area_base: int | None = None  # CPU_AREA_BASE of the virtual design, when known
    facts: tuple[InputFact, ...] = ()  # provenance of each input, for the report


@dataclass(frozen=True, slots=True)
class PercpuAllocInfo:
    """What pcpu_build_alloc_info decides and pcpu_embed_first_chunk prints."""

    static_size: int
    reserved_size: int
    dyn_size: int  # after the adjustment to fill size_sum
    size_sum: int
    min_unit_size: int
    atom_size: int
    alloc_size: int
    max_upa: int
    upa: int
    unit_size: int
    nr_groups: int
    nr_units: int
    nr_allocs: int
    possible_cpus: int

    page_size: int

    @property
    def pages_per_cpu(self) -> int:
        """PFN_DOWN(size_sum), as printed."""
        return self.size_sum // self.page_size

    @property
    def span_bytes(self) -> int:
        """Address space of the first chunk: allocations x allocation size."""
        return self.nr_allocs * self.alloc_size

    @property
    def resident_bytes(self) -> int:
        """Embed mode frees each unit's tail past size_sum and every unused unit."""
        return self.possible_cpus * self.size_sum

    def embedded_line(self) -> str:
        """The kernel's `percpu: Embedded N pages/cpu s.. r.. d.. u..` line."""
        return (f"percpu: Embedded {self.pages_per_cpu} pages/cpu s{self.static_size} "
                f"r{self.reserved_size} d{self.dyn_size} u{self.unit_size}")


@dataclass(frozen=True, slots=True)
class PackingResult:
    """The 2007 bitmap allocator run over the image's per-cpu symbols."""

    objects: int
    unit_bytes: int
    units_allocated: int  # sum of each object's units
    units_used: int  # high-water mark: the last unit in use + 1
    linker_bytes: int  # the section size the linker produced, for comparison
    gaps_filled: int  # objects placed below the high-water mark into an alignment gap

    @property
    def used_bytes(self) -> int:
        return self.units_used * self.unit_bytes

    @property
    def fragmentation(self) -> float:
        """Share of the used span lost to alignment gaps."""
        if not self.units_used:
            return 0.0
        return 1.0 - self.units_allocated / self.units_used


@dataclass(frozen=True)
class DesignFootprint:
    design: Design
    measures: dict[Measure, int | float]
    explain: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    percpu: PercpuAllocInfo | None = None


@dataclass(frozen=True)
class FootprintReport:
    inputs: FootprintInputs
    designs: tuple[DesignFootprint, ...]
    chosen: Design
    chosen_reason: str  # "--design", "config: CPU_AREA_VIRTUAL=y", "arch default (...)"
    findings: tuple[Finding, ...] = ()
    packing: PackingResult | None = None


@dataclass(frozen=True, slots=True)
class LimitFit:
    """The largest value of the swept symbol that keeps one design within one limit."""

    design: Design
    measure: Measure
    bound: float
    largest_fitting: int | None  # None: no value in the range fits (and builds)
    smallest_failing: int | None  # None: every value fits
    non_monotonic: bool  # some value below largest_fitting fails
    # the measure is only known from below (no image: the kernel's size is a lower bound), so
    # largest_fitting is the largest value not ruled out, not one known to fit
    inconclusive: bool = False
    # the largest value that fits the limit but does not build (above largest_fitting), if any
    largest_fitting_unbuildable: int | None = None
    limit_id: str = ""  # the database limit, or "" for --limit
    strict_less: bool = False


@dataclass(frozen=True)
class SweepResult:
    symbol: str
    range_lo: int
    range_hi: int
    points: tuple[int, ...]  # the values shown
    # design -> measure -> values at `points` (same order)
    series: dict[Design, dict[Measure, tuple[int | float, ...]]]
    fits: tuple[LimitFit, ...]
    evaluated: int  # how many values were evaluated for the fits (every integer in range)
    facts: tuple[InputFact, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    # runs of values that do not build: (first, last, why), e.g. the sparc64 page-flags BUILD_BUG_ON
    not_building: tuple[tuple[int, int, str], ...] = ()
    lower_bound_measures: tuple[str, ...] = ()  # measures known only from below

"""Footprint of each per-cpu design (pure functions over FootprintInputs).

Every function returns the measures and, unless `explain=False` (the sweep's fast path), the
formula of each figure with the values put in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cpualloc_cli.analysis.percpu import (
    PCPU_MIN_UNIT_BYTES,
    UnitGeometry,
    compute_alloc_info,
    compute_unit_geometry,
    pfn_align,
)
from cpualloc_cli.model import percpu_constants as K
from cpualloc_cli.model.findings import Finding, Severity
from cpualloc_cli.model.footprint import (
    DESIGN_TITLES,
    Design,
    DesignFootprint,
    FootprintInputs,
    FootprintReport,
    PackingResult,
)
from cpualloc_cli.model.measures import FRACTION_MEASURES, Measure, format_bytes

ALL_DESIGNS = (Design.STATIC, Design.VIRTUAL, Design.VMALLOC, Design.PERCPU)


def _roundup(n: int, to: int) -> int:
    return -(-n // to) * to


def area_bytes(inputs: FootprintInputs) -> int:
    """PAGE_SIZE << CPU_AREA_ORDER: the cpu area of one CPU."""
    return inputs.page_size << inputs.cpu_area_order


def static_bytes(inputs: FootprintInputs) -> tuple[int, str]:
    """The static per-cpu bytes and where they came from."""
    if inputs.percpu_static_bytes is not None:
        return inputs.percpu_static_bytes, "static per-cpu bytes"
    est = K.STATIC_ESTIMATES.get(inputs.arch)
    if est is not None:
        return est.value, f"estimated static per-cpu bytes ({est.source})"
    return ESTIMATE_FALLBACK_BYTES, ESTIMATE_FALLBACK_NOTE


# Used when neither an image, --static-size nor an arch measurement is at hand; the report says so.
ESTIMATE_FALLBACK_BYTES = 0
ESTIMATE_FALLBACK_NOTE = "no image and no estimate for this arch: static per-cpu bytes assumed 0"


def in_use_bytes(inputs: FootprintInputs) -> tuple[int, str]:
    """cpu_alloc 'in use' per CPU: the static per-cpu data (or its simulated packing) plus the
    module reserve (--percpu-reserve)."""
    if inputs.packing_used_bytes is not None:
        base, what = inputs.packing_used_bytes, "packed static per-cpu bytes (bitmap simulation)"
    else:
        base, what = static_bytes(inputs)
    total = base + inputs.percpu_reserve_bytes
    return total, f"in use = {what} + reserve = {base:,} + {inputs.percpu_reserve_bytes:,} = {total:,} B"


def _base(inputs: FootprintInputs, explain: bool = True) -> tuple[int, int, list[str]]:
    lines: list[str] = []
    bss = inputs.base_bss_bytes
    ext = inputs.base_extent_bytes
    if not explain:
        return bss or 0, ext or 0, lines
    if bss is None:
        lines.append("base BSS unknown (no image): 0 assumed, BSS figures are the growth only")
    if ext is None:
        lines.append("base image extent unknown (no image): 0 assumed, extent figures are the growth only")
    return bss or 0, ext or 0, lines


def compute_static_design(inputs: FootprintInputs, explain: bool = True) -> DesignFootprint:
    """cpu_alloc static: NR_CPUS x (PAGE_SIZE << CPU_AREA_ORDER) in BSS, always backed."""
    area = area_bytes(inputs)
    cpu_area = inputs.nr_cpus * area
    bss0, ext0, notes = _base(inputs, explain)
    stat, _ = static_bytes(inputs)
    m: dict[Measure, int | float] = {
        Measure.CPU_AREA: cpu_area,
        Measure.BSS: bss0 + cpu_area,
        Measure.IMAGE_EXTENT: ext0 + cpu_area,
        Measure.ADDRESS_SPACE: cpu_area,
        Measure.PERCPU_RESIDENT: cpu_area,
        Measure.PERCPU_UNIT: area,
        Measure.PERCPU_STATIC: stat,
        Measure.VMALLOC_SHARE: 0.0,
    }
    lines: tuple[str, ...] = ()
    if explain:
        lines = (
            f"cpu area = NR_CPUS x (PAGE_SIZE << CPU_AREA_ORDER) = {inputs.nr_cpus} x ({inputs.page_size} << "
            f"{inputs.cpu_area_order}) = {inputs.nr_cpus} x {area:,} = {cpu_area:,} B ({format_bytes(cpu_area)})",
            f"bss = base bss + cpu area = {bss0:,} + {cpu_area:,} = {bss0 + cpu_area:,} B",
            f"image extent = base extent + cpu area = {ext0:,} + {cpu_area:,} = {ext0 + cpu_area:,} B",
            f"resident = cpu area = {cpu_area:,} B (BSS is always backed)",
            f"address space = cpu area = {cpu_area:,} B; vmalloc share = 0",
            *notes,
        )
    return DesignFootprint(Design.STATIC, m, lines)


def compute_virtual_design(inputs: FootprintInputs, explain: bool = True) -> DesignFootprint:
    """cpu_alloc virtual: address space reserved at CPU_AREA_BASE, pages populated on demand."""
    area = area_bytes(inputs)
    reserved = inputs.nr_cpus * area
    block = inputs.page_size << inputs.alloc_order
    use, use_line = in_use_bytes(inputs)
    per_cpu = _roundup(use, block)
    resident = inputs.possible_cpus * per_cpu
    bss0, ext0, notes = _base(inputs, explain)
    own = K.CPU_ALLOC_BSS_BYTES.value
    stat, _ = static_bytes(inputs)
    m: dict[Measure, int | float] = {
        Measure.CPU_AREA: reserved,
        Measure.BSS: bss0 + own,
        Measure.IMAGE_EXTENT: ext0 + own,
        Measure.ADDRESS_SPACE: reserved,
        Measure.PERCPU_RESIDENT: resident,
        Measure.PERCPU_UNIT: area,
        Measure.PERCPU_STATIC: stat,
        Measure.VMALLOC_SHARE: 0.0,
    }
    findings: list[Finding] = []
    if use > area:
        findings.append(Finding("footprint.area-too-small", Severity.ERROR,
                                f"virtual: {use:,} B in use per CPU does not fit the {area:,} B cpu area",
                                symbol="CPU_AREA_ORDER", hint="raise CPU_AREA_ORDER"))
    lines: tuple[str, ...] = ()
    if explain:
        base = f"0x{inputs.cpu_area_base:x}" if inputs.cpu_area_base is not None else "CPU_AREA_BASE"
        lines = (
            f"address space = NR_CPUS x (PAGE_SIZE << CPU_AREA_ORDER) = {inputs.nr_cpus} x ({inputs.page_size} << "
            f"{inputs.cpu_area_order}) = {reserved:,} B ({format_bytes(reserved)}) reserved at {base}",
            f"bss = base bss + allocator state = {bss0:,} + {own} = {bss0 + own:,} B "
            f"({K.CPU_ALLOC_BSS_BYTES.source})",
            f"image extent = base extent + allocator state = {ext0:,} + {own} = {ext0 + own:,} B",
            use_line,
            f"resident = possible CPUs x roundup(in use, PAGE_SIZE << CPU_AREA_ALLOC_ORDER) = {inputs.possible_cpus} x "
            f"roundup({use:,}, {inputs.page_size} << {inputs.alloc_order}) = {inputs.possible_cpus} x {per_cpu:,} "
            f"= {resident:,} B",
            *notes,
        )
    return DesignFootprint(Design.VIRTUAL, m, lines, tuple(findings))


def vmalloc_area(inputs: FootprintInputs) -> tuple[int | None, str]:
    if inputs.vmalloc_area_bytes is not None:
        return inputs.vmalloc_area_bytes, "vmalloc area (given)"
    c = K.VMALLOC_AREAS.get(inputs.arch)
    if c is None:
        return None, f"vmalloc area of {inputs.arch} not known (give --vmalloc-size)"
    return c.value, f"vmalloc area of {inputs.arch} ({c.source})"


def compute_vmalloc_design(inputs: FootprintInputs, explain: bool = True) -> DesignFootprint:
    """Dumazet's alternative: NR_CPUS x area reserved inside the vmalloc area."""
    area = area_bytes(inputs)
    reserved = inputs.nr_cpus * area
    use, use_line = in_use_bytes(inputs)
    per_cpu = _roundup(use, inputs.page_size)
    resident = inputs.possible_cpus * per_cpu
    bss0, ext0, notes = _base(inputs, explain)
    own = K.CPU_ALLOC_BSS_BYTES.value
    vm, vm_note = vmalloc_area(inputs)
    stat, _ = static_bytes(inputs)
    m: dict[Measure, int | float] = {
        Measure.CPU_AREA: reserved,
        Measure.BSS: bss0 + own,
        Measure.IMAGE_EXTENT: ext0 + own,
        Measure.ADDRESS_SPACE: reserved,
        Measure.PERCPU_RESIDENT: resident,
        Measure.PERCPU_UNIT: area,
        Measure.PERCPU_STATIC: stat,
    }
    findings: list[Finding] = []
    if vm is not None:
        m[Measure.VMALLOC_SHARE] = reserved / vm
        if reserved > vm:
            findings.append(Finding("footprint.vmalloc-exhausted", Severity.ERROR,
                                    f"vmalloc: {reserved:,} B reserved exceeds the {vm:,} B vmalloc area",
                                    symbol="NR_CPUS"))
    if use > area:
        findings.append(Finding("footprint.area-too-small", Severity.ERROR,
                                f"vmalloc: {use:,} B in use per CPU does not fit the {area:,} B area",
                                symbol="CPU_AREA_ORDER", hint="raise CPU_AREA_ORDER"))
    lines: tuple[str, ...] = ()
    if explain:
        share = (f"vmalloc share = {reserved:,} / {vm:,} = {reserved / vm:.1%} ({vm_note})" if vm is not None
                 else f"vmalloc share: {vm_note}")
        lines = (
            f"address space = NR_CPUS x (PAGE_SIZE << CPU_AREA_ORDER) = {inputs.nr_cpus} x ({inputs.page_size} << "
            f"{inputs.cpu_area_order}) = {reserved:,} B ({format_bytes(reserved)}) taken from vmalloc space",
            share,
            f"bss = base bss + allocator state = {bss0:,} + {own} = {bss0 + own:,} B",
            use_line,
            f"resident = possible CPUs x roundup(in use, PAGE_SIZE) = {inputs.possible_cpus} x {per_cpu:,} = {resident:,} B",
            *notes,
        )
    return DesignFootprint(Design.VMALLOC, m, lines, tuple(findings))


@dataclass(frozen=True, slots=True)
class PercpuParams:
    reserved: int
    dyn: int
    atom: int
    early: int
    lines: tuple[str, ...]


def compute_percpu_params(inputs: FootprintInputs) -> PercpuParams:
    """reserved, dynamic, atom and early sizes for pcpu_embed_first_chunk on this arch/version."""
    return _percpu_params(inputs.arch, inputs.kernel_version, inputs.bits, inputs.page_size, inputs.modules,
                          inputs.random_kmalloc_caches, inputs.mem_alloc_profiling, inputs.lockdep)


@lru_cache(maxsize=64)
def _percpu_params(arch_name: str, v: tuple[int, ...], bits: int, page_size: int, modules: bool,
                   random_kmalloc_caches: bool, mem_alloc_profiling: bool, lockdep: bool) -> PercpuParams:
    arch = K.PERCPU_ARCHES.get(arch_name, K.PERCPU_ARCHES["generic"])
    lines = []
    if v >= (6, 6):
        if random_kmalloc_caches:
            shift = 13 if lockdep and page_size != 4096 else 12
        else:
            shift = 10
        early = 20 << shift
        dyn_reserve = (28 if bits > 32 else 20) << shift
        lines.append(f"PERCPU_DYNAMIC_RESERVE = {28 if bits > 32 else 20} << {shift} = {dyn_reserve:,}, "
                     f"EARLY = 20 << {shift} = {early:,} (kernel >= 6.6; include/linux/percpu.h:43-76, 6.12.117)")
    else:
        early = K.PERCPU_DYNAMIC_EARLY_SIZE_61.value
        c = K.PERCPU_DYNAMIC_RESERVE_64_61 if bits > 32 else K.PERCPU_DYNAMIC_RESERVE_32_61
        dyn_reserve = c.value
        lines.append(f"PERCPU_DYNAMIC_RESERVE = {dyn_reserve:,}, EARLY = {early:,} ({c.source})")
    if not modules:
        module_reserve = 0
        lines.append("PERCPU_MODULE_RESERVE = 0 (MODULES=n)")
    elif mem_alloc_profiling and v >= (6, 10):
        module_reserve = K.PERCPU_MODULE_RESERVE_ALLOC_PROFILING.value
        lines.append(f"PERCPU_MODULE_RESERVE = {module_reserve:,} ({K.PERCPU_MODULE_RESERVE_ALLOC_PROFILING.source})")
    else:
        module_reserve = K.PERCPU_MODULE_RESERVE.value
        lines.append(f"PERCPU_MODULE_RESERVE = {module_reserve:,} ({K.PERCPU_MODULE_RESERVE.source})")
    reserved = module_reserve if arch.reserved == "PERCPU_MODULE_RESERVE" else 0
    if arch.dyn.startswith("PERCPU_MODULE_RESERVE +"):
        dyn = module_reserve + dyn_reserve - reserved
    else:
        dyn = dyn_reserve
    atom = arch.atom_bytes or page_size
    lines.append(f"{arch.arch}: reserved = {arch.reserved} = {reserved:,}, dyn = {arch.dyn} = {dyn:,}, "
                 f"atom = {arch.atom} = {atom:,} ({arch.source})")
    return PercpuParams(reserved, dyn, atom, early, tuple(lines))


@lru_cache(maxsize=256)
def _geometry(static: int, reserved: int, dyn: int, atom: int, page: int, early: int) -> UnitGeometry:
    return compute_unit_geometry(static, reserved, dyn, atom, page, early)


def compute_percpu_design(inputs: FootprintInputs, explain: bool = True) -> DesignFootprint:
    """Modern mm/percpu.c embedded first chunk, as pcpu_build_alloc_info computes it."""
    p = compute_percpu_params(inputs)
    stat, stat_note = static_bytes(inputs)
    groups = inputs.numa_groups or (inputs.possible_cpus,)
    g = _geometry(stat, p.reserved, p.dyn, p.atom, inputs.page_size, p.early)
    ai = compute_alloc_info(stat, p.reserved, p.dyn, p.atom, inputs.page_size, p.early, groups, geometry=g)
    bss0, ext0, notes = _base(inputs, explain)
    m: dict[Measure, int | float] = {
        Measure.PERCPU_STATIC: stat,
        Measure.PERCPU_UNIT: ai.unit_size,
        Measure.PERCPU_RESIDENT: ai.resident_bytes,
        Measure.ADDRESS_SPACE: ai.span_bytes,
        Measure.CPU_AREA: ai.nr_units * ai.unit_size,
        Measure.BSS: bss0,
        Measure.IMAGE_EXTENT: ext0,
        Measure.VMALLOC_SHARE: 0.0,
    }
    lines: tuple[str, ...] = ()
    if explain:
        raw = stat + p.reserved + max(p.dyn, p.early)
        min_unit = pfn_align(PCPU_MIN_UNIT_BYTES, inputs.page_size)
        lines = (
            *p.lines,
            f"static = {stat:,} B ({stat_note})",
            f"size_sum = PFN_ALIGN(static + reserved + max(dyn, EARLY)) = PFN_ALIGN({stat:,} + {p.reserved:,} + "
            f"{max(p.dyn, p.early):,}) = PFN_ALIGN({raw:,}) = {ai.size_sum:,} B; dyn becomes {ai.dyn_size:,}",
            f"min_unit_size = max(size_sum, PCPU_MIN_UNIT_SIZE) = max({ai.size_sum:,}, {min_unit:,}) "
            f"= {ai.min_unit_size:,}; alloc_size = roundup(min_unit_size, atom) = {ai.alloc_size:,}; max upa = {ai.max_upa}",
            f"upa = {ai.upa} (largest upa with wasted units <= possible/3 = {ai.possible_cpus}//3 = "
            f"{ai.possible_cpus // 3}, without more allocations); unit = alloc_size / upa = {ai.alloc_size:,} / {ai.upa} "
            f"= {ai.unit_size:,} B",
            f"groups = {list(groups)}: {ai.nr_units} units in {ai.nr_allocs} allocation(s); address space = "
            f"{ai.nr_allocs} x {ai.alloc_size:,} = {ai.span_bytes:,} B",
            f"resident = possible CPUs x size_sum = {ai.possible_cpus} x {ai.size_sum:,} = {ai.resident_bytes:,} B "
            "(embed frees each unit's tail and unused units, mm/percpu.c pcpu_embed_first_chunk)",
            f"kernel would print: {ai.embedded_line()}",
            *notes,
        )
    return DesignFootprint(Design.PERCPU, m, lines, percpu=ai)


DESIGN_FUNCTIONS = {
    Design.STATIC: compute_static_design,
    Design.VIRTUAL: compute_virtual_design,
    Design.VMALLOC: compute_vmalloc_design,
    Design.PERCPU: compute_percpu_design,
}


def choose_design(cli_design: Design | None, config_design: tuple[Design, str] | None, arch: str,
                  kernel_version: tuple[int, ...]) -> tuple[Design, str]:
    """--design wins, then the config's choice, then the arch's default for the version."""
    if cli_design is not None:
        return cli_design, "--design on the command line"
    if config_design is not None:
        return config_design[0], f"chosen in the config ({config_design[1]})"
    if kernel_version >= K.MODERN_PERCPU_SINCE:
        return Design.PERCPU, (f"default for kernel {'.'.join(map(str, kernel_version))}: mm/percpu.c embedded "
                               "first chunk (since 2.6.30)")
    ca = K.CPU_AREA_ARCHES.get(arch, K.GENERIC_CPU_AREA)
    return Design(ca.default_design), f"cpu_alloc v1 default for {arch} ({ca.source})"


def evaluate_limits(fp: DesignFootprint, limits: Sequence[tuple[Measure, float]]) -> tuple[Finding, ...]:
    """One error finding per (measure, bound) the design exceeds."""
    out = []
    for measure, bound in limits:
        value = fp.measures.get(measure)
        if value is None or value <= bound:
            continue
        if measure in FRACTION_MEASURES:
            msg = f"{fp.design.value}: {measure.value} {value:.1%} exceeds the limit {bound:.1%}"
        else:
            msg = (f"{fp.design.value}: {measure.value} {int(value):,} B ({format_bytes(int(value))}) exceeds the limit "
                   f"{int(bound):,} B ({format_bytes(int(bound))}) by {int(value - bound):,} B")
        out.append(Finding(f"limit.{measure.value}", Severity.ERROR, msg,
                           hint=f"{DESIGN_TITLES[fp.design]}: lower NR_CPUS or choose another design"))
    return tuple(out)


def compute_footprint(inputs: FootprintInputs, designs: Sequence[Design], chosen: Design, reason: str,
                      limits: Sequence[tuple[Measure, float]] = (), findings: Sequence[Finding] = (),
                      packing: PackingResult | None = None) -> FootprintReport:
    results = []
    for d in designs:
        fp = DESIGN_FUNCTIONS[d](inputs)
        extra = evaluate_limits(fp, limits)
        if extra:
            fp = DesignFootprint(fp.design, fp.measures, fp.explain, fp.findings + extra, fp.percpu)
        results.append(fp)
    return FootprintReport(inputs, tuple(results), chosen, reason, tuple(findings), packing)

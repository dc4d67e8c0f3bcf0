"""Build FootprintInputs from a resolved config, an optional image and the command line.

This is where Kconfig symbol names are known; the analysis only sees FootprintInputs. Every
input records where it came from (image, config, command line, assumed default).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cpualloc_cli.model import percpu_constants as K
from cpualloc_cli.model.arches import ARCHES
from cpualloc_cli.model.config import Origin, ResolvedConfig
from cpualloc_cli.model.findings import Finding, Severity
from cpualloc_cli.model.footprint import Design, FootprintInputs, InputFact, Provenance
from cpualloc_cli.model.image import ElfImage

# The bundled model's PERCPU_DESIGN string (kconfig/Kconfig.percpu) -> Design
CONFIG_DESIGNS = {
    "cpu_alloc_static": Design.STATIC,
    "cpu_alloc_virtual": Design.VIRTUAL,
    "vmalloc_reserve": Design.VMALLOC,
    "percpu_first_chunk": Design.PERCPU,
}
DESIGN_CHOICE_SYMBOLS = {
    "PERCPU_DESIGN_CPU_ALLOC_STATIC": Design.STATIC,
    "PERCPU_DESIGN_CPU_ALLOC_VIRTUAL": Design.VIRTUAL,
    "PERCPU_DESIGN_VMALLOC_RESERVE": Design.VMALLOC,
    "PERCPU_DESIGN_FIRST_CHUNK": Design.PERCPU,
}
# Real Linux page-size symbols (6.x) -> bytes, for --srctree configs without PAGE_SHIFT
PAGE_SIZE_SYMBOLS = {
    "PAGE_SIZE_4KB": 4096, "PAGE_SIZE_8KB": 8192, "PAGE_SIZE_16KB": 16384, "PAGE_SIZE_64KB": 65536,
    "ARM64_4K_PAGES": 4096, "ARM64_16K_PAGES": 16384, "ARM64_64K_PAGES": 65536,
    "SPARC64_PAGE_SIZE_8KB": 8192, "IA64_PAGE_SIZE_16KB": 16384, "IA64_PAGE_SIZE_64KB": 65536,
    "PPC_4K_PAGES": 4096, "PPC_16K_PAGES": 16384, "PPC_64K_PAGES": 65536,
}
DEFAULT_NR_CPUS = 64
MAX_ORDER = 30  # PAGE_SIZE << order stays a sane size (and a non-negative shift)
_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_TAKEN = (Origin.FILE, Origin.SET, Origin.SELECT)


def parse_kernel_version(text: str | None) -> tuple[int, ...] | None:
    """'6.1.0' / 'Linux version 6.1.192 (...)' / '2.6.24' -> (6, 1, 0) ..."""
    if not text:
        return None
    m = _VERSION_RE.search(text)
    if not m:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


@dataclass(frozen=True)
class BuiltInputs:
    inputs: FootprintInputs
    config_design: tuple[Design, str] | None
    findings: tuple[Finding, ...]
    nr_cpus_range: tuple[int, int] | None


def _config_design(config: ResolvedConfig) -> tuple[Design, str] | None:
    """The design the config chose, if it chose one (a Kconfig default is the arch default)."""
    for sym, design in DESIGN_CHOICE_SYMBOLS.items():
        detail = config.details.get(sym)
        if detail is not None and detail.origin in _TAKEN and detail.value == "y":
            return design, f"{sym}=y"
    raw = config.values.get("PERCPU_DESIGN")
    detail = config.details.get("PERCPU_DESIGN")
    if raw in CONFIG_DESIGNS and detail is not None and detail.origin in _TAKEN:
        return CONFIG_DESIGNS[raw], f"PERCPU_DESIGN={raw}"
    cav = config.details.get("CPU_AREA_VIRTUAL")
    if cav is not None and cav.origin in _TAKEN and cav.value == "y":
        return Design.VIRTUAL, "CPU_AREA_VIRTUAL=y"
    return None


def _page_size(config: ResolvedConfig | None, arch: str) -> tuple[int, Provenance, str]:
    if config is not None:
        shift = config.get_int("PAGE_SHIFT")
        if shift is not None and 10 <= shift <= 24:
            return 1 << shift, Provenance.CONFIG, f"PAGE_SHIFT={shift}"
        for sym, size in PAGE_SIZE_SYMBOLS.items():
            if config.is_enabled(sym):
                return size, Provenance.CONFIG, f"{sym}=y"
    a = ARCHES.get(arch)
    return (a.page_size if a else 4096), Provenance.DEFAULT, f"{arch} default page size"


def build_inputs(config: ResolvedConfig | None, image: ElfImage | None, *, arch: str | None = None,
                 kernel_version: str | None = None, possible_cpus: int | None = None,
                 percpu_reserve_bytes: int | None = None, vmalloc_size_bytes: int | None = None,
                 numa_groups: Sequence[int] | None = None, static_bytes: int | None = None,
                 packing_used_bytes: int | None = None, kernel_version_source: str | None = None,
                 image_nr_cpus: tuple[int, str] | None = None,
                 default_possible_cpus: int | None = None) -> BuiltInputs:
    """The footprint inputs. `kernel_version` with `kernel_version_source` is the version the
    evaluation engine decided from evidence (analysis/engine.decide_kernel_version);
    `image_nr_cpus` is NR_CPUS derived from the image when no config gives it;
    `default_possible_cpus` is the stated default count of possible CPUs (None: NR_CPUS)."""
    facts: list[InputFact] = []
    findings: list[Finding] = list(config.findings) if config is not None else []

    # arch
    if arch is not None:
        arch_name, prov = arch, Provenance.COMMAND_LINE
    elif config is not None and config.arch:
        arch_name, prov = config.arch, Provenance.CONFIG
    elif image is not None:
        arch_name, prov = image.header.arch, Provenance.IMAGE
    else:
        arch_name, prov = "x86_64", Provenance.DEFAULT
    if image is not None and image.header.arch != arch_name and prov is not Provenance.COMMAND_LINE:
        findings.append(Finding("footprint.arch-mismatch", Severity.WARNING,
                                f"the config is for {arch_name} but the image is {image.header.arch}"))
    facts.append(InputFact("arch", arch_name, prov))

    # kernel version
    ver: tuple[int, ...] | None = None
    if kernel_version is not None and kernel_version_source is not None:
        prov_of = {"--kernel-version": Provenance.COMMAND_LINE, "image banner": Provenance.IMAGE,
                   "image IKCONFIG header": Provenance.IMAGE}
        ver, vprov, vnote = (parse_kernel_version(kernel_version),
                             prov_of.get(kernel_version_source, Provenance.CONFIG), kernel_version_source)
    elif kernel_version is not None:
        ver, vprov, vnote = parse_kernel_version(kernel_version), Provenance.COMMAND_LINE, "--kernel-version"
    if ver is None and image is not None and image.banner:
        ver, vprov, vnote = parse_kernel_version(image.banner), Provenance.IMAGE, "image banner"
    if ver is None and config is not None:
        ver, vprov, vnote = (parse_kernel_version(config.kernel_version), Provenance.CONFIG,
                             config.kernel_version_source)
    if ver is None:
        ver, vprov, vnote = (6, 1), Provenance.DEFAULT, "no version known: 6.1 assumed"
    facts.append(InputFact("kernel_version", ".".join(map(str, ver)), vprov, vnote))

    a = ARCHES.get(arch_name)
    bits = a.bits if a else 64
    if config is not None and "64BIT" in config.values:
        bits = 64 if config.is_enabled("64BIT") else 32
    facts.append(InputFact("bits", bits, Provenance.CONFIG if config is not None and "64BIT" in config.values
                           else Provenance.DEFAULT))

    page, pprov, pnote = _page_size(config, arch_name)
    facts.append(InputFact("page_size", page, pprov, pnote))

    # NR_CPUS
    nr_range: tuple[int, int] | None = None
    nr: int | None = None
    if config is not None:
        detail = config.details.get("NR_CPUS")
        if detail is not None:
            nr_range = detail.range
        if config.values.get("SMP") == "n":
            nr = 1
            facts.append(InputFact("nr_cpus", 1, Provenance.CONFIG, "SMP=n: one CPU"))
        else:
            nr = config.get_int("NR_CPUS")
            if nr is not None:
                note = ""
                if detail is not None and detail.origin is Origin.OUT_OF_RANGE_DEFAULT:
                    rng = f" (range {detail.range[0]}..{detail.range[1]})" if detail.range else ""
                    note = f"NR_CPUS={detail.given} is out of range{rng}; the default {nr} is used"
                    if not any(f.symbol == "NR_CPUS" or "NR_CPUS" in f.message for f in config.findings):
                        findings.append(Finding("footprint.nr-cpus-out-of-range", Severity.WARNING, note,
                                                path=config.config_path, symbol="NR_CPUS",
                                                hint="an out-of-range value is ignored, as Kconfig's conf does"))
                facts.append(InputFact("nr_cpus", nr, Provenance.CONFIG,
                                       note or (f"origin: {detail.origin.value}" if detail is not None else "")))
    if nr is not None and nr < 1:
        findings.append(Finding("footprint.bad-nr-cpus", Severity.WARNING,
                                f"NR_CPUS={nr} is not a CPU count; {DEFAULT_NR_CPUS} is assumed", symbol="NR_CPUS"))
        facts.pop()
        nr = None
    if nr is None and image_nr_cpus is not None and (config is None or "NR_CPUS" not in config.values):
        nr = image_nr_cpus[0]
        facts.append(InputFact("nr_cpus", nr, Provenance.DERIVED, image_nr_cpus[1]))
    if nr is None:
        nr = DEFAULT_NR_CPUS
        facts.append(InputFact("nr_cpus", nr, Provenance.DEFAULT,
                               "no NR_CPUS in the config or the image: assumed (give --config or --set NR_CPUS=N)"))

    # possible CPUs
    if possible_cpus is not None:
        possible = possible_cpus
        if possible > nr:
            findings.append(Finding("footprint.possible-exceeds-nr-cpus", Severity.WARNING,
                                    f"--possible-cpus {possible} exceeds NR_CPUS={nr}; the kernel caps it at {nr}",
                                    symbol="NR_CPUS"))
            possible = nr
        facts.append(InputFact("possible_cpus", possible, Provenance.COMMAND_LINE))
    elif default_possible_cpus is not None and default_possible_cpus < nr:
        possible = default_possible_cpus
        facts.append(InputFact("possible_cpus", possible, Provenance.DEFAULT,
                               f"stated default (give --possible-cpus); at most NR_CPUS={nr} CPUs can be possible"))
    else:
        possible = nr
        facts.append(InputFact("possible_cpus", possible, Provenance.DERIVED, "= NR_CPUS (no --possible-cpus)"))
    if numa_groups is not None and sum(numa_groups) != possible:
        findings.append(Finding("footprint.numa-groups", Severity.WARNING,
                                f"NUMA groups {list(numa_groups)} do not add up to {possible} possible CPUs; "
                                "one node assumed"))
        numa_groups = None

    # cpu_alloc orders
    ca = K.CPU_AREA_ARCHES.get(arch_name, K.GENERIC_CPU_AREA)

    def order_from_config(sym: str) -> int | None:
        v = config.get_int(sym) if config is not None else None
        if v is not None and not 0 <= v <= MAX_ORDER:
            findings.append(Finding("footprint.bad-order", Severity.WARNING,
                                    f"{sym}={v} is not a page order (0..{MAX_ORDER}); the arch default is used",
                                    symbol=sym))
            return None
        return v

    order = order_from_config("CPU_AREA_ORDER")
    if order is not None:
        facts.append(InputFact("cpu_area_order", order, Provenance.CONFIG))
    else:
        order = ca.cpu_area_order
        facts.append(InputFact("cpu_area_order", order, Provenance.DEFAULT,
                               ("reconstruction: " if ca.reconstructed else "") + ca.source))
    alloc_order = order_from_config("CPU_AREA_ALLOC_ORDER")
    if alloc_order is not None:
        facts.append(InputFact("cpu_area_alloc_order", alloc_order, Provenance.CONFIG))
    else:
        alloc_order = ca.alloc_order
        facts.append(InputFact("cpu_area_alloc_order", alloc_order, Provenance.DEFAULT))

    def flag(sym: str, default: bool) -> bool:
        if config is not None and sym in config.values:
            val = config.is_enabled(sym)
            facts.append(InputFact(sym, val, Provenance.CONFIG))
            return val
        facts.append(InputFact(sym, default, Provenance.DEFAULT))
        return default

    modules = flag("MODULES", True)
    rkc = flag("RANDOM_KMALLOC_CACHES", False)
    profiling = flag("MEM_ALLOC_PROFILING", False)
    lockdep = flag("LOCKDEP", False)

    # image facts
    pstatic: int | None = None
    base_bss: int | None = None
    base_ext: int | None = None
    if static_bytes is not None:
        pstatic = static_bytes
        facts.append(InputFact("percpu_static_bytes", pstatic, Provenance.COMMAND_LINE))
    if image is not None:
        from cpualloc_cli.analysis.extent import compute_extents, compute_percpu
        from cpualloc_cli.analysis.sizes import compute_berkeley

        if pstatic is None:
            pc = compute_percpu(image)
            if pc.section is not None:
                pstatic = pc.size_bytes
                facts.append(InputFact("percpu_static_bytes", pstatic, Provenance.IMAGE, f"{pc.section} size"))
        base_bss = compute_berkeley(image).bss
        facts.append(InputFact("base_bss_bytes", base_bss, Provenance.IMAGE, "GNU size (Berkeley) bss"))
        extents = compute_extents(image)
        if extents:
            base_ext = extents[0].size_bytes
            facts.append(InputFact("base_extent_bytes", base_ext, Provenance.IMAGE,
                                   f"{extents[0].end_name} - {extents[0].start_name}"))
    if pstatic is None:
        est = K.STATIC_ESTIMATES.get(arch_name)
        if est is not None:
            facts.append(InputFact("percpu_static_bytes", est.value, Provenance.DEFAULT, f"estimate: {est.source}"))
        else:
            facts.append(InputFact("percpu_static_bytes", 0, Provenance.DEFAULT,
                                   "no image and no estimate for this arch: 0 assumed"))
    if base_bss is None:
        facts.append(InputFact("base_bss_bytes", 0, Provenance.DEFAULT, "no image: BSS figures are growth only"))
    if base_ext is None:
        facts.append(InputFact("base_extent_bytes", 0, Provenance.DEFAULT, "no image: extent figures are growth only"))

    reserve = K.PERCPU_MODULE_RESERVE.value if percpu_reserve_bytes is None else percpu_reserve_bytes
    facts.append(InputFact("percpu_reserve_bytes", reserve,
                           Provenance.DEFAULT if percpu_reserve_bytes is None else Provenance.COMMAND_LINE,
                           "cpu_alloc module reserve (PERCPU_MODULE_RESERVE)" if percpu_reserve_bytes is None else ""))
    if vmalloc_size_bytes is not None:
        facts.append(InputFact("vmalloc_area_bytes", vmalloc_size_bytes, Provenance.COMMAND_LINE))
    elif arch_name in K.VMALLOC_AREAS:
        c = K.VMALLOC_AREAS[arch_name]
        facts.append(InputFact("vmalloc_area_bytes", c.value, Provenance.DEFAULT, c.source))
    if packing_used_bytes is not None:
        facts.append(InputFact("packing_used_bytes", packing_used_bytes, Provenance.DERIVED,
                               "--simulate-packing over the image's per-cpu symbols"))

    area_base = _cpu_area_base(arch_name, page, ca.base)
    if area_base is not None:
        facts.append(InputFact("cpu_area_base", f"0x{area_base:x}", Provenance.DEFAULT, ca.source))
    inputs = FootprintInputs(
        arch=arch_name, kernel_version=ver, bits=bits, page_size=page, nr_cpus=nr, possible_cpus=possible,
        cpu_area_order=order, alloc_order=alloc_order, modules=modules, random_kmalloc_caches=rkc,
        mem_alloc_profiling=profiling, lockdep=lockdep, percpu_static_bytes=pstatic, base_bss_bytes=base_bss,
        base_extent_bytes=base_ext, percpu_reserve_bytes=reserve, vmalloc_area_bytes=vmalloc_size_bytes,
        numa_groups=tuple(numa_groups) if numa_groups else None, packing_used_bytes=packing_used_bytes,
        cpu_area_base=area_base, facts=tuple(facts))
    design = _config_design(config) if config is not None else None
    return BuiltInputs(inputs, design, tuple(findings), nr_range)


def _cpu_area_base(arch: str, page_size: int, default: int | None) -> int | None:
    """CPU_AREA_BASE; on ia64 it follows the page size (RGN_BASE(RGN_GATE) + (3 << (4*PAGE_SHIFT - 11)))."""
    if arch == "ia64" and page_size > 0 and page_size & (page_size - 1) == 0:
        shift = page_size.bit_length() - 1
        return K.IA64_RGN_GATE_BASE + (3 << (4 * shift - 11))
    return default


def percpu_objects(image: ElfImage) -> tuple[list[tuple[int, int]], int]:
    """(size, inferred alignment) of each sized symbol in the per-cpu section, in address order,
    and the section size. Empty when the image has no per-cpu section or no symbols."""
    from cpualloc_cli.analysis.extent import percpu_section
    from cpualloc_cli.analysis.packing import infer_alignment

    sec = percpu_section(image)
    syms = image.symbols
    if sec is None or syms is None:
        return [], 0 if sec is None else sec.size_bytes
    rows = []
    seen: set[tuple[int, int]] = set()
    for i in range(len(syms)):
        if syms.shndx[i] != sec.index:
            continue
        size = int(syms.sizes[i])
        if size <= 0:
            continue
        off = int(syms.values[i]) - sec.address
        if off < 0 or off + size > sec.size_bytes or (off, size) in seen:
            continue
        seen.add((off, size))
        rows.append((off, size))
    rows.sort()
    return [(size, infer_alignment(off, size)) for off, size in rows], sec.size_bytes

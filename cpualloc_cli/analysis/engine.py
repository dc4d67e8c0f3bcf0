"""The evaluation engine: one place that decides what "fits" means, for check, sweep, scale and
footprint alike.

Inputs: the resolved config (values with origins), what was measured from an image, the
footprint inputs, the kernel's own size (measured, given, modelled or a cited lower bound) and
the limits. Out: every measure with its basis, and every applicable limit with its status,
arithmetic and fix. The commands only gather inputs and render the result.

Pure: no I/O, no click, no library objects.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from cpualloc_cli.analysis import pageflags
from cpualloc_cli.analysis.footprint import DESIGN_FUNCTIONS, choose_design
from cpualloc_cli.analysis.limits import (
    DEFAULT_NR_CPUS_RANGE,
    CheckContext,
    SweepBound,
    compute_sweep_bounds,
    compute_top_bss,
    evaluate_limits,
    parse_version,
)
from cpualloc_cli.analysis.placement import (
    PlacementInputs,
    compute_boot_measures,
    compute_stack_cpumask_bytes,
    evaluate_placement,
)
from cpualloc_cli.model.boot import BootFacts
from cpualloc_cli.model.bootmem import BootMemReport
from cpualloc_cli.model.config import ResolvedConfig
from cpualloc_cli.model.footprint import Design, FootprintInputs, InputFact, Provenance
from cpualloc_cli.model.image import ElfImage
from cpualloc_cli.model.limits import Limit, LimitOutcome, Status, Waiver
from cpualloc_cli.model.lower_bounds import LowerBound
from cpualloc_cli.model.measures import Measure, format_bytes

# Measures of the kernel image itself: without an image they are only known from below.
BASE_MEASURES = frozenset({Measure.IMAGE_EXTENT, Measure.TEXT, Measure.DATA, Measure.BSS, Measure.TOTAL})
# What a cpu_alloc design changes in the image (the model over the image's measured base wins).
DESIGN_MEASURES = frozenset({Measure.IMAGE_EXTENT, Measure.BSS, Measure.CPU_AREA, Measure.ADDRESS_SPACE,
                             Measure.VMALLOC_SHARE, Measure.PERCPU_UNIT, Measure.PERCPU_RESIDENT})
CPU_AREA_SYMBOL = "cpu_area"  # the static cpu_alloc area in BSS (2007 patch, mm/cpu_alloc.c)

# Arrays of NR_CPUS elements whose size gives NR_CPUS (symbol, element bytes or None = sizeof(long), source).
NR_CPUS_ARRAYS: tuple[tuple[str, str, int | None, str], ...] = (
    ("*", "__per_cpu_offset", None, "include/asm-generic/percpu.h:19: unsigned long __per_cpu_offset[NR_CPUS]"),
    ("sparc64", "trap_block", 256, "arch/sparc/include/asm/trap_block.h:56: struct trap_per_cpu trap_block[NR_CPUS], "
                                   "256 bytes each (TRAP_BLOCK_SZ_SHIFT 8, line 116)"),
)
# Possible CPUs when neither --possible-cpus nor the machine says: the per-cpu cost is stated at this
# count and "at most ... at NR_CPUS" beside it, never silently at NR_CPUS.
DEFAULT_POSSIBLE_CPUS = 64


# ------------------------------------------------------------------------------------------
# facts


@dataclass(frozen=True)
class ImageFacts:
    """What an image tells by itself, each with its source."""

    path: str
    measures: dict[str, float]
    sources: dict[str, str]
    input_kind: str  # "kernel", "module" or "object"
    top_bss: tuple[tuple[str, int], ...] = ()
    cpu_area_bytes: int = 0
    nr_cpus: int | None = None  # derived from an [NR_CPUS] array
    nr_cpus_source: str | None = None
    banner_version: str | None = None


_BANNER_VERSION = re.compile(r"Linux version (\d+\.\d+[0-9A-Za-z.+_~-]*)")


def banner_version(banner: str | None) -> str | None:
    m = _BANNER_VERSION.search(banner or "")
    return m.group(1) if m else None


def derive_nr_cpus(img: ElfImage) -> tuple[int | None, str | None]:
    """NR_CPUS from the size of an array of NR_CPUS elements, labelled as derived."""
    syms = img.symbols
    if syms is None:
        return None, None
    long_bytes = img.header.elf_class // 8
    for arch, name, elem, source in NR_CPUS_ARRAYS:
        if arch != "*" and arch != img.header.arch:
            continue
        i = syms.index(name)
        if i is None:
            continue
        size = int(syms.sizes[i])
        e = elem or long_bytes
        if size > 0 and size % e == 0:
            how = ""
            if syms.size_source(i) != "symtab":
                how = (f"; its size is derived from {img.symbols_from or 'symbol addresses'} (the distance to the "
                       "next symbol, an upper bound)")
            return size // e, f"derived: sizeof({name}) {size} B / {e} B per CPU ({source}){how}"
    return None, None


def compute_image_facts(img: ElfImage, path: str, file_is_elf: bool, file_bytes: int | None) -> ImageFacts:
    from cpualloc_cli.analysis.extent import compute_extents, compute_percpu
    from cpualloc_cli.analysis.sizes import compute_berkeley

    m: dict[str, float] = {}
    src: dict[str, str] = {}
    b = compute_berkeley(img)
    for k, v in (("text", b.text), ("data", b.data), ("bss", b.bss), ("total", b.dec)):
        m[k] = float(v)
        src[k] = f"image: {img.size_label()} {k}"
    ext = compute_extents(img)
    if ext and img.sections_from is not None and ext[0].end_name != "_end":
        # stand-in sections (a raw payload's bound-symbol ranges) do not reach the kernel's end:
        # without an _end symbol there is no image extent to measure
        ext = ()
    if ext:
        m["image_extent"] = float(ext[0].size_bytes)
        src["image_extent"] = f"image: {ext[0].end_name} - {ext[0].start_name} (0x{ext[0].end:x} - 0x{ext[0].start:x})"
        if img.sections_from is not None:
            src[Measure.IMAGE_EXTENT.value] += f" (sections from {img.sections_from})"
    pc = compute_percpu(img)
    if pc.section is not None:
        m["percpu_static"] = float(pc.size_bytes)
        src["percpu_static"] = f"image: size of {pc.section}"
    if not file_is_elf and file_bytes is not None:
        m["compressed_size"] = float(file_bytes)
        src["compressed_size"] = f"file size of {path}"
    kind = "kernel"
    if img.header.file_type == "REL":
        kind = "module" if path.endswith(".ko") or img.section(".modinfo") is not None else "object"
    if kind == "module" and Measure.PERCPU_STATIC.value not in m:
        # No .data..percpu: the loader finds section index 0 (sh_size 0) and allocates nothing,
        # so the module's per-cpu need is measured, and it is 0 B.
        m[Measure.PERCPU_STATIC.value] = 0.0
        src[Measure.PERCPU_STATIC.value] = ("image: no .data..percpu section, the module takes no per-cpu memory "
                                "(linux-6.1 kernel/module/main.c:178-190 find_sec() returns 0; "
                                ":371-377 percpu_modalloc() returns 0 when sh_size is 0)")
    area = 0
    if img.symbols is not None:
        i = img.symbols.index(CPU_AREA_SYMBOL)
        area = 0 if i is None else int(img.symbols.sizes[i])
    nr, nr_src = derive_nr_cpus(img) if kind == "kernel" else (None, None)
    return ImageFacts(path=path, measures=m, sources=src, input_kind=kind, top_bss=compute_top_bss(img),
                      cpu_area_bytes=area, nr_cpus=nr, nr_cpus_source=nr_src,
                      banner_version=banner_version(img.banner))


def decide_kernel_version(cli: str | None, config: ResolvedConfig | None, image: ImageFacts | None,
                          ikconfig_version: str | None = None) -> tuple[str | None, str]:
    """The kernel version from evidence, in this order: --kernel-version, the --srctree Makefile,
    the .config header, the image banner, the image's IKCONFIG; then the bundled model's era.
    (None, why) when nothing says."""
    if cli:
        return cli, "--kernel-version"
    if config is not None and config.kernel_version_source == "srctree Makefile" and config.kernel_version:
        return config.kernel_version, "srctree Makefile"
    if config is not None and config.header_version:
        return config.header_version, ".config header"
    if image is not None and image.banner_version:
        return image.banner_version, "image banner"
    if ikconfig_version:
        return ikconfig_version, "image IKCONFIG header"
    if config is not None and config.kernel_version:
        src = config.kernel_version_source
        if src == "bundled model":
            src = f"bundled model (the {config.arch} entry describes Linux {config.kernel_version})"
        return config.kernel_version, src
    return None, "unknown: no --kernel-version, tree, config header or image banner"


# ------------------------------------------------------------------------------------------
# the kernel's own size


@dataclass(frozen=True)
class KernelBase:
    """The kernel's own size without any modelled cpu area: exact, or only a lower bound."""

    kind: str  # "image", "--base-size", "scale model", "baseline", "lower bound", "none"
    exact: bool
    source: str
    measures: dict[str, int] = field(default_factory=dict)  # image_extent, bss, text, data, total


_BASE_KEYS = frozenset(m.value for m in BASE_MEASURES)  # the image's own figures, from the enum


def choose_base(*, image: ImageFacts | None, given: KernelBase | None, scaled: KernelBase | None,
                baseline: Mapping[str, float] | None, lower: Callable[[], KernelBase]) -> KernelBase:
    """The kernel's own size, in order: the image, --base-size, --scale-from, a baseline report,
    the cited lower bound (`lower`); "none" (0 B, a lower bound) when nothing is known."""
    if image is not None:
        return KernelBase("image", True, f"measured from {image.path}",
                          {k: int(v) for k, v in image.measures.items() if k in _BASE_KEYS})
    if given is not None:
        return given
    if scaled is not None:
        return scaled
    if baseline and "image_extent" in baseline:
        return KernelBase("baseline", True, "the baseline report's measured figures",
                          {k: int(v) for k, v in baseline.items() if k in _BASE_KEYS})
    return lower()


X86_DEFAULT_PHYSICAL = (0x1000000, 0x200000)  # arch/x86/Kconfig: PHYSICAL_START, PHYSICAL_ALIGN defaults


def _x86_physical(config: Mapping[str, str] | None) -> int:
    """ALIGN(CONFIG_PHYSICAL_START, CONFIG_PHYSICAL_ALIGN) (arch/x86/include/asm/page_types.h:34)."""
    start, align = X86_DEFAULT_PHYSICAL
    for key, default in (("PHYSICAL_START", start), ("PHYSICAL_ALIGN", align)):
        raw = (config or {}).get(key)
        try:
            value = int(raw, 0) if raw else default
        except ValueError:
            value = default
        if key == "PHYSICAL_START":
            start = value
        else:
            align = value if value > 0 else X86_DEFAULT_PHYSICAL[1]
    return -(-start // align) * align


def _floor(lb: LowerBound, config: Mapping[str, str] | None) -> dict[str, int]:
    """The entry's figures for this config: on x86 the loader's extent (_end - LOAD_OFFSET)
    includes the physical start, which is the config's, not the build's."""
    m = dict(lb.measures)
    if lb.arch in ("x86_64", "i386"):
        if lb.kind == "measured" and "text_to_end" in lb.extents:
            m["image_extent"] = _x86_physical(config) + lb.extents["text_to_end"]
        elif lb.kind == "structural" and "PHYSICAL_START" in lb.floor_symbols:
            m["image_extent"] = _x86_physical(config)
    return m


def choose_lower_bound(table: Sequence[LowerBound], arch: str, version: str | None,
                       smp: bool | None, config: Mapping[str, str] | None = None) -> KernelBase:
    """The tightest cited lower bound for this arch and version: the largest figure of the
    entries that hold for it (a measured build of the same series, the smaller of its SMP and UP
    builds when SMP is unknown; structural floors whose version range holds). "none" (0 B) when
    the table has nothing."""
    from cpualloc_cli.analysis.limits import version_in_range

    v = parse_version(version) if version else None
    series = ".".join(str(p) for p in v[:2]) if v else None
    measured = [lb for lb in table if lb.kind == "measured" and lb.arch == arch and series is not None
                and lb.series == series and (smp is None or lb.smp is None or lb.smp == smp)]
    floors = [lb for lb in table if lb.kind == "structural" and lb.arch == arch
              and (version is not None and version_in_range(version, lb.since, lb.before)
                   or version is None and not lb.since)]
    best: dict[str, int] = {}
    used: dict[str, str] = {}
    if measured:
        figures = [_floor(lb, config) for lb in measured]
        keys = set.intersection(*(set(f) for f in figures))
        for k in keys:
            i = min(range(len(figures)), key=lambda n: figures[n][k])
            best[k] = figures[i][k]
            used[k] = measured[i].source
    for lb in floors:
        for k, val in _floor(lb, config).items():
            if val > best.get(k, -1):
                best[k] = val
                used[k] = lb.source
    if not best:
        return KernelBase("none", False, f"no image and no cited lower bound for {arch}"
                          + (f" {version}" if version else "") + ": the kernel's own size is taken as at least 0 B")
    what = used.get("image_extent") or next(iter(used.values()))
    return KernelBase("lower bound", False, f"lower bound: {what}", best)


# ------------------------------------------------------------------------------------------
# buildability


def nr_cpus_range(config: ResolvedConfig | None, arch: str) -> tuple[int, int] | None:
    if config is not None:
        d = config.details.get("NR_CPUS")
        if d is not None and d.range is not None:
            return d.range
    return DEFAULT_NR_CPUS_RANGE.get(arch)


def compute_build_blocker(config: Mapping[str, str] | None, arch: str, version: str | None, n: int,
                          kconfig_range: tuple[int, int] | None) -> str | None:
    """Why NR_CPUS=n does not build with this config (None: nothing known stops it): outside the
    Kconfig range (conf would not take it), or sparc64's page-flags BUILD_BUG_ON."""
    if kconfig_range is not None and not kconfig_range[0] <= n <= kconfig_range[1]:
        return f"outside NR_CPUS's Kconfig range {kconfig_range[0]}..{kconfig_range[1]}"
    v = parse_version(version) if version else None
    if (arch == "sparc64" and config is not None and config.get("SMP", "n") == "y"
            and (v is None or v >= (2, 6, 27))):
        if not pageflags.evaluate_sparc64_pageflags(config, n).ok:
            return "the sparc64 page-flags BUILD_BUG_ON (arch/sparc/mm/init_64.c) fails"
    return None


# ------------------------------------------------------------------------------------------
# measures


@dataclass(frozen=True)
class MeasureSet:
    values: dict[str, float]
    sources: dict[str, str]
    lower_bounds: frozenset[str]  # measures known only from below (the base was a lower bound)


def compute_measures(inp: FootprintInputs | None, design: Design | None, image: ImageFacts | None,
                     base: KernelBase, model_design: bool) -> MeasureSet:
    """Every measure with its basis. `model_design`: a design was asked for (config or --design),
    so the footprint model supplies the design's measures."""
    values: dict[str, float] = dict(image.measures) if image is not None else {}
    sources: dict[str, str] = dict(image.sources) if image is not None else {}
    lower: set[str] = set()
    if image is None:
        for k, v in base.measures.items():
            if k in (m.value for m in BASE_MEASURES):
                values[k] = float(v)
                sources[k] = base.source
                if not base.exact:
                    lower.add(k)
    if inp is not None and design is not None and model_design:
        fp = DESIGN_FUNCTIONS[design](inp, explain=False)
        model_wins = image is None or design is not Design.PERCPU
        basis = "footprint model" + (" over the image's measured base" if image is not None else
                                     f" over the kernel's base ({base.source})")
        for meas, mvalue in fp.measures.items():
            if meas.value not in values or (model_wins and meas in DESIGN_MEASURES) or \
                    (image is None and meas in BASE_MEASURES):
                values[meas.value] = float(mvalue)
                sources[meas.value] = f"{basis}: {design.value} design, NR_CPUS={inp.nr_cpus}"
                if meas in BASE_MEASURES and not base.exact and image is None:
                    lower.add(meas.value)
        lower |= {m for m in lower_bound_measures(inp, image, base) if m in values}
        if {"text", "data", "bss"} <= values.keys() and (model_wins or image is None):
            values[Measure.TOTAL] = values[Measure.TEXT] + values[Measure.DATA] + values[Measure.BSS]
            sources[Measure.TOTAL] = "text + data + bss" + (" (bss from the footprint model)" if image is not None else "")
            if lower & {"text", "data", "bss"}:
                lower.add("total")
    return MeasureSet(values, sources, frozenset(lower))


def lower_bound_measures(inp: FootprintInputs | None, image: ImageFacts | None, base: KernelBase) -> frozenset[str]:
    """The measures known only from below for these inputs (what sweep marks inconclusive and
    check cannot pass): with no image, the image's own figures when the base is a lower bound, and
    the per-cpu figures when the static per-cpu size is an estimate or the smallest build's."""
    if image is not None:
        return frozenset()
    out: set[str] = set()
    if not base.exact:
        out |= {m.value for m in BASE_MEASURES}
    fact = next((f for f in inp.facts if f.name == "percpu_static_bytes"), None) if inp is not None else None
    if fact is not None and (fact.provenance is Provenance.DEFAULT
                             or (not base.exact and fact.note.startswith("at least"))):
        out |= {Measure.PERCPU_STATIC.value, Measure.PERCPU_UNIT.value, Measure.PERCPU_RESIDENT.value}
    return frozenset(out)


def with_base(inp: FootprintInputs, base: KernelBase) -> FootprintInputs:
    """The footprint inputs with the kernel's own BSS and extent from `base` (no image)."""
    facts = tuple(f for f in inp.facts if f.name not in ("base_bss_bytes", "base_extent_bytes"))
    prov = Provenance.COMMAND_LINE if base.kind == "--base-size" else Provenance.DERIVED
    label = "" if base.exact else "at least "
    facts += (InputFact("base_bss_bytes", base.measures.get("bss", 0), prov, label + base.source),
              InputFact("base_extent_bytes", base.measures.get("image_extent", 0), prov, label + base.source))
    static = inp.percpu_static_bytes
    static_fact = next((f for f in facts if f.name == "percpu_static_bytes"), None)
    if "percpu_static" in base.measures and static_fact is not None and static_fact.provenance is Provenance.DEFAULT:
        # the smallest build's .data..percpu rather than an estimate from a larger one
        facts = tuple(f for f in facts if f.name != "percpu_static_bytes") + (
            InputFact("percpu_static_bytes", base.measures["percpu_static"], prov, label + base.source),)
        static = base.measures["percpu_static"]
    return replace(inp, base_bss_bytes=base.measures.get("bss", 0),
                   base_extent_bytes=base.measures.get("image_extent", 0), facts=facts, percpu_static_bytes=static)


# ------------------------------------------------------------------------------------------
# evaluation


@dataclass(frozen=True)
class EvalRequest:
    arch: str
    kernel_version: str | None
    kernel_version_source: str
    limits: tuple[Limit, ...]
    waivers: tuple[Waiver, ...] = ()
    config: ResolvedConfig | None = None
    config_lines: Mapping[str, int] = field(default_factory=dict)
    inputs: FootprintInputs | None = None  # None for a module/object
    config_design: tuple[Design, str] | None = None
    cli_design: Design | None = None
    image: ImageFacts | None = None
    base: KernelBase = KernelBase("none", False, "no base")
    extra_measures: Mapping[str, float] = field(default_factory=dict)  # e.g. a boot image's file size
    extra_sources: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, int] = field(default_factory=dict)
    today: dt.date = dt.date(1970, 1, 1)
    # boot side (issue 13): the kernel's boot image and DTB facts, and the boot's addresses
    boot_kernel: BootFacts | None = None
    boot_dtb: BootFacts | None = None
    dtb_size: int | None = None
    placement: PlacementInputs | None = None
    # boot memory (issue 15): the model at --memory, and the capture kernel inside crashkernel=
    boot_memory: BootMemReport | None = None
    kdump_memory: BootMemReport | None = None


@dataclass(frozen=True)
class Evaluation:
    request: EvalRequest
    design: Design | None
    design_source: str | None
    measures: MeasureSet
    outcomes: tuple[LimitOutcome, ...]
    not_applicable: tuple[str, ...]
    nr_cpus: int | None
    nr_cpus_range: tuple[int, int] | None


def _design(req: EvalRequest) -> tuple[Design | None, str | None]:
    if req.inputs is None or (req.config is None and req.cli_design is None):
        return None, None
    v = req.inputs.kernel_version
    chosen, reason = choose_design(req.cli_design, req.config_design, req.inputs.arch, v)
    return chosen, reason


def measures_at(req: EvalRequest, design: Design | None, n: int) -> MeasureSet:
    """The measures with NR_CPUS = n (every CPU possible unless --possible-cpus fixed a count)."""
    if req.inputs is None:
        return compute_measures(None, None, req.image, req.base, False)
    inp = req.inputs
    possible = n if inp.possible_cpus == inp.nr_cpus else min(inp.possible_cpus, n)
    return compute_measures(replace(inp, nr_cpus=n, possible_cpus=possible), design, req.image, req.base,
                            model_design=design is not None)


def _input_kind(req: EvalRequest) -> str:
    return "module" if req.image is not None and req.image.input_kind == "module" else "kernel"


def _nr_cpus(req: EvalRequest) -> int | None:
    cfg = req.config
    if cfg is not None and cfg.values.get("SMP") != "n":
        if req.inputs is not None and not any(f.name == "nr_cpus" and f.provenance is Provenance.DEFAULT
                                              for f in req.inputs.facts):
            return req.inputs.nr_cpus
        return cfg.get_int("NR_CPUS")
    if cfg is None and req.image is not None:
        return req.image.nr_cpus
    return None


def context(req: EvalRequest, measures: MeasureSet, design: Design | None, *,
            projector: Callable[[str | None, int], Mapping[str, float]] | None = None) -> CheckContext:
    cfg = req.config
    rng = nr_cpus_range(cfg, req.arch)
    return CheckContext(
        arch=req.arch, kernel_version=req.kernel_version, input_kind=_input_kind(req),
        config=cfg.values if cfg is not None else None, config_path=cfg.config_path if cfg is not None else None,
        config_lines=req.config_lines, image_path=req.image.path if req.image is not None else None,
        measures=measures.values, measure_sources=measures.sources, params=req.params,
        design=design.value if design is not None else None, projector=projector, nr_cpus=_nr_cpus(req),
        nr_cpus_range=rng, top_bss=req.image.top_bss if req.image is not None else (), today=req.today,
        lower_bounds=measures.lower_bounds, base_extent_bytes=req.base.measures.get("image_extent")
        if req.image is None else (req.inputs.base_extent_bytes if req.inputs is not None else None),
        builds=(lambda n: compute_build_blocker(cfg.values if cfg is not None else None, req.arch,
                                                req.kernel_version, n, rng)),
        base_exact=req.base.exact or req.image is not None)


def evaluate(req: EvalRequest) -> Evaluation:
    """Every applicable limit, evaluated over the measures the inputs give."""
    design, why = _design(req)
    ms = compute_measures(req.inputs, design, req.image, req.base, model_design=design is not None)
    if req.extra_measures:
        values = dict(ms.values) | dict(req.extra_measures)
        sources = dict(ms.sources) | dict(req.extra_sources)
        ms = MeasureSet(values, sources, ms.lower_bounds)
    boot_values, boot_sources = boot_measures(req)
    mem_values, mem_sources = boot_memory_measures(req.boot_memory, req.kdump_memory)
    boot_values |= mem_values
    boot_sources |= mem_sources
    if boot_values:
        ms = MeasureSet(dict(ms.values) | boot_values, dict(ms.sources) | boot_sources, ms.lower_bounds)
    projector = None
    if req.inputs is not None and design is not None:
        cache: dict[tuple[str | None, int], Mapping[str, float]] = {}

        def project(d: str | None, n: int) -> Mapping[str, float]:
            key = (d, n)
            if key not in cache:
                if d == "none":
                    assert req.inputs is not None
                    cache[key] = {"image_extent": float(req.inputs.base_extent_bytes or 0),
                                  "bss": float(req.inputs.base_bss_bytes or 0)}
                else:
                    cache[key] = measures_at(req, design if d is None else Design(d), n).values
            return cache[key]

        projector = project
    ctx = context(req, ms, design, projector=projector)
    boot = req.boot_kernel
    place = req.placement or PlacementInputs()
    ctx = replace(ctx, placement=lambda limit, blank: evaluate_placement(limit, req.arch, boot, place, blank))
    outcomes, not_applicable = evaluate_limits(req.limits + (), req.waivers, ctx)
    return Evaluation(req, design, why, ms, outcomes, not_applicable, ctx.nr_cpus, ctx.nr_cpus_range)


def boot_measures(req: EvalRequest) -> tuple[dict[str, float], dict[str, str]]:
    """The boot-side measures: the boot image's and DTB's header facts, partition_blocks, and
    stack_cpumask_bytes from NR_CPUS (BITS_TO_LONGS(NR_CPUS) longs)."""
    values, sources = compute_boot_measures(req.boot_kernel, req.boot_dtb, req.dtb_size, req.params)
    from cpualloc_cli.model.arches import ARCHES

    n = _nr_cpus(req)
    arch = ARCHES.get(req.arch)
    if n is not None and arch is not None:
        long_bytes = arch.bits // 8
        values[Measure.STACK_CPUMASK_BYTES] = float(compute_stack_cpumask_bytes(n, long_bytes))
        sources[Measure.STACK_CPUMASK_BYTES] = (f"BITS_TO_LONGS(NR_CPUS={n}) x sizeof(long) {long_bytes} B "
                                          "(include/linux/cpumask.h: cpumask_t)")
    return values, sources


def sweep_bounds(req: EvalRequest, measures: frozenset[str] | None = None,
                 what: str = "sweep") -> tuple[list[SweepBound], list[str]]:
    """The applicable measure limits whose bound is known without a measurement (sweep, scale),
    selected by check's own applicability rules."""
    ms = MeasureSet({}, {}, frozenset())
    ctx = context(req, ms, None)
    if measures is None:
        bounds, notes = compute_sweep_bounds(req.limits, ctx, what=what)
    else:
        bounds, notes = compute_sweep_bounds(req.limits, ctx, measures, what)
    return bounds + placement_sweep_bounds(req, ctx), notes


def placement_sweep_bounds(req: EvalRequest, ctx: CheckContext) -> list[SweepBound]:
    """arm64 placement as a bound a sweep can track: image_size covers _text.._end (the image
    extent), so the room from the load address to the next object above it (DTB, initrd, end of
    RAM) bounds image_extent."""
    from cpualloc_cli.analysis.limits import _applicability
    from cpualloc_cli.model.limits import LimitKind

    p = req.placement
    if p is None or p.load_addr is None or req.arch != "arm64":
        return []
    above = [a for a in (p.dtb_addr, p.initrd_addr) if a is not None and a >= p.load_addr]
    if p.ram_base is not None and p.ram_size is not None:
        above.append(p.ram_base + p.ram_size)
    if not above:
        return []
    room = min(above) - p.load_addr
    out = []
    for limit in req.limits:
        if limit.kind is LimitKind.PLACEMENT and limit.measure == Measure.IMAGE_SIZE and _applicability(limit, ctx)[0]:
            out.append(SweepBound(limit, Measure.IMAGE_EXTENT.value, float(room), (
                f"bound = next object at 0x{min(above):x} - load 0x{p.load_addr:x} = {room} B ({p.source}); "
                "image_size = _end - _text = image_extent",)))
    return out


def verdict(value: float | None, bound: float, strict_less: bool, lower_bound_only: bool,
            warn_above: float | None = None, warn_within: float | None = None) -> Status:
    """The one comparison every command uses: a value known only from below can fail, never pass;
    above a limit's warning threshold (warn_above, or within warn_within of the bound) it fails
    (at warning severity) though within the bound."""
    if value is None:
        return Status.SKIPPED
    ok = value < bound if strict_less else value <= bound
    near = warn_within is not None and value > bound - warn_within
    if not ok or (warn_above is not None and value > warn_above) or near:
        return Status.FAIL
    return Status.INCONCLUSIVE if lower_bound_only else Status.PASS


def describe_base(base: KernelBase) -> str:
    ext = base.measures.get("image_extent")
    size = f"{format_bytes(ext)} ({ext} B)" if ext is not None else "unknown"
    return f"{'' if base.exact else 'at least '}{size}: {base.source}"


def boot_memory_measures(at_memory: BootMemReport | None, kdump: BootMemReport | None
                         ) -> tuple[dict[str, float], dict[str, str]]:
    """memory_reserved (the boot's reservation at --memory) and kdump_reserved (the capture
    kernel's own reservation when booted with memory = the crashkernel= size, its initramfs
    included), from the boot memory model; an inconclusive report gives no value (the limit is
    then not decided, never passed)."""
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    if at_memory is not None and at_memory.reserved_bytes is not None:
        values[Measure.MEMORY_RESERVED] = float(at_memory.reserved_bytes)
        sources[Measure.MEMORY_RESERVED] = (f"boot memory model at {at_memory.inputs.memory_bytes} B RAM, "
                                            f"{at_memory.inputs.possible_cpus} possible CPU(s) (footprint --memory)")
    if kdump is not None and kdump.reserved_bytes is not None:
        values[Measure.KDUMP_RESERVED] = float(kdump.reserved_bytes)
        sources[Measure.KDUMP_RESERVED] = (f"boot memory model of the capture kernel in {kdump.inputs.memory_bytes} B "
                                           f"(crashkernel=), initrd {kdump.inputs.initrd_bytes} B, "
                                           f"{kdump.inputs.possible_cpus} possible CPU(s)")
    return values, sources

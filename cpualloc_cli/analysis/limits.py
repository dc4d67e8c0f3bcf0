"""Evaluate limits, waivers and budgets (pure: today's date and every input are passed in).

The fixes are computed, never canned: the largest NR_CPUS tries every value of the Kconfig
range (footprints are not monotonic in NR_CPUS: the percpu unit rounding jumps), the virtual
design is projected, and the top BSS symbols come from the image's symbol table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from cpualloc_cli.analysis import pageflags
from cpualloc_cli.model.arches import ARCHES
from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.image import SHT_NOBITS, ElfImage
from cpualloc_cli.model.limits import (
    BudgetOutcome,
    Fix,
    Limit,
    LimitKind,
    LimitOutcome,
    Status,
    Waiver,
)
from cpualloc_cli.model.measures import FRACTION_MEASURES, Budget, format_bytes

# (design, nr_cpus) -> measures of that variant; design None = the design in use, "none" = no cpu area.
Projector = Callable[[str | None, int], Mapping[str, float]]

# NR_CPUS ranges when the config does not carry one (Kconfig of the arch, 6.1 unless noted).
DEFAULT_NR_CPUS_RANGE: dict[str, tuple[int, int]] = {
    "sparc64": (2, 4096),  # arch/sparc/Kconfig:181
    "sparc32": (2, 32),  # arch/sparc/Kconfig:180
    "i386": (2, 255),  # 2.6.24 arch/x86/Kconfig (PRODUCT.md: "i386's Kconfig range tops out at 255")
    "x86_64": (2, 512),  # arch/x86/Kconfig NR_CPUS_RANGE_END without MAXSMP
}


@dataclass(frozen=True)
class CheckContext:
    arch: str
    kernel_version: str | None
    input_kind: str = "kernel"  # "kernel" or "module"
    config: Mapping[str, str] | None = None  # symbol -> value ("y", "n", "64"); None: no config
    config_path: str | None = None
    config_lines: Mapping[str, int] = field(default_factory=dict)  # symbol -> line in config_path
    image_path: str | None = None
    measures: Mapping[str, float] = field(default_factory=dict)
    measure_sources: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, int] = field(default_factory=dict)  # crashkernel, load_window
    design: str | None = None
    projector: Projector | None = None
    nr_cpus: int | None = None
    nr_cpus_range: tuple[int, int] | None = None
    top_bss: tuple[tuple[str, int], ...] = ()
    today: dt.date = dt.date(1970, 1, 1)
    # measures known only from below (no image: the kernel's own size is a cited lower bound)
    lower_bounds: frozenset[str] = frozenset()
    base_extent_bytes: int | None = None  # the kernel's own extent without a cpu area, when known
    base_exact: bool = True
    # NR_CPUS -> why that value does not build (None: nothing known stops it)
    builds: Callable[[int], str | None] | None = None
    # a placement limit and its blank outcome -> the evaluated outcome (None: no placement inputs)
    placement: Callable[[Limit, LimitOutcome], LimitOutcome] | None = None


def parse_version(text: str) -> tuple[int, ...] | None:
    m = re.match(r"^\s*v?(\d+(?:\.\d+)*)", text)
    if not m:
        return None
    return tuple(int(p) for p in m.group(1).split("."))


def version_in_range(version: str, since: str, before: str) -> bool:
    v = parse_version(version)
    if v is None:
        return True
    if since:
        s = parse_version(since)
        if s is not None and v < s:
            return False
    if before:
        b = parse_version(before)
        if b is not None and v >= b:
            return False
    return True


def compute_top_bss(image: ElfImage, count: int = 5) -> tuple[tuple[str, int], ...]:
    """The largest symbols placed in NOBITS alloc sections (the BSS), largest first."""
    if image.symbols is None:
        return ()
    nobits = {s.index for s in image.sections if s.is_alloc and s.type_code == SHT_NOBITS}
    syms = image.symbols
    rows = [(int(syms.sizes[i]), syms.names[i]) for i in range(len(syms))
            if syms.shndx[i] in nobits and syms.sizes[i] > 0]
    rows.sort(key=lambda r: (-r[0], r[1]))
    return tuple((name, size) for size, name in rows[:count])


def _fmt(value: float, unit: str) -> str:
    if unit == "fraction":
        return f"{value * 100:.1f} %"
    if unit == "bits":
        return f"{int(value)} bits"
    return f"{format_bytes(int(value))} ({int(value)} B)"


def _unit(measure: str | None) -> str:
    return "fraction" if measure in FRACTION_MEASURES else "bytes"


def _fits(value: float, bound: float, strict_less: bool) -> bool:
    return value < bound if strict_less else value <= bound


def _matches(config: Mapping[str, str], pairs: Sequence[tuple[str, str]]) -> bool:
    return all(config.get(k, "n") == v for k, v in pairs)


def _applicability(limit: Limit, ctx: CheckContext) -> tuple[bool, str | None]:
    """(applies, skip reason). Not applying = filtered out (arch, input kind, version, config)."""
    if not limit.applies_to_arch(ctx.arch):
        return False, None
    if limit.input != ctx.input_kind:
        return False, None
    if limit.since or limit.before:
        if ctx.kernel_version is None:
            # Unknown version: a current kernel is assumed (the report says so); limits of old
            # kernels only do not apply.
            return not limit.before, None
        if not version_in_range(ctx.kernel_version, limit.since, limit.before):
            return False, None
    if limit.requires_config and ctx.config is not None and not _matches(ctx.config, limit.requires_config):
        return False, None
    return True, None


def memory_reserved_room(params: Mapping[str, int]) -> tuple[int | None, list[str]]:
    """What the boot may reserve so that `min_free_memory` of `memory` stays available:
    memory - min_free_memory (the Memory: line's available = physpages - reserved,
    mm/page_alloc.c:8509-8557). None without both, or when min_free_memory exceeds memory."""
    mem, need = params.get("memory"), params.get("min_free_memory")
    if mem is None or need is None or need > mem:
        return None, []
    return mem - need, [f"bound = memory - min_free_memory = {mem} - {need} = {mem - need} B"]


def _resolve_bound(limit: Limit, ctx: CheckContext) -> tuple[float | None, list[str], str | None]:
    """(bound, arithmetic lines, skip reason)."""
    lines: list[str] = []
    if limit.bound_param is not None:
        value = ctx.params.get(limit.bound_param)
        if value is None and limit.bound_param == "memory_reserved_room":
            value, room_lines = memory_reserved_room(ctx.params)
            lines += room_lines
        if value is None:
            if limit.bound_param == "memory_reserved_room":
                return None, lines, ("no memory and min_free_memory given (--param memory=SIZE --param "
                                     "min_free_memory=SIZE, min_free_memory at most memory)")
            if limit.bound_param in ("crashkernel", "load_window"):
                opt = "--" + limit.bound_param.replace("_", "-") + " SIZE"
                return None, lines, f"no {limit.bound_param} given ({opt} or `{limit.bound_param} = ...` in the policy)"
            return None, lines, (f"no {limit.bound_param} given (--param {limit.bound_param}=SIZE or a --platform "
                                 "preset that sets it)")
        lines.append(f"bound = {limit.bound_param} = {_fmt(value, 'bytes')}")
        return float(value), lines, None
    if limit.bound_symbol is not None:
        raw = ctx.config.get(limit.bound_symbol) if ctx.config is not None else None
        if raw not in (None, "", "n"):
            assert raw is not None
            try:
                value = int(raw, 0)
            except ValueError:
                return None, lines, f"CONFIG_{limit.bound_symbol}={raw!r} is not a number"
            lines.append(f"bound = CONFIG_{limit.bound_symbol} = {raw} = {_fmt(value, 'bytes')}")
            return float(value), lines, None
        if limit.bound is None:
            return None, lines, f"CONFIG_{limit.bound_symbol} unknown (no config)"
        lines.append(f"bound = CONFIG_{limit.bound_symbol} default {_fmt(limit.bound, _unit(limit.measure))} "
                     "(assumed: no config value)")
        return limit.bound, lines, None
    for case in limit.bound_when:
        if case.arches and ctx.arch not in case.arches:
            continue
        cond = ", ".join(f"{k}={v}" for k, v in case.config)
        if ctx.config is None:
            lines.append(f"{cond} unknown (no config): assumed not set")
            continue
        if _matches(ctx.config, case.config):
            lines.append(f"bound = {_fmt(case.bound, _unit(limit.measure))} because {cond}")
            return case.bound, lines, None
        lines.append(f"{cond} not set")
    assert limit.bound is not None  # the loader guarantees one of bound/bound_param/bound_symbol
    lines.append(f"bound = {_fmt(limit.bound, _unit(limit.measure))}")
    return limit.bound, lines, None


def _nr_cpus_range(ctx: CheckContext) -> tuple[int, int] | None:
    return ctx.nr_cpus_range or DEFAULT_NR_CPUS_RANGE.get(ctx.arch)


def _measure_fixes(limit: Limit, ctx: CheckContext, measure: str, bound: float, measured: float,
                   threshold: float) -> list[Fix]:
    """Fixes for a measure over `threshold` (the bound, or warn_above for a warning)."""
    fixes: list[Fix] = []
    unit = _unit(measure)
    largest: int | None = None
    if "nr_cpus" in limit.fixes and ctx.projector is not None:
        rng = _nr_cpus_range(ctx)
        if rng is not None:
            lo, hi = rng
            blocked = 0
            for n in range(lo, hi + 1):  # every value: not monotonic
                v = ctx.projector(None, n).get(measure)
                if v is not None and _fits(v, threshold, limit.strict_less):
                    if ctx.builds is not None and ctx.builds(n) is not None:
                        blocked += 1  # fits, but does not build: never offered
                        continue
                    largest = n
            if largest is None:
                fixes.append(Fix(f"no NR_CPUS in the Kconfig range {lo}..{hi} fits"
                                 + (" and builds" if blocked else ""), "nr_cpus", None))
            elif ctx.nr_cpus is None or largest < ctx.nr_cpus:
                v = ctx.projector(None, largest).get(measure, 0.0)
                lb = measure in ctx.lower_bounds
                fixes.append(Fix(f"largest NR_CPUS that {'is not ruled out' if lb else 'fits'}: {largest} "
                                 f"({measure} {'>= ' if lb else ''}{_fmt(v, unit)})"
                                 + (" (larger values that fit do not build)" if blocked else ""), "nr_cpus", largest))
    virtual_ok = False
    if "virtual_design" in limit.fixes and ctx.projector is not None and ctx.design not in (None, "virtual"):
        n = ctx.nr_cpus or 0
        virt = ctx.projector("virtual", n)
        v = virt.get(measure)
        if v is not None and _fits(v, threshold, limit.strict_less):
            virtual_ok = True
            base = ctx.projector("none", n)
            bss_v, bss_b = virt.get("bss"), base.get("bss")
            delta = ""
            if bss_v is not None and bss_b is not None:
                d = int(bss_v - bss_b)
                delta = f": BSS {'+' if d >= 0 else '-'}{format_bytes(abs(d))}"
            lb = measure in ctx.lower_bounds
            fixes.append(Fix(f"the virtual design {'is not ruled out' if lb else 'fits'}{delta} "
                             f"({measure} {'>= ' if lb else ''}{_fmt(v, unit)})", "virtual_design", None))
    if largest is not None and virtual_ok and (ctx.nr_cpus is None or largest < ctx.nr_cpus):
        fixes.insert(0, Fix(f"NR_CPUS <= {largest} or CPU_AREA_VIRTUAL=y", "summary", largest))
    cause = _cause_fix(ctx, measure, threshold, limit.strict_less, measured)
    if cause is not None:
        fixes.insert(0, cause)
    if "top_bss" in limit.fixes and ctx.top_bss and measured > threshold and unit == "bytes":
        over = int(measured - threshold)
        top = ", ".join(f"{name} ({format_bytes(size)})" for name, size in ctx.top_bss)
        fixes.append(Fix(f"over by {format_bytes(over)} ({over} B); the top BSS symbols are {top}", "top_bss", over))
    return fixes


def _cause_fix(ctx: CheckContext, measure: str, threshold: float, strict_less: bool, measured: float) -> Fix | None:
    """When a modelled term (the cpu area) is what breaks the limit, say so before anything else."""
    if ctx.projector is None or measure not in ("image_extent", "bss", "total") or ctx.design in (None, "percpu"):
        return None
    base = ctx.projector("none", ctx.nr_cpus or 0).get(measure)
    if measure == "total":
        return None
    if base is None or not _fits(base, threshold, strict_less):
        return None
    area = measured - base
    if area <= 0:
        return None
    size = ("at least " if measure in ctx.lower_bounds else "") + format_bytes(int(base))
    return Fix(f"the {ctx.design} design's cpu area ({format_bytes(int(area))}, {int(area)} B at NR_CPUS="
               f"{ctx.nr_cpus}) is what exceeds the bound: the kernel without it is {size}",
               "cause", int(area))


def _evaluate_measure(limit: Limit, ctx: CheckContext) -> LimitOutcome:
    assert limit.measure is not None
    measure = limit.measure
    unit = _unit(measure)
    base = _outcome(limit, ctx, measure, unit)
    measured = ctx.measures.get(measure)
    if limit.bound_param is not None and limit.bound_param not in ctx.params:
        derived, _, skip = _resolve_bound(limit, ctx)
        if derived is None:  # a derived bound (memory_reserved_room) goes on
            return replace(base, status=Status.SKIPPED, skip_reason=skip, measured=measured)
    if measured is None:
        need = "an image" if measure in ("compressed_size",) else "an image or a config"
        return replace(base, status=Status.SKIPPED, skip_reason=f"no {measure} measured (needs {need})")
    bound, lines, skip = _resolve_bound(limit, ctx)
    if skip is not None or bound is None:
        return replace(base, status=Status.SKIPPED, skip_reason=skip, measured=measured)
    src = ctx.measure_sources.get(measure, "")
    lower = measure in ctx.lower_bounds
    rel = ">=" if lower else "="
    lines.insert(0, f"{measure} {rel} {_fmt(measured, unit)}" + (f"  [{src}]" if src else ""))
    op_ok, op_bad = ("<", ">=") if limit.strict_less else ("<=", ">")
    ok = _fits(measured, bound, limit.strict_less)
    lines.append(f"{'at least ' if lower else ''}{_fmt(measured, unit)} {op_ok if ok else op_bad} {_fmt(bound, unit)}: "
                 f"margin {'at most ' if lower else ''}{_fmt(bound - measured, unit)}")
    warn_at = limit.warn_threshold(bound)
    if lower and ok and not (warn_at is not None and measured > warn_at):
        lines.append("the kernel's own size is only known from below (no image): the limit cannot be decided; "
                     "give the image, --base-size or --scale-from")
        return replace(base, status=Status.INCONCLUSIVE, measured=measured, bound=bound, margin=bound - measured,
                       basis=src or base.basis, arithmetic=tuple(lines))
    if lower:
        lines.append("even at the smallest size the kernel can have, the limit is exceeded")
    severity = limit.severity if limit.strict else Severity.WARNING
    if not limit.strict:
        lines.append("the kernel documents this bound as not strict: reported as a warning")
    status = Status.PASS if ok else Status.FAIL
    threshold = bound
    if ok and warn_at is not None and measured > warn_at:
        status, severity, threshold = Status.FAIL, Severity.WARNING, warn_at
        why = (f" (within {_fmt(limit.warn_within, unit)} of the bound)"
               if limit.warn_within is not None and warn_at == bound - limit.warn_within else "")
        lines.append(f"{_fmt(measured, unit)} > warning threshold {_fmt(warn_at, unit)}{why}")
    fixes = _measure_fixes(limit, ctx, measure, bound, measured, threshold) if status is Status.FAIL else []
    return replace(base, status=status, severity=severity, measured=measured, bound=bound,
                   margin=bound - measured, basis=src or base.basis, arithmetic=tuple(lines), fixes=tuple(fixes))


def _outcome(limit: Limit, ctx: CheckContext, measure: str | None, unit: str) -> LimitOutcome:
    return LimitOutcome(
        rule=limit.id, title=limit.title, status=Status.PASS, severity=limit.severity, measure=measure,
        measured=None, bound=None, margin=None, unit=unit, basis="", arithmetic=(), fixes=(),
        sources=limit.sources, note=limit.note, path=ctx.image_path or ctx.config_path, origin=limit.origin,
    )


def _evaluate_pageflags(limit: Limit, ctx: CheckContext) -> LimitOutcome:
    base = _outcome(limit, ctx, None, "bits")
    if ctx.config is None:
        return replace(base, status=Status.SKIPPED, skip_reason="needs a config (--config or --build-dir)")
    nr = ctx.nr_cpus
    if nr is None:
        return replace(base, status=Status.SKIPPED, skip_reason="NR_CPUS unknown (not SMP?)")
    res = pageflags.evaluate_sparc64_pageflags(ctx.config, nr)
    line = ctx.config_lines.get("NR_CPUS")
    out = replace(base, measured=float(res.high_fields_bits), bound=32.0,
                  margin=float(32 - res.high_fields_bits), basis="config", arithmetic=res.explain,
                  path=ctx.config_path, line=line, measure="page_flags_high_bits")
    if res.ok:
        return out
    fixes: list[Fix] = []
    lo, hi = _nr_cpus_range(ctx) or (2, pageflags.NR_CPUS_HARD_MAX_SPARC64)
    best = pageflags.largest_sparc64_nr_cpus(ctx.config, lo, hi)
    if best is None:
        fixes.append(Fix(f"no NR_CPUS in {lo}..{hi} builds with this config", "nr_cpus", None))
    else:
        fixes.append(Fix(f"largest NR_CPUS that builds: {best}", "nr_cpus", best))
    if "sparsemem_vmemmap" in limit.fixes and ctx.config.get("SPARSEMEM_VMEMMAP", "n") != "y" \
            and ctx.config.get("SPARSEMEM_VMEMMAP_ENABLE", "n") == "y":
        alt = dict(ctx.config)
        alt["SPARSEMEM_VMEMMAP"] = "y"
        if pageflags.evaluate_sparc64_pageflags(alt, nr).ok:
            fixes.append(Fix(f"or SPARSEMEM_VMEMMAP=y (SECTIONS_WIDTH 0): NR_CPUS={nr} builds", "sparsemem_vmemmap", nr))
    return replace(out, status=Status.FAIL, fixes=tuple(fixes))


def _evaluate_cpupid(limit: Limit, ctx: CheckContext) -> LimitOutcome:
    base = _outcome(limit, ctx, None, "bytes")
    if ctx.config is None:
        return replace(base, status=Status.SKIPPED, skip_reason="needs a config (--config or --build-dir)")
    arch = ARCHES.get(ctx.arch)
    nr = ctx.nr_cpus or 1
    if arch is None:
        return replace(base, status=Status.SKIPPED, skip_reason=f"arch {ctx.arch} unknown")
    layout = pageflags.compute_layout(ctx.config, ctx.arch, arch.bits, nr)
    if layout is None:
        return replace(base, status=Status.SKIPPED,
                       skip_reason=f"SECTION_SIZE_BITS/MAX_PHYSMEM_BITS of {ctx.arch} not known to cpualloc")
    lines = list(layout.explain)
    if not layout.last_cpupid_not_in_page_flags:
        return replace(base, measured=0.0, bound=0.0, margin=0.0, basis="config", arithmetic=tuple(lines),
                       measure="struct_page_growth_per_gib")
    grow, how = pageflags.struct_page_growth_bytes(ctx.config, arch.bits)
    pages_per_gib = (1 << 30) // arch.page_size
    per_gib = pages_per_gib * grow
    lines.append(how)
    lines.append(f"cost = (1 GiB / PAGE_SIZE {arch.page_size}) x {grow} B = {pages_per_gib} x {grow} = "
                 f"{format_bytes(per_gib)} ({per_gib} B) per GiB of RAM")
    fixes = []
    lo, hi = _nr_cpus_range(ctx) or (1, nr)
    best = None
    for n in range(lo, hi + 1):
        lay = pageflags.compute_layout(ctx.config, ctx.arch, arch.bits, n)
        if lay is not None and not lay.last_cpupid_not_in_page_flags:
            best = n
    if best is not None:
        fixes.append(Fix(f"largest NR_CPUS that keeps LAST_CPUPID in page->flags: {best}", "nr_cpus", best))
    return replace(base, status=Status.INFO, severity=Severity.INFO, measured=float(per_gib), bound=0.0,
                   margin=float(-per_gib), basis="config", arithmetic=tuple(lines), fixes=tuple(fixes),
                   measure="struct_page_growth_per_gib", path=ctx.config_path, line=ctx.config_lines.get("NR_CPUS"))


def _apply_waivers(out: LimitOutcome, waivers: Sequence[Waiver], today: dt.date) -> LimitOutcome:
    for w in waivers:
        if w.rule != out.rule:
            continue
        if not w.active(today):
            note = f"waiver expired on {w.expires}: not applied ({w.reason})"
            return replace(out, arithmetic=out.arithmetic + (note,))
        if out.status is Status.FAIL:
            return replace(out, status=Status.WAIVED, waiver=w)
        return replace(out, arithmetic=out.arithmetic + (f"waiver unused (rule passes): {w.reason}",))
    return out


def evaluate_limits(limits: Sequence[Limit], waivers: Sequence[Waiver],
                    ctx: CheckContext) -> tuple[tuple[LimitOutcome, ...], tuple[str, ...]]:
    """(outcomes of every applicable limit, ids of the limits that do not apply here)."""
    outcomes: list[LimitOutcome] = []
    assumed = ("kernel version unknown: a current kernel is assumed (give --kernel-version)",)
    not_applicable: list[str] = []
    for limit in limits:
        applies, skip = _applicability(limit, ctx)
        if not applies:
            not_applicable.append(limit.id)
            continue
        if skip is not None:
            out = replace(_outcome(limit, ctx, limit.measure, _unit(limit.measure)), status=Status.SKIPPED,
                          skip_reason=skip)
        elif limit.kind is LimitKind.SPARC64_PAGEFLAGS:
            out = _evaluate_pageflags(limit, ctx)
        elif limit.kind is LimitKind.LAST_CPUPID_COST:
            out = _evaluate_cpupid(limit, ctx)
        elif limit.kind is LimitKind.PLACEMENT:
            blank = _outcome(limit, ctx, limit.measure, "bytes")
            out = ctx.placement(limit, blank) if ctx.placement is not None else replace(
                blank, status=Status.SKIPPED, skip_reason="no placement inputs (check --boot-image and --load-addr)")
        else:
            out = _evaluate_measure(limit, ctx)
        if ctx.kernel_version is None and (limit.since or limit.before):
            out = replace(out, arithmetic=out.arithmetic + assumed)
        outcomes.append(_apply_waivers(out, waivers, ctx.today))
    return tuple(outcomes), tuple(not_applicable)


def evaluate_budgets(budgets: Sequence[Budget], baseline: Mapping[str, float] | None,
                     current: Mapping[str, float], waivers: Sequence[Waiver] = (),
                     today: dt.date = dt.date(1970, 1, 1)) -> tuple[BudgetOutcome, ...]:
    out: list[BudgetOutcome] = []
    for b in budgets:
        name = b.measure.value
        if baseline is None or name not in baseline:
            why = "no --baseline given" if baseline is None else f"the baseline has no {name}"
            out.append(BudgetOutcome(name, b.describe(), 0.0, current.get(name), 0.0, Status.SKIPPED, (), why))
            continue
        base = baseline[name]
        cur = current.get(name)
        if cur is None:
            out.append(BudgetOutcome(name, b.describe(), base, None, 0.0, Status.SKIPPED, (),
                                     f"no {name} measured now"))
            continue
        allowed = float(b.allowed(int(base)))
        ok = cur <= allowed
        delta = cur - base
        pct = f" ({delta / base * 100:+.2f} %)" if base else ""
        lines: tuple[str, ...] = (f"baseline {name} = {int(base)} B, now {int(cur)} B: {int(delta):+d} B{pct}",
                 f"budget {b.describe()}: allowed <= {int(allowed)} B; {int(cur)} {'<=' if ok else '>'} {int(allowed)}")
        status = Status.PASS if ok else Status.FAIL
        if not ok:
            for w in waivers:
                if w.rule == f"budget.{name}" and w.active(today):
                    status = Status.WAIVED
                    lines = lines + (f"waived: {w.reason}",)
                    break
        out.append(BudgetOutcome(name, b.describe(), base, cur, allowed, status, lines))
    return tuple(out)


# The measures the footprint model computes for every design, so a sweep can track them.
SWEEPABLE_MEASURES = frozenset({"image_extent", "bss", "cpu_area", "address_space", "percpu_resident",
                                "percpu_unit", "percpu_static", "vmalloc_share"})


@dataclass(frozen=True)
class SweepBound:
    """A database limit a sweep can check at every value: its measure and resolved bound."""

    limit: Limit
    measure: str
    bound: float
    arithmetic: tuple[str, ...]


def compute_sweep_bounds(limits: Sequence[Limit], ctx: CheckContext, measures: frozenset[str] = SWEEPABLE_MEASURES,
                         what: str = "sweep") -> tuple[list[SweepBound], list[str]]:
    """The applicable measure limits whose bound is known without a measurement, for `sweep`
    (and `scale`, whose predictable `measures` differ). Returns (bounds, notes on limits left
    out and why)."""
    out: list[SweepBound] = []
    notes: list[str] = []
    for limit in limits:
        if limit.kind is not LimitKind.MEASURE or limit.measure is None:
            continue
        applies, _ = _applicability(limit, ctx)
        if not applies:
            continue
        if limit.measure not in measures:
            notes.append(f"{limit.id}: {what} does not compute {limit.measure}: left out")
            continue
        bound, lines, skip = _resolve_bound(limit, ctx)
        if bound is None:
            notes.append(f"{limit.id}: {skip}")
            continue
        out.append(SweepBound(limit, limit.measure, bound, tuple(lines)))
    return out, notes

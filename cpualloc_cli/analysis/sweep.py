"""Vary an integer symbol (NR_CPUS by default) and find the largest value that fits each limit.

Every integer in the range is evaluated: the modern percpu span is not monotonic in the number
of CPUs, so bisection would be wrong. The per-value work is arithmetic only (no explain text).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

from cpualloc_cli.analysis.footprint import DESIGN_FUNCTIONS
from cpualloc_cli.model.footprint import Design, FootprintInputs, InputFact, LimitFit, SweepResult
from cpualloc_cli.model.measures import Measure

# symbol -> how a value changes the inputs
SWEEPABLE = ("NR_CPUS", "CPU_AREA_ORDER", "CPU_AREA_ALLOC_ORDER")


def inputs_for(base: FootprintInputs, symbol: str, value: int, fixed_possible: int | None) -> FootprintInputs:
    """The inputs with `symbol` set to `value`. Sweeping NR_CPUS makes every CPU possible unless
    --possible-cpus fixed a count (then min(that, NR_CPUS))."""
    if symbol == "NR_CPUS":
        possible = value if fixed_possible is None else min(fixed_possible, value)
        return _with(base, nr_cpus=value, possible_cpus=possible)
    if symbol == "CPU_AREA_ORDER":
        return _with(base, cpu_area_order=value)
    if symbol == "CPU_AREA_ALLOC_ORDER":
        return _with(base, alloc_order=value)
    raise ValueError(f"cannot sweep {symbol} (sweepable: {', '.join(SWEEPABLE)})")


def _with(base: FootprintInputs, **changes: int) -> FootprintInputs:
    """dataclasses.replace without re-running __init__ (the sweep does this ~8k times); only
    plain int fields are changed, so no validation is skipped."""
    new = copy.copy(base)
    for name, value in changes.items():
        object.__setattr__(new, name, value)
    return new


def default_points(lo: int, hi: int) -> tuple[int, ...]:
    """Powers of two inside [lo, hi] plus the range ends."""
    pts = {lo, hi}
    p = 1
    while p <= hi:
        if p >= lo:
            pts.add(p)
        p <<= 1
    return tuple(sorted(pts))


def compute_fit(values: Sequence[int], measured: Sequence[int | float], bound: float,
                strict_less: bool = False) -> tuple[int | None, int | None, bool]:
    """(largest value within bound, smallest value over it, whether the two cross)."""
    largest: int | None = None
    smallest_fail: int | None = None
    for v, x in zip(values, measured, strict=True):
        if (x < bound if strict_less else x <= bound):
            if largest is None or v > largest:
                largest = v
        elif smallest_fail is None or v < smallest_fail:
            smallest_fail = v
    non_mono = largest is not None and smallest_fail is not None and smallest_fail < largest
    return largest, smallest_fail, non_mono


def _runs(values: Sequence[int], blocked: Mapping[int, str]) -> tuple[tuple[int, int, str], ...]:
    out: list[tuple[int, int, str]] = []
    for v in values:
        why = blocked.get(v)
        if why is None:
            continue
        if out and out[-1][1] == v - 1 and out[-1][2] == why:
            out[-1] = (out[-1][0], v, why)
        else:
            out.append((v, v, why))
    return tuple(out)


def compute_sweep(base: FootprintInputs, symbol: str, lo: int, hi: int, points: Sequence[int],
                  designs: Sequence[Design], limits: Sequence[tuple[Measure, float]],
                  fixed_possible: int | None = None, facts: tuple[InputFact, ...] = (),
                  progress: Callable[[int], None] | None = None,
                  base_at: Callable[[int], tuple[int, int]] | None = None,
                  builds: Callable[[int], str | None] | None = None,
                  lower_bound_measures: frozenset[str] = frozenset(),
                  limit_meta: Sequence[tuple[str, bool]] | None = None) -> SweepResult:
    """Evaluate every value of the range for the fits (the percpu span is not monotonic) and
    the shown points for the series. `base_at(N) -> (base BSS, base image extent)` replaces
    the fixed image base when sweeping NR_CPUS with a scale model (`--scale-from`)."""
    if lo > hi:
        raise ValueError(f"empty range {lo}..{hi}")
    values = list(range(lo, hi + 1))
    shown = sorted(set(points))
    wanted = {m for m, _ in limits}
    evaluate = values if wanted else shown
    fns = [(d, DESIGN_FUNCTIONS[d]) for d in designs]
    per_value: dict[Design, dict[int, dict[Measure, int | float]]] = {d: {} for d in designs}
    for v in sorted(set(evaluate) | set(shown)):
        inp = inputs_for(base, symbol, v, fixed_possible)
        if base_at is not None and symbol == "NR_CPUS":
            bss, extent = base_at(v)
            inp = _with(inp, base_bss_bytes=bss, base_extent_bytes=extent)
        for d, fn in fns:
            per_value[d][v] = fn(inp, explain=False).measures
    if progress is not None:
        progress(len(evaluate))
    blocked: dict[int, str] = {}
    if builds is not None and symbol == "NR_CPUS":
        for v in values:
            why = builds(v)
            if why is not None:
                blocked[v] = why
    buildable = [v for v in values if v not in blocked]
    series: dict[Design, dict[Measure, tuple[int | float, ...]]] = {}
    fits: list[LimitFit] = []
    meta = list(limit_meta) if limit_meta is not None else [("", False)] * len(limits)
    for d in designs:
        table = per_value[d]
        measures = list(table[shown[0]].keys()) if shown else []
        series[d] = {m: tuple(table[v][m] for v in shown) for m in measures}
        for (measure, bound), (limit_id, strict_less) in zip(limits, meta, strict=True):
            if measure not in table[values[0]]:
                continue
            largest, fail, non_mono = compute_fit(buildable, [table[v][measure] for v in buildable], bound,
                                                  strict_less) if buildable else (None, None, False)
            unbuildable = None
            if blocked:
                over, _, _ = compute_fit(values, [table[v][measure] for v in values], bound, strict_less)
                if over is not None and (largest is None or over > largest):
                    unbuildable = over
            fits.append(LimitFit(d, measure, bound, largest, fail, non_mono,
                                 inconclusive=measure.value in lower_bound_measures,
                                 largest_fitting_unbuildable=unbuildable, limit_id=limit_id,
                                 strict_less=strict_less))
    return SweepResult(symbol, lo, hi, tuple(shown), series, tuple(fits),
                       evaluated=len(evaluate), facts=facts, not_building=_runs(values, blocked),
                       lower_bound_measures=tuple(sorted(lower_bound_measures)))

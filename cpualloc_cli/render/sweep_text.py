"""`sweep --format text`: per-design tables at the sampled values, the largest value that fits
each limit (found over every integer in the range), and a plain-text chart with limit lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cpualloc_cli.model.footprint import DESIGN_TITLES, Design, SweepResult
from cpualloc_cli.model.measures import FRACTION_MEASURES, Measure, format_bytes
from cpualloc_cli.render import safe
from cpualloc_cli.render.footprint_text import COLUMNS, draw_findings, draw_inputs, fmt_value
from cpualloc_cli.render.tables import Col, print_table

BAR = "#"
LIMIT_MARK = "|"


def _short(measure: Measure, v: float) -> str:
    return f"{v:.1%}" if measure in FRACTION_MEASURES else format_bytes(int(v))


def chart_lines(points: Sequence[int], values: Sequence[int | float], measure: Measure,
                limits: Sequence[float], width: int = 60, label: str = "") -> list[str]:
    """A horizontal bar per sampled value, scaled to the largest of the values and limits;
    each limit is drawn as a `|` column through every row (bars cross it when they exceed it)."""
    top = max([float(v) for v in values] + [float(b) for b in limits] + [1.0])
    cols = [min(width, round(float(b) / top * width)) for b in limits]
    vw = max(len(str(p)) for p in points) if points else 1
    out = []
    if label:
        out.append(label)
    for p, v in zip(points, values, strict=True):
        n = round(float(v) / top * width)
        row = [BAR if i < n else " " for i in range(width + 1)]
        for c in cols:
            row[c] = LIMIT_MARK if row[c] == " " else "+"
        out.append(f"{p:>{vw}} {''.join(row).rstrip()}  {_short(measure, v)}")
    if limits:
        axis = [" "] * (width + 1)
        for c in cols:
            axis[c] = "^"
        out.append(" " * (vw + 1) + "".join(axis).rstrip() + "  limit " +
                   ", ".join(_short(measure, b) for b in limits))
    return out


def draw_sweep(console: Any, result: SweepResult, limits: Sequence[tuple[Measure, float]],
               chart_measure: Measure | None, chart_width: int = 60) -> None:
    head = safe.text("sweep", style="bold")
    head.append_text(safe.text(f" {result.symbol} over {result.range_lo}..{result.range_hi} "
                               f"({result.evaluated:,} values evaluated, {len(result.points)} shown)"))
    console.print(head, soft_wrap=True)
    for d, per in result.series.items():
        cols = [(m, label) for m, label in COLUMNS if m in per]
        rows = [(str(p), *(fmt_value(m, per[m][i]) for m, _ in cols)) for i, p in enumerate(result.points)]
        print_table(console, [Col(result.symbol, "num", "right"), *(Col(label, "num", "right") for _, label in cols)],
                    rows, title=f"{d.value}: {DESIGN_TITLES[d]}", boxed=False)
        console.print()
    if result.fits:
        rows = []
        for f in result.fits:
            note = "non-monotonic: fails below the largest fitting value" if f.non_monotonic else ""
            rows.append((f.design.value, f.measure.value, fmt_value(f.measure, f.bound),
                         "none" if f.largest_fitting is None else str(f.largest_fitting),
                         "none" if f.smallest_failing is None else str(f.smallest_failing), note))
        print_table(console, (Col("design", "name"), Col("measure", "name"), Col("limit", "num", "right"),
                              Col("largest fitting", "num", "right"), Col("smallest failing", "num", "right"),
                              Col("note", "text")), rows,
                    title=f"largest {result.symbol} that fits (every value in the range evaluated)", boxed=False)
    elif not limits:
        console.print(safe.text("no limits given (use --limit MEASURE=SIZE, e.g. --limit image_extent=8MiB)"),
                      soft_wrap=True)
    if chart_measure is not None:
        bounds = [b for m, b in limits if m == chart_measure]
        for d, per in result.series.items():
            if chart_measure not in per:
                continue
            console.print()
            for line in chart_lines(result.points, per[chart_measure], chart_measure, bounds, chart_width,
                                    f"{d.value}: {chart_measure.value} against {result.symbol}"):
                console.print(safe.text(line), soft_wrap=True)
    if result.facts:
        console.print()
        draw_inputs(console, result.facts)
    if result.findings:
        console.print()
        draw_findings(console, result.findings)


def default_chart_measure(limits: Sequence[tuple[Measure, float]], designs: Sequence[Design]) -> Measure:
    """The first limit's measure, else the address space (every design has one)."""
    return limits[0][0] if limits else Measure.ADDRESS_SPACE

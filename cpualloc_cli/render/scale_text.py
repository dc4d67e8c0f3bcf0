"""`cpualloc scale --format text`: rich tables."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.measures import format_bytes
from cpualloc_cli.model.scale import ScaleReport, SeriesFit, SeriesStatus
from cpualloc_cli.render import safe
from cpualloc_cli.render.tables import Col, print_table


def _sizes(s: SeriesFit) -> str:
    return " → ".join("-" if x is None else str(x) for x in s.sizes)


def _band(s: SeriesFit) -> str:
    if s.low_bytes == s.high_bytes:
        return ""
    return f"{s.low_bytes}..{s.high_bytes}"


def draw_scale(console: Any, report: ScaleReport, top: int | None = None) -> None:
    """Symbol names, sections and labels go through render.safe; tables never cut a number
    (render.tables): names fold, sizes and formulas wrap at spaces, whole."""
    from rich.text import Text

    def say(line: str, style: str = "") -> None:
        console.print(safe.text(line, style=style), soft_wrap=True)

    sym = report.symbol
    pts = ", ".join(f"{sym}={n} ({label})" for n, label in report.points)
    head = safe.text("cpualloc scale", style="bold")
    head.append_text(safe.text(f": {pts}; predicting {sym}={report.at} (BITS_PER_LONG={report.bits_per_long})"))
    console.print(head, soft_wrap=True)

    console.print()
    say(f"Predicted at {sym}={report.at} (from {sym}={report.points[-1][0]})", "bold")
    cols = [Col("measure", "name"), Col(f"at {report.points[-1][0]}", "num", "right"),
            Col(f"at {report.at}", "num", "right"), Col("band", "num", "right"), Col("explained", "num", "right"),
            Col("unexplained band", "num", "right"), Col("padding seen", "num", "right"), Col("", "num", "right", drop=True)]
    rows = []
    for p in report.predictions:
        band = "" if p.low_bytes == p.high_bytes else f"{p.low_bytes}..{p.high_bytes}"
        ub = "" if p.unexplained_low_bytes == p.unexplained_high_bytes == 0 else \
            f"{p.unexplained_low_bytes:+d}..{p.unexplained_high_bytes:+d}"
        rows.append((p.measure, str(p.reference_bytes), str(p.predicted_bytes), band, f"{p.explained_bytes:+d}", ub,
                     f"±{p.padding_seen_bytes}" if p.padding_seen_bytes else "", format_bytes(p.predicted_bytes)))
    print_table(console, cols, rows)
    say("The band covers the fits' alternatives and the unexplained symbols, not alignment padding; "
        "'padding seen' is the most padding changed between two measured builds.")

    if report.limits:
        console.print()
        say("Largest value that fits each limit", "bold")
        lrows = []
        for a in report.limits:
            def show(v: int | None, top: int = a.searched_up_to) -> str:
                if v is None:
                    return "none"
                return f">= {v}" if v >= top else str(v)
            lrows.append((a.measure, f"{a.bound_bytes} ({format_bytes(a.bound_bytes)})", show(a.largest_n),
                          show(a.largest_n_pessimistic), Text("yes") if a.fits_at else Text("NO", style="red"), a.source))
        print_table(console, (Col("measure", "name"), Col("limit", "num", "right"), Col(f"largest {sym}", "num", "right"),
                              Col("pessimistic", "num", "right"), Col(f"fits at {report.at}", "num", "right"),
                              Col("source", "text")), lrows)

    scaling = report.scaling()
    shown = scaling if top is None else scaling[:top]
    console.print()
    say(f"Symbols that scale with {sym} (N): {len(shown)} of {len(scaling)}, largest cost at {report.at} first", "bold")
    any_band = any(s.low_bytes != s.high_bytes for s in shown)
    any_alt = any(s.alternatives for s in shown)
    scols = [Col("symbol", "name"), Col("section", "name"), Col("sizes", "text"), Col("shape", "name"),
             Col("formula", "text"), Col(f"at {report.at}", "num", "right")]
    scols += [Col("band", "num", "right")] if any_band else []
    scols += [Col("alternatives", "text")] if any_alt else []
    srows = []
    for s in shown:
        assert s.best is not None
        row = [s.name, s.where, _sizes(s), s.best.shape.value, s.best.formula(), str(s.predicted_bytes)]
        row += [_band(s)] if any_band else []
        row += ["; ".join(a.formula() for a in s.alternatives)] if any_alt else []
        srows.append(row)
    print_table(console, scols, srows)

    unexplained = report.unexplained()
    if unexplained:
        shown_u = unexplained if top is None else unexplained[:top]
        console.print()
        say(f"Unexplained (not extrapolated; band to the line through the last two points): "
            f"{len(shown_u)} of {len(unexplained)}", "bold")
        print_table(console, (Col("symbol", "name"), Col("section", "name"), Col("sizes", "text"),
                              Col(f"band at {report.at}", "num", "right"), Col("why", "text")),
                    [(s.name, s.where, _sizes(s), f"{s.low_bytes}..{s.high_bytes}", s.reason) for s in shown_u])

    moved = report.appeared_or_disappeared()
    if moved:
        console.print()
        say("Appeared or disappeared between builds", "bold")
        print_table(console, (Col("symbol", "name"), Col("section", "name"), Col("sizes", "text"), Col("status", "name")),
                    [(s.name, s.where, _sizes(s), s.status.value) for s in moved])

    changed = [s for s in report.sections if s.status is not SeriesStatus.CONSTANT]
    if changed or report.measures:
        console.print()
        say("Sections and measures fitted directly (alignment padding makes most of them unexplained)", "bold")
        print_table(console, (Col("name", "name"), Col("sizes", "text"), Col("status", "name"), Col("formula", "text")),
                    [(s.name, _sizes(s), s.status.value, s.best.formula() if s.best else "")
                     for s in [*report.measures, *changed]])
    console.print()
    say(f"{report.constant_symbols} symbols have the same size at every {sym}.")
    for n in report.notes:
        say(f"note: {n}")

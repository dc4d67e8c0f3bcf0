"""`cpualloc scale --format text`: rich tables."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.measures import format_bytes
from cpualloc_cli.model.scale import ScaleReport, SeriesFit, SeriesStatus


def _row(table: Any, *cells: Any) -> None:
    """Add a row; data strings (symbol names, paths) are escaped, never read as markup."""
    from rich.markup import escape

    table.add_row(*(escape(c) if isinstance(c, str) else c for c in cells))


def _sizes(s: SeriesFit) -> str:
    return " → ".join("-" if x is None else str(x) for x in s.sizes)


def _band(s: SeriesFit) -> str:
    if s.low_bytes == s.high_bytes:
        return ""
    return f"{s.low_bytes}..{s.high_bytes}"


def draw_scale(console: Any, report: ScaleReport, top: int | None = None) -> None:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    sym = escape(report.symbol)
    pts = ", ".join(f"{sym}={n} ({escape(label)})" for n, label in report.points)
    console.print(f"[bold]cpualloc scale[/bold]: {pts}; predicting {sym}={report.at} "
                  f"(BITS_PER_LONG={report.bits_per_long})")

    console.print()

    console.print(f"Predicted at {sym}={report.at} (from {sym}={report.points[-1][0]})", style="bold", soft_wrap=True)

    t = Table()
    for col in ("measure", f"at {report.points[-1][0]}", f"at {report.at}", "band", "explained", "unexplained band",
                "padding seen", ""):
        t.add_column(col, justify="left" if col == "measure" else "right")
    for p in report.predictions:
        band = "" if p.low_bytes == p.high_bytes else f"{p.low_bytes}..{p.high_bytes}"
        ub = "" if p.unexplained_low_bytes == p.unexplained_high_bytes == 0 else \
            f"{p.unexplained_low_bytes:+d}..{p.unexplained_high_bytes:+d}"
        _row(t, p.measure, str(p.reference_bytes), str(p.predicted_bytes), band, f"{p.explained_bytes:+d}", ub,
             f"±{p.padding_seen_bytes}" if p.padding_seen_bytes else "", format_bytes(p.predicted_bytes))
    console.print(t)
    console.print("The band covers the fits' alternatives and the unexplained symbols, not alignment padding; "
                  "'padding seen' is the most padding changed between two measured builds.", soft_wrap=True)

    if report.limits:
        console.print()
        console.print("Largest value that fits each limit", style="bold", soft_wrap=True)
        t = Table()
        for col in ("measure", "limit", f"largest {sym}", "pessimistic", f"fits at {report.at}", "source"):
            t.add_column(col, justify="left" if col == "measure" else "right")
        for a in report.limits:
            def show(v: int | None, top: int = a.searched_up_to) -> str:
                if v is None:
                    return "none"
                return f">= {v}" if v >= top else str(v)
            verdict = Text("yes") if a.fits_at else Text(
                "NO" if a.at_does_not_build is None else "NO (does not build)", style="red")
            _row(t, a.measure, f"{a.bound_bytes} ({format_bytes(a.bound_bytes)})", show(a.largest_n),
                      show(a.largest_n_pessimistic), verdict,
                 a.source + (f"; up to {a.largest_n_unbuildable} would fit but does not build"
                             if a.largest_n_unbuildable is not None else ""))
        console.print(t)

    scaling = report.scaling()
    shown = scaling if top is None else scaling[:top]
    console.print()
    console.print(f"Symbols that scale with {sym} (N): {len(shown)} of {len(scaling)}, largest cost at {report.at} first",
                  style="bold", soft_wrap=True)
    t = Table()
    any_band = any(s.low_bytes != s.high_bytes for s in shown)
    any_alt = any(s.alternatives for s in shown)
    cols = ["symbol", "section", "sizes", "shape", "formula", f"at {report.at}"]
    cols += ["band"] if any_band else []
    cols += ["alternatives"] if any_alt else []
    for col in cols:
        t.add_column(col, justify="right" if col in (f"at {report.at}", "band") else "left",
                     no_wrap=col in ("formula", f"at {report.at}", "band"))
    for s in shown:
        assert s.best is not None
        row = [s.name, s.where, _sizes(s), s.best.shape.value, s.best.formula(), str(s.predicted_bytes)]
        row += [_band(s)] if any_band else []
        row += ["; ".join(a.formula() for a in s.alternatives)] if any_alt else []
        _row(t, *row)
    console.print(t)

    unexplained = report.unexplained()
    if unexplained:
        shown_u = unexplained if top is None else unexplained[:top]
        console.print()
        console.print(f"Unexplained (not extrapolated; band to the line through the last two points): "
                      f"{len(shown_u)} of {len(unexplained)}", style="bold", soft_wrap=True)
        t = Table()
        for col in ("symbol", "section", "sizes", f"band at {report.at}", "why"):
            t.add_column(col, justify="right" if col.startswith("band") else "left")
        for s in shown_u:
            _row(t, s.name, s.where, _sizes(s), f"{s.low_bytes}..{s.high_bytes}", s.reason)
        console.print(t)

    moved = report.appeared_or_disappeared()
    if moved:
        console.print()
        console.print("Appeared or disappeared between builds", style="bold", soft_wrap=True)
        t = Table()
        for col in ("symbol", "section", "sizes", "status"):
            t.add_column(col)
        for s in moved:
            _row(t, s.name, s.where, _sizes(s), s.status.value)
        console.print(t)

    changed = [s for s in report.sections if s.status is not SeriesStatus.CONSTANT]
    if changed or report.measures:
        console.print()
        console.print("Sections and measures fitted directly (alignment padding makes most of them unexplained)",
                      style="bold", soft_wrap=True)
        t = Table()
        for col in ("name", "sizes", "status", "formula"):
            t.add_column(col)
        for s in [*report.measures, *changed]:
            _row(t, s.name, _sizes(s), s.status.value, s.best.formula() if s.best else "")
        console.print(t)
    console.print()
    console.print(f"{report.constant_symbols} symbols have the same size at every {sym}.")
    for n in report.notes:
        console.print(f"note: {escape(n)}")

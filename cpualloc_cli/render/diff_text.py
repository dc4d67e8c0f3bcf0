"""`cpualloc diff --format text`: rich tables, plus bloat-o-meter's own plain layout."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.diff import BloatResult, DiffReport
from cpualloc_cli.model.measures import format_bytes


def render_bloat_o_meter(result: BloatResult) -> str:
    """Exactly what scripts/bloat-o-meter (Linux 6.1) prints for one table."""
    s = result.summary
    lines = [
        f"add/remove: {s.added}/{s.removed} grow/shrink: {s.grown}/{s.shrunk} up/down: {s.up_bytes}/{-s.down_bytes} "
        f"({s.up_bytes - s.down_bytes})",
        f"{result.label:<40} {'old':>7} {'new':>7} {'delta':>7}",
    ]
    for d in result.deltas:
        old = "-" if d.old_bytes is None else str(d.old_bytes)
        new = "-" if d.new_bytes is None else str(d.new_bytes)
        lines.append(f"{d.name:<40} {old:>7} {new:>7} {d.delta_bytes:+7d}")
    lines.append(f"Total: Before={s.old_total_bytes}, After={s.new_total_bytes}, chg {s.change_percent:+.2f}%")
    return "\n".join(lines) + "\n"


def _row(table: Any, *cells: Any) -> None:
    """Add a row; data strings (symbol names, paths) are escaped, never read as markup."""
    from rich.markup import escape

    table.add_row(*(escape(c) if isinstance(c, str) else c for c in cells))


def _opt(n: int | None) -> str:
    return "-" if n is None else str(n)


def _signed(n: int) -> str:
    return f"{n:+d}"


def draw_diff(console: Any, report: DiffReport, widen: bool = True) -> None:
    """Every column folds (a long symbol or section name wraps onto the next line of its cell,
    whole): no cell is ever cut short with an ellipsis, on a terminal or off one. Off a
    terminal (`widen`) the console is widened to the longest name, so names print on one line."""
    from rich.table import Table

    if widen:
        names = [len(d.name) for d in report.shown_deltas()] + [len(sd.name) for sd in report.sections]
        console.width = max(console.width, max(names, default=0) + 40)

    s = report.bloat.summary
    from rich.markup import escape

    console.print(f"[bold]cpualloc diff[/bold] {escape(report.old_path)} -> {escape(report.new_path)}")
    console.print(
        f"add/remove: {s.added}/{s.removed} grow/shrink: {s.grown}/{s.shrunk} "
        f"up/down: {s.up_bytes}/{-s.down_bytes} ({s.net_bytes:+d})   "
        f"symbols total: {s.old_total_bytes} -> {s.new_total_bytes} ({s.change_percent:+.2f}%)"
    )

    console.print()

    console.print("Measures", style="bold", soft_wrap=True)

    t = Table()
    for col in ("measure", "old", "new", "delta", "source"):
        t.add_column(col, justify="right" if col in ("old", "new", "delta") else "left", overflow="fold")
    for m in report.measures:
        _row(t, m.measure, str(m.old_bytes), str(m.new_bytes), _signed(m.delta_bytes), m.source)
    console.print(t)

    console.print()

    console.print("By kind (allocated section bytes; symbol bytes in brackets)", style="bold", soft_wrap=True)

    t = Table()
    for col in ("kind", "old", "new", "delta", "symbols delta"):
        t.add_column(col, justify="left" if col == "kind" else "right", overflow="fold")
    for k in report.kinds:
        if k.old_bytes == k.new_bytes == 0 and k.old_symbol_bytes == k.new_symbol_bytes == 0:
            continue
        _row(t, k.kind.value, str(k.old_bytes), str(k.new_bytes), _signed(k.delta_bytes),
                  f"({k.new_symbol_bytes - k.old_symbol_bytes:+d})")
    console.print(t)

    changed = [sd for sd in report.sections if sd.delta_bytes]
    if changed:
        console.print()
        console.print("Sections that changed", style="bold", soft_wrap=True)
        t = Table()
        for col in ("section", "kind", "old", "new", "delta"):
            t.add_column(col, justify="right" if col in ("old", "new", "delta") else "left", overflow="fold")
        for sd in changed:
            _row(t, sd.name, sd.kind.value, _opt(sd.old_bytes), _opt(sd.new_bytes), _signed(sd.delta_bytes))
        console.print(t)

    rows = report.shown_deltas()
    total = len(report.bloat.deltas)
    title = f"Symbols ({report.bloat.label}, nm types {report.bloat.nm_types}): {len(rows)} of {total} changed"
    if report.threshold_bytes:
        title += f", |delta| >= {report.threshold_bytes} B"
    console.print()
    console.print(title, style="bold", soft_wrap=True)
    t = Table()
    for col in ("symbol", "kind", "old", "new", "delta"):
        t.add_column(col, justify="right" if col in ("old", "new", "delta") else "left", overflow="fold")
    for d in rows:
        _row(t, d.name, d.kind.value, _opt(d.old_bytes), _opt(d.new_bytes), _signed(d.delta_bytes))
    console.print(t)

    for b in report.budgets:
        verdict = "[red]EXCEEDED[/red]" if b.exceeded else "[green]ok[/green]"
        console.print(f"budget {escape(b.text)}: {b.measure} {b.baseline_bytes} -> {b.actual_bytes} B, allowed "
                      f"{b.allowed_bytes} B ({format_bytes(b.allowed_bytes)}): {verdict}")
    for n in report.notes:
        console.print(f"note: {escape(n)}")

"""`config --format text`: the footprint-relevant symbols, findings and probes (rich)."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.config import ResolvedConfig, SymbolValue

PROBES_LISTED = 40  # the text report lists at most this many probes (JSON has them all)


def _range(sv: SymbolValue) -> str:
    if sv.range is None:
        return ""
    lo, hi = sv.range
    if sv.type == "hex":
        return f"{lo:#x}..{hi:#x}"
    return f"{lo}..{hi}"


def _note(sv: SymbolValue) -> str:
    parts = []
    if sv.given is not None:
        parts.append(f"given {sv.given}")
    if not sv.visible and sv.unmet_dependency:
        parts.append(f"not visible: {sv.unmet_dependency}")
    elif not sv.visible:
        parts.append("no prompt")
    return "; ".join(parts)


def draw_config(console: Any, rc: ResolvedConfig) -> None:
    from rich.table import Table
    from rich.text import Text

    console.print(Text(f"arch {rc.arch}, Linux {rc.kernel_version} ({rc.kernel_version_source})"))
    console.print(Text(f"Kconfig: {rc.source}" + (f"; config: {rc.config_path}" if rc.config_path else "")))
    design = rc.values.get("PERCPU_DESIGN")
    if design:
        console.print(Text(f"per-cpu design: {design}"))
    table = Table(title="Footprint-relevant symbols", title_justify="left")
    table.add_column("symbol", no_wrap=True)
    table.add_column("value", overflow="fold", max_width=24)
    table.add_column("origin", overflow="fold", max_width=22)
    table.add_column("range", no_wrap=True)
    table.add_column("defined at", no_wrap=True)
    table.add_column("note", overflow="fold", ratio=1)
    for sv in rc.details.values():
        where = f"{sv.defined_at[0]}:{sv.defined_at[1]}" if sv.defined_at else ""
        table.add_row(sv.name, sv.value if sv.value != "" else "(unset)", str(sv.origin), _range(sv), where,
                      _note(sv))
    console.print(table)
    if rc.findings:
        ft = Table(title=f"Findings ({len(rc.findings)})", title_justify="left")
        for col in ("severity", "rule", "where", "message"):
            ft.add_column(col, overflow="fold")
        for f in rc.findings:
            where = f.path or ""
            if f.line is not None:
                where += f":{f.line}"
            ft.add_row(str(f.severity), f.rule, where, f.message + (f"; {f.hint}" if f.hint else ""))
        console.print(ft)
    if rc.probes:
        pt = Table(title=f"Kconfig $(shell,...) probes ({len(rc.probes)})", title_justify="left")
        for col in ("status", "symbol", "value", "at", "command"):
            pt.add_column(col, overflow="fold")
        for p in rc.probes[:PROBES_LISTED]:
            pt.add_row(p.status, p.symbol or "", p.value or "", f"{p.defined_at[0]}:{p.defined_at[1]}",
                       p.command[:100])
        console.print(pt)
        if len(rc.probes) > PROBES_LISTED:
            console.print(Text(f"... {len(rc.probes) - PROBES_LISTED} more probes (--format json lists them all)"))
    for u in rc.unsupported:
        console.print(Text(f"note: not fully supported: {u}"))

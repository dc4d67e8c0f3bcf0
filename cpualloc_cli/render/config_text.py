"""`config --format text`: the footprint-relevant symbols, findings and probes (rich)."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.config import ResolvedConfig, SymbolValue
from cpualloc_cli.render import safe
from cpualloc_cli.render.tables import Col, print_table

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
    """Every value from the .config or the Kconfig tree goes through render.safe; tables never cut
    a number, a rule id or a range (render.tables)."""
    def say(line: str) -> None:
        console.print(safe.text(line), soft_wrap=True)

    say(f"arch {rc.arch}, Linux {rc.kernel_version} ({rc.kernel_version_source})")
    say(f"Kconfig: {rc.source}" + (f"; config: {rc.config_path}" if rc.config_path else ""))
    design = rc.values.get("PERCPU_DESIGN")
    if design:
        say(f"per-cpu design: {design}")
    rows = []
    for sv in rc.details.values():
        where = f"{sv.defined_at[0]}:{sv.defined_at[1]}" if sv.defined_at else ""
        rows.append((sv.name, sv.value if sv.value != "" else "(unset)", str(sv.origin), _range(sv), where, _note(sv)))
    print_table(console, (Col("symbol", "num"), Col("value", "name"), Col("origin", "name"), Col("range", "num"),
                          Col("defined at", "num", drop=True), Col("note", "name")), rows,
                title="Footprint-relevant symbols")
    if rc.findings:
        frows = []
        for f in rc.findings:
            where = f.path or ""
            if f.line is not None:
                where += f":{f.line}"
            frows.append((str(f.severity), f.rule, where, f.message + (f"; {f.hint}" if f.hint else "")))
        print_table(console, (Col("severity", "name"), Col("rule", "num"), Col("where", "name"), Col("message", "text")),
                    frows, title=f"Findings ({len(rc.findings)})")
    if rc.probes:
        prows = [(p.status, p.symbol or "", p.value or "", f"{p.defined_at[0]}:{p.defined_at[1]}", p.command[:100])
                 for p in rc.probes[:PROBES_LISTED]]
        print_table(console, (Col("status", "name"), Col("symbol", "name"), Col("value", "name"), Col("at", "name"),
                              Col("command", "text")), prows, title=f"Kconfig $(shell,...) probes ({len(rc.probes)})")
        if len(rc.probes) > PROBES_LISTED:
            say(f"... {len(rc.probes) - PROBES_LISTED} more probes (--format json lists them all)")
    for u in rc.unsupported:
        say(f"note: not fully supported: {u}")

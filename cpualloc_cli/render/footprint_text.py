"""`footprint --format text`: the designs side by side, the inputs with their provenance,
and (with --explain) every formula with its values put in."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.findings import Finding
from cpualloc_cli.model.footprint import DESIGN_TITLES, FootprintReport, InputFact
from cpualloc_cli.model.measures import FRACTION_MEASURES, Measure

COLUMNS: tuple[tuple[Measure, str], ...] = (
    (Measure.BSS, "BSS"),
    (Measure.IMAGE_EXTENT, "image extent"),
    (Measure.ADDRESS_SPACE, "address space"),
    (Measure.PERCPU_RESIDENT, "resident"),
    (Measure.VMALLOC_SHARE, "vmalloc share"),
    (Measure.PERCPU_UNIT, "unit / area per CPU"),
    (Measure.CPU_AREA, "cpu area"),
)


def fmt_value(measure: Measure, value: int | float | None) -> str:
    """Exact bytes with thousands separators and the binary-unit form; shares as percent."""
    if value is None:
        return "-"
    if measure in FRACTION_MEASURES:
        return f"{float(value):.1%}"
    return f"{int(value):,}"


def fmt_fact(f: InputFact) -> str:
    v = f.value
    if isinstance(v, bool):
        return "y" if v else "n"
    if isinstance(v, int) and f.name.endswith("_bytes"):
        return f"{v:,}"
    return str(v)


def draw_findings(console: Any, findings: tuple[Finding, ...] | list[Finding]) -> None:
    from rich.markup import escape

    for f in findings:
        colour = {"error": "red", "warning": "yellow"}.get(f.severity.value, "cyan")
        where = f"{f.path}: " if f.path else ""
        hint = f"; {f.hint}" if f.hint else ""
        text = escape(f"{where}{f.message}{hint} [{f.rule}]")
        console.print(f"[{colour}]{f.severity.value}[/{colour}]: {text}", soft_wrap=True)


def draw_inputs(console: Any, facts: tuple[InputFact, ...]) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title="inputs", title_justify="left", box=None, pad_edge=False)
    t.add_column("input")
    t.add_column("value", justify="right")
    t.add_column("from")
    t.add_column("note", overflow="fold")
    for f in facts:
        t.add_row(f.name, fmt_fact(f), f.provenance.value, escape(f.note))
    console.print(t)


def draw_footprint(console: Any, report: FootprintReport, explain: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    inp = report.inputs
    console.print(f"[bold]footprint[/bold]: {inp.arch}, kernel {'.'.join(map(str, inp.kernel_version))}, "
                  f"NR_CPUS={inp.nr_cpus}, possible CPUs {inp.possible_cpus}, PAGE_SIZE {inp.page_size}")
    t = Table(title="per design (bytes)", title_justify="left", box=None, pad_edge=False)
    t.add_column("design")
    for _, label in COLUMNS:
        t.add_column(label, justify="right")
    for d in report.designs:
        mark = "*" if d.design == report.chosen else " "
        t.add_row(f"{mark} {d.design.value}", *(fmt_value(m, d.measures.get(m)) for m, _ in COLUMNS))
    console.print(t)
    console.print(f"design used: {report.chosen.value} ({DESIGN_TITLES[report.chosen]}), because: "
                  f"{escape(report.chosen_reason)}")
    for d in report.designs:
        if d.percpu is not None:
            console.print(f"percpu first chunk: {d.percpu.embedded_line()}; {d.percpu.nr_units} units in "
                          f"{d.percpu.nr_allocs} allocation(s) of {d.percpu.alloc_size:,}")
    if report.packing is not None:
        p = report.packing
        console.print(f"packing (cpu_alloc bitmap, {p.unit_bytes}-byte units): {p.objects} objects, "
                      f"{p.units_allocated:,} units allocated, {p.units_used:,} units used = {p.used_bytes:,} B "
                      f"(linker: {p.linker_bytes:,} B), fragmentation {p.fragmentation:.2%}, "
                      f"{p.gaps_filled} placed in gaps")
    console.print()
    draw_inputs(console, inp.facts)
    if explain:
        for d in report.designs:
            console.print()
            console.print(f"[bold]{d.design.value}[/bold]: {DESIGN_TITLES[d.design]}")
            for line in d.explain:
                console.print(f"  {escape(line)}", soft_wrap=True)
    all_findings = list(report.findings)
    for d in report.designs:
        all_findings.extend(d.findings)
    if all_findings:
        console.print()
        draw_findings(console, all_findings)

"""`footprint --format text`: the designs side by side, the inputs with their provenance,
and (with --explain) every formula with its values put in."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.findings import Finding
from cpualloc_cli.model.footprint import DESIGN_TITLES, FootprintReport, InputFact
from cpualloc_cli.model.measures import FRACTION_MEASURES, Measure
from cpualloc_cli.render import safe
from cpualloc_cli.render.tables import Col, print_table

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
    for f in findings:
        colour = {"error": "red", "warning": "yellow"}.get(f.severity.value, "cyan")
        where = f"{f.path}: " if f.path else ""
        hint = f"; {f.hint}" if f.hint else ""
        line = safe.text(f.severity.value, style=colour)
        line.append_text(safe.text(f": {where}{f.message}{hint} [{f.rule}]"))
        console.print(line, soft_wrap=True)


def draw_inputs(console: Any, facts: tuple[InputFact, ...]) -> None:
    rows = [(f.name, fmt_fact(f), f.provenance.value, f.note) for f in facts]
    print_table(console, (Col("input", "name"), Col("value", "num", "right"), Col("from", "name"),
                          Col("note", "text")), rows, title="inputs", boxed=False)


def draw_footprint(console: Any, report: FootprintReport, explain: bool = False) -> None:
    def say(line: str, style: str = "") -> None:
        console.print(safe.text(line, style=style), soft_wrap=True)

    inp = report.inputs
    head = safe.text("footprint", style="bold")
    head.append_text(safe.text(f": {inp.arch}, kernel {'.'.join(map(str, inp.kernel_version))}, "
                               f"NR_CPUS={inp.nr_cpus}, possible CPUs {inp.possible_cpus}, PAGE_SIZE {inp.page_size}"))
    console.print(head, soft_wrap=True)
    cols = [Col("design", "name"), *(Col(label, "num", "right") for _, label in COLUMNS)]
    rows = []
    for d in report.designs:
        mark = "*" if d.design == report.chosen else " "
        rows.append((f"{mark} {d.design.value}", *(fmt_value(m, d.measures.get(m)) for m, _ in COLUMNS)))
    print_table(console, cols, rows, title="per design (bytes)", boxed=False)
    say(f"design used: {report.chosen.value} ({DESIGN_TITLES[report.chosen]}), because: {report.chosen_reason}")
    for d in report.designs:
        if d.percpu is not None:
            say(f"percpu first chunk: {d.percpu.embedded_line()}; {d.percpu.nr_units} units in "
                f"{d.percpu.nr_allocs} allocation(s) of {d.percpu.alloc_size:,}")
    if report.packing is not None:
        p = report.packing
        say(f"packing (cpu_alloc bitmap, {p.unit_bytes}-byte units): {p.objects} objects, "
            f"{p.units_allocated:,} units allocated, {p.units_used:,} units used = {p.used_bytes:,} B "
            f"(linker: {p.linker_bytes:,} B), fragmentation {p.fragmentation:.2%}, "
            f"{p.gaps_filled} placed in gaps")
    console.print()
    draw_inputs(console, inp.facts)
    if explain:
        for d in report.designs:
            console.print()
            line = safe.text(d.design.value, style="bold")
            line.append_text(safe.text(f": {DESIGN_TITLES[d.design]}"))
            console.print(line, soft_wrap=True)
            for e in d.explain:
                say(f"  {e}")
    all_findings = list(report.findings)
    for d in report.designs:
        all_findings.extend(d.findings)
    if all_findings:
        console.print()
        draw_findings(console, all_findings)

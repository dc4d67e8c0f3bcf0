"""`footprint --memory --format text`: the boot memory table, one row per thing taken at boot."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.bootmem import BootMemReport
from cpualloc_cli.render import safe
from cpualloc_cli.render.tables import Col, print_table


def _k(v: int | None) -> str:
    return "inconclusive" if v is None else f"{v // 1024:,}K"


def draw_bootmem(console: Any, report: BootMemReport, explain: bool) -> None:
    inp = report.inputs
    console.print(safe.text(f"boot memory: {inp.arch}, {inp.memory_bytes:,} B RAM on machine '{inp.machine.value}', "
                            f"{inp.possible_cpus} possible CPU(s)"))
    figs = report.image_figures
    console.print(safe.text("Memory: line figures (mem_init_print_info, mm/page_alloc.c:8509-8557): "
                            + ", ".join(f"{_k(v)} {k.replace('_', ' ')}" for k, v in figs.items())))
    rows = []
    for r in report.rows:
        row = [r.name, "-" if r.bytes_ is None else f"{r.bytes_:,}", _k(r.bytes_), r.counted, r.source]
        if explain:
            row += [f"{r.formula} = {r.inputs}".strip(" ="), r.note]
        rows.append(row)
    cols = [Col("row", "name"), Col("bytes", "num", "right"), Col("KiB", "num", "right"), Col("counted in", "name"),
            Col("Linux 6.1 source", "text", drop=True)]
    if explain:
        cols += [Col("formula = inputs", "text", drop=True), Col("note", "text", drop=True)]
    print_table(console, cols, rows, title="taken at boot", boxed=False)
    console.print(safe.text(f"present (Memory: total): {_k(report.present_bytes)}"))
    console.print(safe.text(f"predicted reserved: {_k(report.reserved_bytes)} (sum of the 'reserved' rows)"))
    if report.available_bytes is not None and report.available_bytes != report.available_min_bytes:
        console.print(safe.text(f"predicted available: {_k(report.available_min_bytes)} .. {_k(report.available_bytes)}"))
    else:
        console.print(safe.text(f"predicted available: {_k(report.available_bytes)}"))
    console.print(safe.text(f"predicted MemTotal: {_k(report.memtotal_bytes)}"))
    for n in report.notes:
        console.print(safe.text(n))


def draw_reserved_sweep(console: Any, over: str, memory_bytes: int, points: Any) -> None:
    """`sweep --measure memory_reserved`: what the boot reserves at each value."""
    console.print(safe.text(f"memory_reserved over {over} with {memory_bytes:,} B RAM"))
    rows = []
    prev: int | None = None
    for p in points:
        step = "-" if prev is None or p.reserved_bytes is None else f"{p.reserved_bytes - prev:+,}"
        rows.append([p.value, p.nr_cpus, p.possible_cpus, _k(p.percpu_bytes), _k(p.image_bytes),
                     f"{p.static_delta_bytes:+,}", _k(p.reserved_bytes), step, _k(p.available_bytes)])
        prev = p.reserved_bytes
    print_table(console, [Col(over, "num", "right"), Col("NR_CPUS", "num", "right"), Col("possible", "num", "right"),
                          Col("percpu chunk", "num", "right"), Col("kernel image", "num", "right"),
                          Col("static arrays B", "num", "right"), Col("reserved", "num", "right"),
                          Col("step B", "num", "right"), Col("available", "num", "right")], rows,
                title="boot reservation per value", boxed=False)
    if any(p.static_fixed for p in points):
        console.print(safe.text("NR_CPUS swept without --scale-from: the image's static NR_CPUS arrays are kept "
                                "as built (only the per-cpu chunk and printk buffer vary)"))

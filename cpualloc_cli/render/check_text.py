"""`check --format text`: rich tables, then the arithmetic and fixes of each finding."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from cpualloc_cli.model.limits import CheckReport, Status
from cpualloc_cli.render.check_common import counts, fmt_value, status_label

_STYLE = {"ERROR": "bold red", "WARNING": "yellow", "PASS": "green", "SKIPPED": "dim", "WAIVED": "magenta",
          "INFO": "cyan"}


def draw_check(console: Any, report: CheckReport) -> None:
    i = report.inputs
    console.print(Text(f"cpualloc check: {i.arch}, kernel {i.kernel_version or 'unknown'}"
                       + (f" ({i.kernel_version_source})" if i.kernel_version_source else ""), style="bold"))
    console.print(f"basis: {i.basis}" + (f"; design: {i.design} ({i.design_source})" if i.design else ""), markup=False)
    for label, value in (("config", i.config_path), ("image", i.image_path), ("boot image", i.boot_image_path),
                         ("policy", i.policy_path), ("baseline", i.baseline_path)):
        if value:
            console.print(f"{label}: {value}", markup=False)
    table = Table(show_header=True, header_style="bold", title=None)
    for col in ("status", "rule", "measure", "measured", "bound", "margin"):
        table.add_column(col, justify="right" if col in ("measured", "bound", "margin") else "left")
    for o in report.outcomes:
        label = status_label(o)
        table.add_row(Text(label, style=_STYLE.get(label, "")), o.rule, o.measure or "-",
                      fmt_value(o.measured, o.unit), fmt_value(o.bound, o.unit),
                      fmt_value(o.margin, o.unit) if o.status is not Status.SKIPPED else "-")
    console.print(table)
    for o in report.outcomes:
        if o.status in (Status.PASS,):
            continue
        label = status_label(o)
        console.print(Text(f"{label} {o.rule}: {o.title}", style=_STYLE.get(label, "")))
        if o.status is Status.SKIPPED:
            console.print(f"  skipped: {o.skip_reason}", markup=False)
            continue
        if o.basis:
            console.print(f"  basis: {o.basis}", markup=False)
        for line in o.arithmetic:
            console.print(f"  {line}", markup=False)
        for fix in o.fixes:
            console.print(f"  fix: {fix.text}", markup=False)
        if o.waiver is not None:
            exp = f", expires {o.waiver.expires}" if o.waiver.expires else ""
            console.print(f"  waived: {o.waiver.reason}{exp} ({o.waiver.origin})", markup=False)
        for src in o.sources:
            console.print(f"  source: {src}", markup=False)
    if report.budgets:
        bt = Table(show_header=True, header_style="bold")
        for col in ("status", "budget", "baseline", "now", "allowed"):
            bt.add_column(col)
        for b in report.budgets:
            label = "FAIL" if b.status is Status.FAIL else b.status.value.upper()
            bt.add_row(Text(label, style="bold red" if label == "FAIL" else ""), f"{b.measure} {b.budget}",
                       str(int(b.baseline)), "-" if b.current is None else str(int(b.current)), str(int(b.allowed)))
        console.print(bt)
        for b in report.budgets:
            for line in b.arithmetic:
                console.print(f"  {line}", markup=False)
            if b.skip_reason:
                console.print(f"  {b.measure}: skipped: {b.skip_reason}", markup=False)
    c = counts(report)
    console.print(Text(
        f"{c['errors']} error(s), {c['warnings']} warning(s), {c['passed']} passed, {c['skipped']} skipped, "
        f"{c['waived']} waived, {c['info']} info, {c['budget_failures']} budget overrun(s); "
        f"{len(report.not_applicable)} limit(s) not applicable to this arch/version; exit {report.exit_code}",
        style="bold"))

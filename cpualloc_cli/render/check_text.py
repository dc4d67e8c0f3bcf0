"""`check --format text`: rich tables, then the arithmetic and fixes of each finding, then the
verdict (from report.failure_reasons(), the rule the exit code follows).

Every string from input (paths, rule ids and titles from a policy, waiver reasons, fixes) goes
through render.safe: shown literally, control characters made visible."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.limits import CheckReport, Status
from cpualloc_cli.render import safe
from cpualloc_cli.render.check_common import counted_note, fmt_exact, status_label, summary_line
from cpualloc_cli.render.tables import Col, print_table

_STYLE = {"ERROR": "bold red", "WARNING": "yellow", "PASS": "green", "SKIPPED": "dim", "WAIVED": "magenta",
          "INFO": "cyan", "INCONCLUSIVE": "bold yellow"}

COLUMNS = (Col("status", "num"), Col("rule", "num"), Col("measure", "name", drop=True),
           Col("measured", "num", "right"), Col("bound", "num", "right"), Col("margin", "num", "right"))


def draw_check(console: Any, report: CheckReport) -> None:
    i = report.inputs
    console.print(safe.text(f"cpualloc check: {i.arch}, kernel {i.kernel_version or 'unknown'}"
                            + (f" ({i.kernel_version_source})" if i.kernel_version_source else ""), style="bold"), soft_wrap=True)
    design = f"; design: {i.design} ({i.design_source})" if i.design else ""
    console.print(safe.text(f"basis: {i.basis}{design}"), soft_wrap=True)
    for label, value in (("config", i.config_path), ("image", i.image_path), ("boot image", i.boot_image_path),
                         ("policy", i.policy_path), ("baseline", i.baseline_path)):
        if value:
            console.print(safe.text(f"{label}: {value}"), soft_wrap=True)
    rows = []
    for o in report.outcomes:
        label = status_label(o)
        rows.append((safe.text(label, style=_STYLE.get(label, "")), o.rule, o.measure or "-",
                     fmt_exact(o.measured, o.unit), fmt_exact(o.bound, o.unit),
                     fmt_exact(o.margin, o.unit) if o.status is not Status.SKIPPED else "-"))
    print_table(console, COLUMNS, rows)
    for o in report.outcomes:
        if o.status is Status.PASS:
            continue
        label = status_label(o)
        note = counted_note(report, o)
        console.print(safe.text(f"{label} {o.rule}: {o.title}" + (f" [{note}]" if note else ""),
                                style=_STYLE.get(label, "")), soft_wrap=True)
        if o.status is Status.SKIPPED:
            console.print(safe.text(f"  skipped: {o.skip_reason}"), soft_wrap=True)
            continue
        if o.status is Status.INCONCLUSIVE and o.skip_reason:
            console.print(safe.text(f"  inconclusive: {o.skip_reason}"), soft_wrap=True)
        if o.basis:
            console.print(safe.text(f"  basis: {o.basis}"), soft_wrap=True)
        for line in o.arithmetic:
            console.print(safe.text(f"  {line}"), soft_wrap=True)
        for fix in o.fixes:
            console.print(safe.text(f"  fix: {fix.text}"), soft_wrap=True)
        if o.waiver is not None:
            exp = f", expires {o.waiver.expires}" if o.waiver.expires else ""
            console.print(safe.text(f"  waived: {o.waiver.reason}{exp} ({o.waiver.origin})"), soft_wrap=True)
        for src in o.sources:
            console.print(safe.text(f"  source: {src}"), soft_wrap=True)
    if report.budgets:
        brows = []
        for b in report.budgets:
            label = "FAIL" if b.status is Status.FAIL else b.status.value.upper()
            unit = "fraction" if b.measure == "vmalloc_share" else "bytes"
            brows.append((safe.text(label, style="bold red" if label == "FAIL" else ""), f"{b.measure} {b.budget}",
                          fmt_exact(b.baseline, unit), fmt_exact(b.current, unit), fmt_exact(b.allowed, unit)))
        print_table(console, (Col("status", "num"), Col("budget", "num"), Col("baseline", "num", "right"),
                              Col("now", "num", "right"), Col("allowed", "num", "right")), brows)
        for b in report.budgets:
            for line in b.arithmetic:
                console.print(safe.text(f"  {line}"), soft_wrap=True)
            if b.skip_reason:
                console.print(safe.text(f"  {b.measure}: skipped: {b.skip_reason}"), soft_wrap=True)
    for f in report.strict_findings:
        console.print(safe.text(f"ERROR --strict: {f}", style="bold red"), soft_wrap=True)
    console.print(safe.text(f"{len(report.not_applicable)} limit(s) not applicable to this arch/version"), soft_wrap=True)
    console.print(safe.text(summary_line(report), style="bold"), soft_wrap=True)

"""Shared helpers of the check renderers: value formatting, counts, one-line messages."""

from __future__ import annotations

from cpualloc_cli.model.limits import CheckReport, LimitOutcome, Status
from cpualloc_cli.model.measures import format_bytes


def fmt_value(value: float | None, unit: str) -> str:
    """Exact bytes (with thousands separators) and the binary-unit form: `8,454,144 B (8.06 MiB)`."""
    if value is None:
        return "-"
    if unit == "fraction":
        return f"{value * 100:.1f} %"
    if unit == "bits":
        return f"{int(value)} bits"
    n = int(value)
    return f"{n:,} B" if abs(n) < 1024 else f"{n:,} B ({format_bytes(n)})"


def fmt_exact(value: float | None, unit: str) -> str:
    """The exact figure alone, for table cells: `8,454,144 B`."""
    if value is None:
        return "-"
    if unit in ("fraction", "bits"):
        return fmt_value(value, unit)
    return f"{int(value):,} B"


def json_number(value: float | None, unit: str) -> int | float | None:
    """Sizes as integer bytes; fractions as floats."""
    if value is None:
        return None
    if unit == "fraction":
        return round(float(value), 6)
    return int(value)


def counts(report: CheckReport) -> dict[str, int]:
    c = {"errors": 0, "warnings": 0, "passed": 0, "skipped": 0, "waived": 0, "info": 0, "inconclusive": 0,
         "budget_failures": 0}
    for o in report.outcomes:
        if o.status is Status.FAIL:
            c["errors" if o.severity.value == "error" else "warnings"] += 1
        elif o.status is Status.PASS:
            c["passed"] += 1
        elif o.status is Status.SKIPPED:
            c["skipped"] += 1
        elif o.status is Status.WAIVED:
            c["waived"] += 1
        elif o.status is Status.INFO:
            c["info"] += 1
        elif o.status is Status.INCONCLUSIVE:
            c["inconclusive"] += 1
    c["budget_failures"] = sum(1 for b in report.budgets if b.status is Status.FAIL)
    return c


def summary_line(report: CheckReport) -> str:
    """The one closing line every human-readable format prints: the counts, then the verdict
    (stated from report.failure_reasons(), the same rule as the exit code)."""
    c = counts(report)
    line = (f"{c['errors']} error(s), {c['warnings']} warning(s), {c['inconclusive']} inconclusive, "
            f"{c['passed']} passed, {c['skipped']} skipped, {c['waived']} waived, {c['info']} info, "
            f"{c['budget_failures']} budget overrun(s)")
    if report.strict_findings:
        line += f", {len(report.strict_findings)} config finding(s) under --strict"
    return f"{line}; {verdict_line(report)}"


def verdict_line(report: CheckReport) -> str:
    reasons = report.failure_reasons()
    if not reasons:
        return f"PASS (exit {report.exit_code})"
    shown = "; ".join(reasons[:5]) + (f"; {len(reasons) - 5} more" if len(reasons) > 5 else "")
    return f"FAIL (exit {report.exit_code}): {shown}"


def message(o: LimitOutcome) -> str:
    """One line: what, how much, the bound, and the first fix."""
    if o.status is Status.SKIPPED:
        return f"{o.title}: skipped: {o.skip_reason}"
    head = o.title
    if o.status is Status.INCONCLUSIVE:
        head += ": inconclusive" + (f" ({o.skip_reason})" if o.skip_reason else "")
    if o.measured is not None and o.bound is not None and o.status is not Status.INFO:
        head += (f": {o.measure} {fmt_value(o.measured, o.unit)} vs bound {fmt_value(o.bound, o.unit)} "
                 f"(margin {fmt_value(o.margin, o.unit)})")
    elif o.status is Status.INFO and o.measured:
        head += f": costs {fmt_value(o.measured, 'bytes')} per GiB of RAM"
    if o.fixes:
        head += f"; fix: {o.fixes[0].text}"
    if o.status is Status.WAIVED and o.waiver is not None:
        head += f" (waived: {o.waiver.reason})"
    return head


def status_label(o: LimitOutcome) -> str:
    """ERROR / WARNING for a failed limit (by its severity), else the status in capitals
    (INCONCLUSIVE is never drawn as PASS)."""
    if o.status is Status.FAIL:
        return "ERROR" if o.severity.value == "error" else "WARNING"
    return o.status.value.upper()


def counted_note(report: CheckReport, o: LimitOutcome) -> str:
    """Why a failed or inconclusive outcome does or does not make the run fail."""
    if report.counts_against(o):
        return "counts: exit 1"
    if o.status is Status.FAIL:
        return f"not counted: below --fail-on {report.fail_on}"
    if o.status is Status.INCONCLUSIVE:
        if not report.fail_on_inconclusive:
            return "not counted: inconclusive (exit 1 only with --fail-on inconclusive)"
        return f"not counted: below --fail-on {report.fail_on}"
    return ""

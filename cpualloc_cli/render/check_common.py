"""Shared helpers of the check renderers: value formatting, counts, one-line messages."""

from __future__ import annotations

from cpualloc_cli.model.limits import CheckReport, LimitOutcome, Status
from cpualloc_cli.model.measures import format_bytes


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "fraction":
        return f"{value * 100:.1f} %"
    if unit == "bits":
        return f"{int(value)} bits"
    return f"{format_bytes(int(value))}"


def json_number(value: float | None, unit: str) -> int | float | None:
    """Sizes as integer bytes; fractions as floats."""
    if value is None:
        return None
    if unit == "fraction":
        return round(float(value), 6)
    return int(value)


def counts(report: CheckReport) -> dict[str, int]:
    c = {"errors": 0, "warnings": 0, "passed": 0, "skipped": 0, "waived": 0, "info": 0, "budget_failures": 0}
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
    c["budget_failures"] = sum(1 for b in report.budgets if b.status is Status.FAIL)
    return c


def message(o: LimitOutcome) -> str:
    """One line: what, how much, the bound, and the first fix."""
    if o.status is Status.SKIPPED:
        return f"{o.title}: skipped: {o.skip_reason}"
    head = o.title
    if o.measured is not None and o.bound is not None and o.status is not Status.INFO:
        head += (f": {o.measure} {fmt_value(o.measured, o.unit)} vs bound {fmt_value(o.bound, o.unit)} "
                 f"(margin {fmt_value(o.margin, o.unit)})")
    elif o.status is Status.INFO and o.measured:
        head += f": costs {fmt_value(o.measured, 'bytes')} per GiB of RAM"
    cause = next((f for f in o.fixes if f.kind == "cause"), None)
    fix = next((f for f in o.fixes if f.kind != "cause"), None)
    if cause is not None:
        head += f"; cause: {cause.text}"
    if fix is not None:
        head += f"; fix: {fix.text}"
    if o.status is Status.WAIVED and o.waiver is not None:
        head += f" (waived: {o.waiver.reason})"
    return head


def status_label(o: LimitOutcome) -> str:
    if o.status is Status.FAIL:
        return "ERROR" if o.severity.value == "error" else "WARNING"
    return o.status.value.upper()

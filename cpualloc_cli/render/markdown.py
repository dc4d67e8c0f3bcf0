"""`check --format markdown`: a table for $GITHUB_STEP_SUMMARY or a PR comment."""

from __future__ import annotations

from cpualloc_cli.model.limits import CheckReport, Status
from cpualloc_cli.render.check_common import counts, fmt_value, status_label

_ICON = {"ERROR": "\u274c", "WARNING": "\u26a0\ufe0f", "PASS": "\u2705", "SKIPPED": "\u23ed\ufe0f",
         "WAIVED": "\U0001f507", "INFO": "\u2139\ufe0f"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: CheckReport) -> str:
    i = report.inputs
    out = [f"### cpualloc check: {i.arch}, kernel {i.kernel_version or 'unknown'}", ""]
    out.append(f"Basis: {i.basis}" + (f"; design: {i.design} ({_cell(i.design_source or '')})" if i.design else ""))
    out.append("")
    out.append("| status | rule | measured | bound | margin | fix / reason |")
    out.append("|---|---|---:|---:|---:|---|")
    for o in report.outcomes:
        label = status_label(o)
        detail = o.skip_reason if o.status is Status.SKIPPED else (
            o.fixes[0].text if o.fixes else (f"waived: {o.waiver.reason}" if o.waiver else ""))
        margin = fmt_value(o.margin, o.unit) if o.status is not Status.SKIPPED else "-"
        out.append(f"| {_ICON.get(label, '')} {label} | `{o.rule}` | {fmt_value(o.measured, o.unit)} | "
                   f"{fmt_value(o.bound, o.unit)} | {margin} | {_cell(detail or '')} |")
    if report.budgets:
        out += ["", "| budget | baseline | now | allowed | status |", "|---|---:|---:|---:|---|"]
        for b in report.budgets:
            cur = "-" if b.current is None else str(int(b.current))
            out.append(f"| `{b.measure}` {b.budget} | {int(b.baseline)} | {cur} | {int(b.allowed)} | {b.status.value} |")
    c = counts(report)
    out += ["", f"**{c['errors']} error(s), {c['warnings']} warning(s)**, {c['passed']} passed, {c['skipped']} skipped, "
                f"{c['waived']} waived, {c['budget_failures']} budget overrun(s); exit {report.exit_code}", ""]
    return "\n".join(out)

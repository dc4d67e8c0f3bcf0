"""`check --format markdown`: a table for $GITHUB_STEP_SUMMARY or a PR comment.

The status column and the closing line follow report.failure_reasons() (the rule of the exit
code): a row that fails the run is marked "(fails the run)". Input strings are escaped for
GitHub-flavoured Markdown: control characters made visible, `|` escaped, backticks, `<`, `>`, `&`
and the other inline-markup characters neutralised, so a name can neither break the table nor
inject HTML or links.
"""

from __future__ import annotations

import re

from cpualloc_cli.model.limits import CheckReport, Status
from cpualloc_cli.render import safe
from cpualloc_cli.render.check_common import fmt_value, status_label, summary_line

_ICON = {"ERROR": "\u274c", "WARNING": "\u26a0\ufe0f", "PASS": "\u2705", "SKIPPED": "\u23ed\ufe0f",
         "WAIVED": "\U0001f507", "INFO": "\u2139\ufe0f", "INCONCLUSIVE": "\u2753"}


def md_text(text: object) -> str:
    """Plain text safe in a Markdown table cell: no markup, no HTML, no line breaks."""
    s = safe.clean(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_{}\[\]()#+!~|])", r"\\\1", s)


def md_code(text: object) -> str:
    """A code span that holds any name: fenced with more backticks than it contains."""
    s = safe.clean(text).replace("|", "\\|")
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (run + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def render_markdown(report: CheckReport) -> str:
    i = report.inputs
    out = [f"### cpualloc check: {md_text(i.arch)}, kernel {md_text(i.kernel_version or 'unknown')}", ""]
    out.append(f"Basis: {md_text(i.basis)}" + (f"; design: {md_text(i.design)} ({md_text(i.design_source or '')})"
                                               if i.design else ""))
    out.append("")
    out.append("| status | rule | measured | bound | margin | fix / reason |")
    out.append("|---|---|---:|---:|---:|---|")
    for o in report.outcomes:
        label = status_label(o)
        detail = o.skip_reason if o.status in (Status.SKIPPED, Status.INCONCLUSIVE) else (
            o.fixes[0].text if o.fixes else (f"waived: {o.waiver.reason}" if o.waiver else ""))
        margin = fmt_value(o.margin, o.unit) if o.status is not Status.SKIPPED else "-"
        status = f"{_ICON.get(label, '')} {label}" + (" (fails the run)" if report.counts_against(o) else "")
        out.append(f"| {status} | {md_code(o.rule)} | {fmt_value(o.measured, o.unit)} | "
                   f"{fmt_value(o.bound, o.unit)} | {margin} | {md_text(detail or '')} |")
    if report.budgets:
        out += ["", "| budget | baseline | now | allowed | status |", "|---|---:|---:|---:|---|"]
        for b in report.budgets:
            unit = "fraction" if b.measure == "vmalloc_share" else "bytes"
            status = b.status.value + (" (fails the run)" if b.status is Status.FAIL else "")
            out.append(f"| {md_code(b.measure)} {md_text(b.budget)} | {fmt_value(b.baseline, unit)} | "
                       f"{fmt_value(b.current, unit)} | {fmt_value(b.allowed, unit)} | {status} |")
    if report.strict_findings:
        out += ["", "| --strict config finding (fails the run) |", "|---|"]
        out += [f"| {md_text(f)} |" for f in report.strict_findings]
    out += ["", f"**{md_text(summary_line(report))}**", ""]
    return "\n".join(out)

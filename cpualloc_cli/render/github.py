"""`check --format github`: GitHub Actions workflow commands, one per finding.

`::error file=PATH,line=N,title=RULE::message` (line only when the finding points at one, e.g.
CONFIG_NR_CPUS in the .config). Property values and messages are escaped as the runner expects.
"""

from __future__ import annotations

from cpualloc_cli.model.limits import CheckReport, Status
from cpualloc_cli.render.check_common import counts, message


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: CheckReport) -> str:
    lines: list[str] = []
    for o in report.outcomes:
        if o.status is Status.FAIL:
            cmd = "error" if o.severity.value == "error" else "warning"
        elif o.status in (Status.INFO, Status.WAIVED, Status.SKIPPED):
            cmd = "notice"
        else:
            continue
        props = []
        path = o.path or report.inputs.config_path or report.inputs.image_path
        if path:
            props.append(f"file={_escape_property(path)}")
            if o.line is not None:
                props.append(f"line={o.line}")
        props.append(f"title={_escape_property(o.rule)}")
        lines.append(f"::{cmd} {','.join(props)}::{_escape_data(message(o))}")
    for b in report.budgets:
        if b.status is Status.FAIL:
            lines.append(f"::error title={_escape_property(b.rule)}::{_escape_data('; '.join(b.arithmetic))}")
    c = counts(report)
    lines.append(f"cpualloc check: {c['errors']} error(s), {c['warnings']} warning(s), {c['passed']} passed, "
                 f"{c['skipped']} skipped, {c['waived']} waived, {c['budget_failures']} budget overrun(s)")
    return "\n".join(lines) + "\n"

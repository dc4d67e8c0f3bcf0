"""`check --format github`: GitHub Actions workflow commands, one per finding.

`::error file=PATH,line=N,title=RULE::message` (line only when the finding points at one, e.g.
CONFIG_NR_CPUS in the .config). The command follows counting (report.counts_against, the rule of
the exit code): `::error` for what makes the run fail (whatever its severity), `::warning` for a
failure or an inconclusive limit that does not count, `::notice` for info, waived and skipped.
The last line states the verdict and the exit code.

Input strings are made safe first (control characters shown as `\\x1b`, `\\x0a`...: no input can
start a line, so no `::command` can be injected), then escaped as the runner expects: `%`, CR and
LF in data; also `:` and `,` in properties.
"""

from __future__ import annotations

from cpualloc_cli.model.limits import CheckReport, Status
from cpualloc_cli.render import safe
from cpualloc_cli.render.check_common import message, summary_line


def _escape_data(text: str) -> str:
    return safe.clean(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: CheckReport) -> str:
    lines: list[str] = []
    for o in report.outcomes:
        if report.counts_against(o):
            cmd = "error"
        elif o.status in (Status.FAIL, Status.INCONCLUSIVE):
            cmd = "warning"
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
    for f in report.strict_findings:
        where = f"file={_escape_property(report.inputs.config_path)}," if report.inputs.config_path else ""
        lines.append(f"::error {where}title=config.strict::{_escape_data('--strict: ' + f)}")
    lines.append(_escape_data(f"cpualloc check: {summary_line(report)}"))
    return "\n".join(lines) + "\n"

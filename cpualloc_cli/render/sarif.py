"""`check --format sarif`: SARIF 2.1.0 (OASIS), one rule per limit, stable ruleIds and
partialFingerprints, waived results as suppressions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cpualloc_cli import TOOL_NAME, __version__
from cpualloc_cli.model.limits import CheckReport, LimitOutcome, Status
from cpualloc_cli.render.check_common import message

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFO_URI = "https://github.com/cpualloc/cpualloc"


def _level(o: LimitOutcome) -> str:
    if o.status in (Status.FAIL, Status.WAIVED):
        return "error" if o.severity.value == "error" else "warning"
    if o.status is Status.INFO:
        return "note"
    return "none"


def _kind(o: LimitOutcome) -> str:
    return {Status.FAIL: "fail", Status.WAIVED: "fail", Status.PASS: "pass", Status.SKIPPED: "notApplicable",
            Status.INFO: "informational"}[o.status]


def _uri(path: str) -> str:
    return path.replace("\\", "/").replace(" ", "%20")


def sarif_document(report: CheckReport) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for o in report.outcomes:
        if o.rule in index:
            continue
        index[o.rule] = len(rules)
        rules.append({
            "id": o.rule,
            "name": o.rule.replace(".", "_").replace("-", "_"),
            "shortDescription": {"text": o.title},
            "fullDescription": {"text": o.note or o.title},
            "help": {"text": "Sources: " + "; ".join(o.sources) if o.sources else o.title},
            "defaultConfiguration": {"level": "error" if o.severity.value == "error" else "warning"},
            "properties": {"origin": o.origin},
        })
    results: list[dict[str, Any]] = []
    for o in report.outcomes:
        path = o.path or report.inputs.config_path or report.inputs.image_path
        res: dict[str, Any] = {
            "ruleId": o.rule,
            "ruleIndex": index[o.rule],
            "level": _level(o),
            "kind": _kind(o),
            "message": {"text": message(o)},
            "partialFingerprints": {
                "cpuallocRule/v1": hashlib.sha256(f"{o.rule}|{report.inputs.arch}|{path or ''}".encode()).hexdigest(),
            },
            "properties": {
                "measure": o.measure, "measured": o.measured, "bound": o.bound, "margin": o.margin, "unit": o.unit,
                "arithmetic": list(o.arithmetic), "fixes": [f.text for f in o.fixes],
            },
        }
        if path:
            loc: dict[str, Any] = {"artifactLocation": {"uri": _uri(path)}}
            if o.line is not None and o.line >= 1:
                loc["region"] = {"startLine": o.line}
            res["locations"] = [{"physicalLocation": loc}]
        if o.status is Status.WAIVED and o.waiver is not None:
            res["suppressions"] = [{"kind": "external", "status": "accepted", "justification": o.waiver.reason}]
        results.append(res)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL_NAME, "version": __version__, "informationUri": INFO_URI,
                                "rules": rules}},
            "invocations": [{"executionSuccessful": True, "exitCode": report.exit_code}],
            "results": results,
        }],
    }


def render_sarif(report: CheckReport) -> str:
    return json.dumps(sarif_document(report), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

"""`check --format sarif`: SARIF 2.1.0 (OASIS), one rule per limit, stable ruleIds and
partialFingerprints, waived results as suppressions.

The verdict, from report.failure_reasons() (the rule the exit code follows):

- `invocations[0].exitCode` is the process's exit code (0 or 1) and `exitCodeDescription` says
  why; `properties.failureReasons` lists the reasons.
- `executionSuccessful` is true: SARIF 2.1.0 section 3.20.14 defines it as whether the tool ran
  to completion, "regardless of whether it detected results" (findings, exit 1, included). A run
  that did not complete (exit 2, 3 or 4) writes no SARIF at all.
- A result that counts against the run is `kind: fail, level: error`, whatever its severity (a
  warning under `--fail-on warning` is an error of this run); a failure that does not count keeps
  `level: warning` (or `note`). An inconclusive result that counts is a failure; one that does not
  is `kind: review` with `level: none` (section 3.27.9: a kind other than "fail" has level "none").
- Each `--strict` config finding is a result of rule `config.strict`, level error.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cpualloc_cli import TOOL_NAME, __version__
from cpualloc_cli.model.limits import CheckReport, LimitOutcome, Status
from cpualloc_cli.render.check_common import message

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFO_URI = "https://github.com/cpualloc/cpualloc"


def _level(report: CheckReport, o: LimitOutcome) -> str:
    if report.counts_against(o):
        return "error"
    if o.status is Status.FAIL:  # below --fail-on: shown, not counted
        return "warning" if o.severity.rank >= 1 else "note"
    if o.status is Status.WAIVED:  # a failure, suppressed
        return "error" if o.severity.value == "error" else "warning"
    return "none"  # pass, skipped, info, inconclusive not counted: kinds other than "fail" (3.27.9)


def _kind(report: CheckReport, o: LimitOutcome) -> str:
    if o.status is Status.INCONCLUSIVE:
        return "fail" if report.counts_against(o) else "review"
    return {Status.FAIL: "fail", Status.WAIVED: "fail", Status.PASS: "pass", Status.SKIPPED: "notApplicable",
            Status.INFO: "informational"}[o.status]


STRICT_RULE = "config.strict"


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
            "level": _level(report, o),
            "kind": _kind(report, o),
            "message": {"text": message(o)},
            "partialFingerprints": {
                "cpuallocRule/v1": hashlib.sha256(
                    f"{o.rule}|{report.inputs.arch}|{path or ''}".encode("utf-8", "surrogateescape")).hexdigest(),
            },
            "properties": {
                "measure": o.measure, "measured": o.measured, "bound": o.bound, "margin": o.margin, "unit": o.unit,
                "arithmetic": list(o.arithmetic), "fixes": [f.text for f in o.fixes],
                "status": o.status.value, "counts": report.counts_against(o),
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
    for b in report.budgets:
        if b.rule not in index:
            index[b.rule] = len(rules)
            rules.append({"id": b.rule, "name": b.rule.replace(".", "_"),
                          "shortDescription": {"text": f"growth budget for {b.measure}"},
                          "fullDescription": {"text": f"{b.measure} may grow at most {b.budget} from the baseline"},
                          "defaultConfiguration": {"level": "error"}, "properties": {"origin": "budget"}})
        failed = b.status is Status.FAIL
        bres: dict[str, Any] = {
            "ruleId": b.rule, "ruleIndex": index[b.rule],
            "level": "error" if failed else "none",
            "kind": "fail" if failed else ("notApplicable" if b.status is Status.SKIPPED else "pass"),
            "message": {"text": "; ".join(b.arithmetic) or (b.skip_reason or f"{b.measure} {b.budget}")},
            "partialFingerprints": {"cpuallocRule/v1": hashlib.sha256(
                f"{b.rule}|{report.inputs.arch}|{report.inputs.baseline_path or ''}".encode("utf-8", "surrogateescape")
            ).hexdigest()},
            "properties": {"status": b.status.value, "counts": failed},
        }
        if b.status is Status.WAIVED:
            bres["level"], bres["kind"] = "warning", "fail"
            bres["suppressions"] = [{"kind": "external", "status": "accepted"}]
        results.append(bres)
    if report.strict_findings:
        index[STRICT_RULE] = len(rules)
        rules.append({
            "id": STRICT_RULE, "name": "config_strict",
            "shortDescription": {"text": "config finding made a failure by --strict"},
            "fullDescription": {"text": "A .config finding (malformed line, unknown symbol, out-of-range value, "
                                        "assignment that did not take); --strict makes each one fail the run."},
            "defaultConfiguration": {"level": "error"},
            "properties": {"origin": "--strict"},
        })
        for n, finding in enumerate(report.strict_findings):
            res = {
                "ruleId": STRICT_RULE, "ruleIndex": index[STRICT_RULE], "level": "error", "kind": "fail",
                "message": {"text": finding},
                "partialFingerprints": {"cpuallocRule/v1": hashlib.sha256(
                    f"{STRICT_RULE}|{report.inputs.arch}|{finding}".encode("utf-8", "surrogateescape")).hexdigest()},
                "properties": {"index": n},
            }
            if report.inputs.config_path:
                res["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": _uri(report.inputs.config_path)}}}]
            results.append(res)
    reasons = list(report.failure_reasons())
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "exitCode": report.exit_code,
        "exitCodeDescription": ("findings fail the run: " + "; ".join(reasons)) if reasons else
        "no finding fails the run",
        "properties": {"failureReasons": reasons, "failOn": report.fail_on,
                       "failOnInconclusive": report.fail_on_inconclusive},
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL_NAME, "version": __version__, "informationUri": INFO_URI,
                                "rules": rules}},
            "invocations": [invocation],
            "results": results,
        }],
    }


def render_sarif(report: CheckReport) -> str:
    return json.dumps(sarif_document(report), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

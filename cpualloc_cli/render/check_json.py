"""`check --format json`: the documented schema (schemas/check.schema.json)."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.limits import BudgetOutcome, CheckReport, LimitOutcome
from cpualloc_cli.render.check_common import counts, json_number
from cpualloc_cli.render.jsonout import dumps, envelope


def _outcome(report: CheckReport, o: LimitOutcome) -> dict[str, Any]:
    return {
        "counts": report.counts_against(o),
        "rule": o.rule,
        "title": o.title,
        "status": o.status.value,
        "severity": o.severity.value,
        "measure": o.measure,
        "measured": json_number(o.measured, o.unit),
        "bound": json_number(o.bound, o.unit),
        "margin": json_number(o.margin, o.unit),
        "unit": o.unit,
        "basis": o.basis,
        "arithmetic": list(o.arithmetic),
        "fixes": [{"text": f.text, "kind": f.kind, "value": f.value} for f in o.fixes],
        "sources": list(o.sources),
        "note": o.note,
        "skip_reason": o.skip_reason,
        "waiver": None if o.waiver is None else {
            "rule": o.waiver.rule, "reason": o.waiver.reason,
            "expires": None if o.waiver.expires is None else o.waiver.expires.isoformat(),
            "origin": o.waiver.origin},
        "path": o.path,
        "line": o.line,
        "origin": o.origin,
    }


def _budget(b: BudgetOutcome) -> dict[str, Any]:
    return {
        "rule": b.rule, "measure": b.measure, "budget": b.budget,
        "baseline": json_number(b.baseline, "fraction" if b.measure == "vmalloc_share" else "bytes"),
        "current": json_number(b.current, "fraction" if b.measure == "vmalloc_share" else "bytes"),
        "allowed": json_number(b.allowed, "fraction" if b.measure == "vmalloc_share" else "bytes"),
        "status": b.status.value, "arithmetic": list(b.arithmetic), "skip_reason": b.skip_reason,
    }


def check_document(report: CheckReport) -> dict[str, Any]:
    i = report.inputs
    measures = {k: json_number(v, "fraction" if k == "vmalloc_share" else "bytes") for k, v in i.measures.items()}
    summary: dict[str, Any] = dict(counts(report))
    summary["exit_code"] = report.exit_code
    summary["fail_on"] = report.fail_on
    summary["fail_on_inconclusive"] = report.fail_on_inconclusive
    summary["failure_reasons"] = list(report.failure_reasons())
    summary["strict_findings"] = list(report.strict_findings)
    return envelope("check", {
        "inputs": {
            "arch": i.arch, "kernel_version": i.kernel_version, "kernel_version_source": i.kernel_version_source,
            "design": i.design, "design_source": i.design_source, "config": i.config_path, "image": i.image_path,
            "boot_image": i.boot_image_path, "baseline": i.baseline_path, "policy": i.policy_path, "basis": i.basis,
            "config_source": i.config_source, "base": i.base, "lower_bound_measures": list(i.lower_bound_measures),
            "nr_cpus": i.nr_cpus, "nr_cpus_source": i.nr_cpus_source,
            "platform": i.platform, "platform_source": i.platform_source,
        },
        "measures": measures,
        "measure_sources": dict(i.measure_sources),
        "results": [_outcome(report, o) for o in report.outcomes],
        "budgets": [_budget(b) for b in report.budgets],
        "not_applicable": list(report.not_applicable),
        "summary": summary,
        "symbol_sizes": {name: [size, letter] for name, (size, letter) in i.symbol_sizes.items()},
    })


def render_check_json(report: CheckReport) -> str:
    return dumps(check_document(report))

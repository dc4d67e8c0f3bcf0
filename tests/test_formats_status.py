"""One truth for the exit status (issue 11, item 5): for every status x severity x --fail-on x
--fail-on inconclusive x --strict x budget, every `check` format states the verdict the exit
code gives.

The expected exit code is worked out here from the CLI contract (PRODUCT.md: 1 when a limit
fails at or above the failure threshold or a budget overruns; --strict makes config findings
failures; issue 11: an inconclusive limit gives exit 1 only with --fail-on inconclusive), not
taken from CheckReport. Each output is parsed: JSON and SARIF with json.loads and validated
against their schemas (SARIF: the OASIS 2.1.0 schema), JUnit with xml.etree, GitHub workflow
commands by line, Markdown and text by their closing line.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import jsonschema
import pytest
from conftest import FIXTURES, REPO

from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.limits import BudgetOutcome, CheckInputs, CheckReport, LimitOutcome, Status, Waiver
from cpualloc_cli.render.check_json import render_check_json
from cpualloc_cli.render.check_text import draw_check
from cpualloc_cli.render.github import render_github
from cpualloc_cli.render.junit import render_junit
from cpualloc_cli.render.markdown import render_markdown
from cpualloc_cli.render.sarif import render_sarif

# one validator each (jsonschema.validate would check the schema itself on every call)
CHECK_VALIDATOR = jsonschema.Draft202012Validator(json.loads((REPO / "schemas" / "check.schema.json").read_text()))
SARIF_VALIDATOR = jsonschema.Draft4Validator(json.loads((FIXTURES / "check" / "sarif-schema-2.1.0.json").read_text()))
RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


def outcome(status: Status, severity: Severity, rule: str = "test.limit") -> LimitOutcome:
    measured, bound = (9 << 20, 8 << 20) if status in (Status.FAIL, Status.WAIVED) else (7 << 20, 8 << 20)
    return LimitOutcome(
        rule=rule, title="the image must fit", status=status, severity=severity, measure="image_extent",
        measured=None if status is Status.SKIPPED else float(measured), bound=float(bound),
        margin=None if status is Status.SKIPPED else float(bound - measured), unit="bytes", basis="image",
        arithmetic=("9437184 > 8388608",) if status is Status.FAIL else (), fixes=(), sources=("a manual",),
        note="", skip_reason={Status.SKIPPED: "no image", Status.INCONCLUSIVE: "lower bound straddles it"}.get(status),
        waiver=Waiver(rule=rule, reason="known", origin="cpualloc.toml") if status is Status.WAIVED else None,
        path="vmlinux")


def budget(status: Status) -> BudgetOutcome:
    return BudgetOutcome(measure="bss", budget="+1%", baseline=1000.0, current=None if status is Status.SKIPPED else
                         (2000.0 if status is Status.FAIL else 1005.0), allowed=1010.0, status=status,
                         arithmetic=("bss 2000 > 1010 allowed",) if status is Status.FAIL else (),
                         skip_reason="no bss measured" if status is Status.SKIPPED else None)


def report(outcomes: tuple[LimitOutcome, ...], fail_on: str, fail_on_inconclusive: bool, strict: bool,
           budgets: tuple[BudgetOutcome, ...]) -> CheckReport:
    inputs = CheckInputs(arch="sparc64", kernel_version="6.1", kernel_version_source="test", design=None,
                         design_source=None, config_path=".config", image_path="vmlinux", boot_image_path=None,
                         baseline_path="prev.json" if budgets else None, policy_path=None, basis="image+config",
                         measures={"image_extent": 9.0 * (1 << 20)}, measure_sources={"image_extent": "test"})
    return CheckReport(inputs=inputs, outcomes=outcomes, budgets=budgets, not_applicable=(), fail_on=fail_on,
                       fail_on_inconclusive=fail_on_inconclusive,
                       strict_findings=(".config:3: CONFIG_NR_CPUS=9000 is out of range [config.out-of-range]",)
                       if strict else ())


def expected_exit(o: LimitOutcome, fail_on: str, foi: bool, strict: bool, b: BudgetOutcome | None) -> int:
    threshold = 1 if fail_on == "warning" else 2
    counted = (o.status is Status.FAIL and RANK[o.severity] >= threshold) or (
        o.status is Status.INCONCLUSIVE and foi and RANK[o.severity] >= threshold)
    return 1 if counted or strict or (b is not None and b.status is Status.FAIL) else 0


def render_text(r: CheckReport, width: int = 100) -> str:
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, no_color=True, color_system=None, highlight=False,
                      emoji=False)
    draw_check(console, r)
    return buf.getvalue()


def verify_all_formats(r: CheckReport, want: int) -> None:
    assert r.exit_code == want
    # JSON
    doc = json.loads(render_check_json(r))
    CHECK_VALIDATOR.validate(doc)
    assert doc["summary"]["exit_code"] == want
    assert bool(doc["summary"]["failure_reasons"]) == bool(want)
    assert any(res["counts"] for res in doc["results"]) == any(r.counts_against(o) for o in r.outcomes)
    # SARIF
    sarif = json.loads(render_sarif(r))
    SARIF_VALIDATOR.validate(sarif)
    inv = sarif["runs"][0]["invocations"][0]
    assert inv["exitCode"] == want and inv["executionSuccessful"] is True
    results = sarif["runs"][0]["results"]
    failing = [x for x in results if x["kind"] == "fail" and x["level"] == "error" and not x.get("suppressions")]
    assert bool(failing) == bool(want), results
    for x in results:  # SARIF 3.27.9: a kind other than "fail" has level "none"
        assert x["kind"] == "fail" or x["level"] == "none", x
    # JUnit
    root = ET.fromstring(render_junit(r))
    suite = root.find("testsuite")
    assert suite is not None
    failures = suite.findall("testcase/failure")
    assert int(suite.get("failures", "-1")) == len(failures)
    assert bool(failures) == bool(want)
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["exit_code"] == str(want)
    for case, o in zip(suite.findall("testcase"), r.outcomes, strict=False):
        if o.status is Status.INCONCLUSIVE:  # never a pass
            assert case.find("failure") is not None or case.find("skipped") is not None
    # GitHub
    lines = render_github(r).splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert bool(errors) == bool(want), lines
    assert lines[-1].startswith("cpualloc check: ")
    assert (f"FAIL (exit {want})" if want else f"PASS (exit {want})") in lines[-1]
    # Markdown
    md = render_markdown(r)
    assert ("(fails the run)" in md) == bool(want)
    last = [line for line in md.splitlines() if line.strip()][-1]
    assert re.search(r"(FAIL|PASS) \\\(exit (\d)\\\)", last) is not None, last
    assert (f"FAIL \\(exit {want}\\)" if want else f"PASS \\(exit {want}\\)") in last
    # text
    text = render_text(r)
    tail = text.rstrip("\n").splitlines()[-1]
    assert (f"FAIL (exit {want})" if want else f"PASS (exit {want})") in tail, tail
    for o in r.outcomes:
        if o.status is Status.INCONCLUSIVE:
            assert "INCONCLUSIVE" in text


STATUSES = list(Status)
SEVERITIES = list(Severity)
BUDGETS: list[Status | None] = [None, Status.PASS, Status.FAIL, Status.SKIPPED]


@pytest.mark.parametrize(("status", "severity"), list(itertools.product(STATUSES, SEVERITIES)),
                         ids=lambda v: str(v))
def test_every_format_agrees_with_the_exit_code(status: Status, severity: Severity) -> None:
    checked = 0
    for fail_on, foi, strict, bstatus in itertools.product(("error", "warning"), (False, True), (False, True), BUDGETS):
        o = outcome(status, severity)
        b = budget(bstatus) if bstatus is not None else None
        r = report((o,), fail_on, foi, strict, (b,) if b is not None else ())
        verify_all_formats(r, expected_exit(o, fail_on, foi, strict, b))
        checked += 1
    assert checked == 2 * 2 * 2 * len(BUDGETS)


def test_mixed_reports_agree() -> None:
    """Several outcomes at once: the run fails when any one counts."""
    all_outcomes = tuple(outcome(s, v, rule=f"r.{s.value}.{v.value}") for s in STATUSES for v in SEVERITIES)
    for fail_on, foi in itertools.product(("error", "warning"), (False, True)):
        r = report(all_outcomes, fail_on, foi, False, ())
        verify_all_formats(r, 1)  # FAIL at error severity is always counted
    quiet = tuple(o for o in all_outcomes if o.status is not Status.FAIL)
    verify_all_formats(report(quiet, "error", False, False, ()), 0)
    verify_all_formats(report(quiet, "error", True, False, ()), 1)  # inconclusive/error counts


def test_strict_alone_fails_in_every_format() -> None:
    r = report((outcome(Status.PASS, Severity.ERROR),), "error", False, True, ())
    verify_all_formats(r, 1)
    assert "config.strict" in render_sarif(r)
    root: Any = ET.fromstring(render_junit(r))
    assert [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None] == ["config.strict[0]"]

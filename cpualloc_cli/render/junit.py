"""`check --format junit`: one testcase per limit (and per budget); failures carry the arithmetic."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cpualloc_cli.model.limits import CheckReport, Status
from cpualloc_cli.render.check_common import message


def render_junit(report: CheckReport) -> str:
    suites = ET.Element("testsuites", name="cpualloc check")
    suite = ET.SubElement(suites, "testsuite", name=f"cpualloc.limits.{report.inputs.arch}")
    tests = failures = skipped = 0
    for o in report.outcomes:
        tests += 1
        case = ET.SubElement(suite, "testcase", classname=f"cpualloc.{report.inputs.arch}", name=o.rule)
        body = "\n".join((*o.arithmetic, *(f"fix: {f.text}" for f in o.fixes), *(f"source: {s}" for s in o.sources)))
        if o.status is Status.FAIL:
            failures += 1
            el = ET.SubElement(case, "failure", message=message(o), type=o.severity.value)
            el.text = body
        elif o.status is Status.SKIPPED:
            skipped += 1
            ET.SubElement(case, "skipped", message=o.skip_reason or "skipped")
        elif o.status is Status.WAIVED:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"waived: {o.waiver.reason if o.waiver else ''}")
            ET.SubElement(case, "system-out").text = body
        else:
            ET.SubElement(case, "system-out").text = body or message(o)
    for b in report.budgets:
        tests += 1
        case = ET.SubElement(suite, "testcase", classname=f"cpualloc.{report.inputs.arch}", name=b.rule)
        if b.status is Status.FAIL:
            failures += 1
            ET.SubElement(case, "failure", message="; ".join(b.arithmetic), type="budget").text = "\n".join(b.arithmetic)
        elif b.status is Status.SKIPPED:
            skipped += 1
            ET.SubElement(case, "skipped", message=b.skip_reason or "skipped")
    for el in (suite, suites):
        el.set("tests", str(tests))
        el.set("failures", str(failures))
        el.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"

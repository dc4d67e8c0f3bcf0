"""`check --format junit`: one testcase per limit (and per budget, and per `--strict` config
finding); failures carry the arithmetic.

The suite fails exactly when the run does (report.failure_reasons(), the rule of the exit code):
a `<failure>` for each outcome that counts against the run (a failed limit at or above
`--fail-on`, an inconclusive one under `--fail-on inconclusive`, a budget overrun, a `--strict`
finding); a failure or an inconclusive limit that does not count is `<skipped>` with the reason,
never a pass. `<properties>` carry exit_code and the failure reasons.

Every string is made XML 1.0-safe: the characters XML forbids (C0 controls but tab, newline and
CR; U+FFFE, U+FFFF; lone surrogates from undecodable names) become visible escapes such as
`\\x1b`, so control characters in a policy or a config cannot make the document malformed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from cpualloc_cli.model.limits import CheckReport, Status
from cpualloc_cli.render import safe
from cpualloc_cli.render.check_common import counted_note, message

_XML_FORBIDDEN = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _xml_char(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    if 0xDC80 <= c <= 0xDCFF:  # surrogateescape: an undecodable byte of a name
        return f"\\x{c - 0xDC00:02x}"
    return f"\\u{c:04x}"


def xml_text(s: object) -> str:
    """`s` with every control character and every character XML 1.0 forbids made visible."""
    return _XML_FORBIDDEN.sub(_xml_char, safe.clean(s))


def _lines(*lines: str) -> str:
    return "\n".join(xml_text(line) for line in lines)


def render_junit(report: CheckReport) -> str:
    arch = xml_text(report.inputs.arch)
    suites = ET.Element("testsuites", name="cpualloc check")
    suite = ET.SubElement(suites, "testsuite", name=f"cpualloc.limits.{arch}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="exit_code", value=str(report.exit_code))
    ET.SubElement(props, "property", name="fail_on", value=report.fail_on)
    ET.SubElement(props, "property", name="fail_on_inconclusive", value=str(report.fail_on_inconclusive).lower())
    for n, reason in enumerate(report.failure_reasons()):
        ET.SubElement(props, "property", name=f"failure_reason.{n}", value=xml_text(reason))
    tests = failures = skipped = 0
    for o in report.outcomes:
        tests += 1
        case = ET.SubElement(suite, "testcase", classname=f"cpualloc.{arch}", name=xml_text(o.rule))
        body = _lines(*o.arithmetic, *(f"fix: {f.text}" for f in o.fixes), *(f"source: {s}" for s in o.sources))
        if report.counts_against(o):
            failures += 1
            kind = "inconclusive" if o.status is Status.INCONCLUSIVE else o.severity.value
            ET.SubElement(case, "failure", message=xml_text(message(o)), type=kind).text = body
        elif o.status in (Status.FAIL, Status.INCONCLUSIVE):
            skipped += 1
            ET.SubElement(case, "skipped", message=xml_text(f"{counted_note(report, o)}: {message(o)}"))
            ET.SubElement(case, "system-out").text = body
        elif o.status is Status.SKIPPED:
            skipped += 1
            ET.SubElement(case, "skipped", message=xml_text(o.skip_reason or "skipped"))
        elif o.status is Status.WAIVED:
            skipped += 1
            ET.SubElement(case, "skipped", message=xml_text(f"waived: {o.waiver.reason if o.waiver else ''}"))
            ET.SubElement(case, "system-out").text = body
        else:
            ET.SubElement(case, "system-out").text = body or xml_text(message(o))
    for b in report.budgets:
        tests += 1
        case = ET.SubElement(suite, "testcase", classname=f"cpualloc.{arch}", name=xml_text(b.rule))
        if b.status is Status.FAIL:
            failures += 1
            ET.SubElement(case, "failure", message=xml_text("; ".join(b.arithmetic)), type="budget").text = \
                _lines(*b.arithmetic)
        elif b.status is Status.SKIPPED:
            skipped += 1
            ET.SubElement(case, "skipped", message=xml_text(b.skip_reason or "skipped"))
        elif b.status is Status.WAIVED:
            skipped += 1
            ET.SubElement(case, "skipped", message="waived")
    for n, finding in enumerate(report.strict_findings):
        tests += 1
        failures += 1
        case = ET.SubElement(suite, "testcase", classname=f"cpualloc.{arch}", name=f"config.strict[{n}]")
        ET.SubElement(case, "failure", message=xml_text(finding), type="strict").text = xml_text(finding)
    for el in (suite, suites):
        el.set("tests", str(tests))
        el.set("failures", str(failures))
        el.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"

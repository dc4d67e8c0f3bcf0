"""`check IMAGE IMAGE...` (or `--modules DIR`): one report per input, in every check format.

Each input is checked on its own, as `check IMAGE` checks it; this module only puts the
reports side by side and adds the inputs that could not be read:

- json: `kind: "check-many"` with `files` (each a whole `check --format json` document, so
  `jq '.files[0]'` is what `check` alone prints for that file and can serve as a --baseline),
  `failures` (path and error line, argument order) and a `summary` (counts and exit code);
- sarif: one run, the rules of every report once, every result with its file; an unreadable
  input is a tool execution notification (level error, its file as the location), and then
  `executionSuccessful` is false and `exitCode` 3 (SARIF 2.1.0 sections 3.20.14, 3.20.21);
- github: every report's annotations, then one `::error file=PATH` per unreadable input;
- markdown: a `#### PATH` heading before each report, and a last line with the totals;
- junit: one `<testsuite>` per report under one `<testsuites>`, each with an `image` property;
- text: each report as `check` draws it, then the totals line.

The exit code: 3 when an input could not be read (the others still reported), else 1 when any
report fails the run, else 0: each code keeps its one meaning.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from cpualloc_cli.model.limits import CheckReport
from cpualloc_cli.model.limits import many_exit_code as _combined


def many_exit_code(reports: Sequence[CheckReport], failures: Sequence[tuple[str, str]]) -> int:
    return _combined(list(reports), len(failures))


def totals_line(reports: Sequence[CheckReport], failures: Sequence[tuple[str, str]]) -> str:
    failing = sum(1 for r in reports if r.exit_code)
    n = len(reports) + len(failures)
    line = f"{n} input(s): {len(reports)} checked, {failing} failing, {len(failures)} unreadable"
    code = many_exit_code(reports, failures)
    verdict = {0: "PASS", 1: "FAIL"}.get(code, "INPUT ERROR")
    return f"{line}; {verdict} (exit {code})"


def _image(r: CheckReport) -> str:
    return r.inputs.image_path or r.inputs.config_path or "(config)"


def render_check_many(fmt: str, reports: Sequence[CheckReport], failures: Sequence[tuple[str, str]]) -> str:
    """Every format but text (which the CLI draws through rich with :func:`draw_check_many`)."""
    if fmt == "json":
        return _json(reports, failures)
    if fmt == "sarif":
        return _sarif(reports, failures)
    if fmt == "github":
        return _github(reports, failures)
    if fmt == "markdown":
        return _markdown(reports, failures)
    if fmt == "junit":
        return _junit(reports, failures)
    raise ValueError(f"no many-input renderer for {fmt!r}")


def _json(reports: Sequence[CheckReport], failures: Sequence[tuple[str, str]]) -> str:
    from cpualloc_cli.render.check_json import check_document
    from cpualloc_cli.render.jsonout import dumps, envelope

    summary = {"inputs": len(reports) + len(failures), "checked": len(reports),
               "failing": sum(1 for r in reports if r.exit_code), "unreadable": len(failures),
               "exit_code": many_exit_code(reports, failures)}
    return dumps(envelope("check-many", {"files": [check_document(r) for r in reports],
                                         "failures": [{"path": p, "error": e} for p, e in failures],
                                         "summary": summary}))


def _sarif(reports: Sequence[CheckReport], failures: Sequence[tuple[str, str]]) -> str:
    from cpualloc_cli.render.sarif import _uri, sarif_document

    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    reasons: list[str] = []
    doc: dict[str, Any] | None = None
    for r in reports:
        d = sarif_document(r)
        doc = doc or d
        run = d["runs"][0]
        for rule in run["tool"]["driver"]["rules"]:
            if rule["id"] not in index:
                index[rule["id"]] = len(rules)
                rules.append(rule)
        for res in run["results"]:
            res["ruleIndex"] = index[res["ruleId"]]
            results.append(res)
        reasons += [f"{_image(r)}: {why}" for why in r.failure_reasons()]
    if doc is None:  # every input unreadable: the shape of an empty report
        from cpualloc_cli import TOOL_NAME, __version__
        from cpualloc_cli.render.sarif import INFO_URI, SARIF_SCHEMA

        doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0",
               "runs": [{"tool": {"driver": {"name": TOOL_NAME, "version": __version__, "informationUri": INFO_URI}},
                         "invocations": [{}], "results": []}]}
    code = many_exit_code(reports, failures)
    run = doc["runs"][0]
    run["tool"]["driver"]["rules"] = rules
    run["results"] = results
    invocation: dict[str, Any] = {
        "executionSuccessful": not failures,
        "exitCode": code,
        "exitCodeDescription": (f"{len(failures)} input(s) could not be read" if failures else
                                ("findings fail the run: " + "; ".join(reasons)) if reasons else
                                "no finding fails the run"),
        "properties": {"failureReasons": reasons},
    }
    if failures:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": err},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(path)}}}]}
            for path, err in failures]
    run["invocations"] = [invocation]
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _github(reports: Sequence[CheckReport], failures: Sequence[tuple[str, str]]) -> str:
    from cpualloc_cli.render.github import _escape_data, _escape_property, render_github

    parts = [render_github(r) for r in reports]
    for path, err in failures:
        parts.append(f"::error file={_escape_property(path)},title=cpualloc.input::{_escape_data(err)}\n")
    parts.append(_escape_data(f"cpualloc check: {totals_line(reports, failures)}") + "\n")
    return "".join(parts)


def _markdown(reports: Sequence[CheckReport], failures: Sequence[tuple[str, str]]) -> str:
    from cpualloc_cli.render.markdown import md_code, md_text, render_markdown

    parts = []
    for r in reports:
        parts.append(f"#### {md_code(_image(r))}\n\n{render_markdown(r)}")
    if failures:
        parts.append("#### Inputs that could not be read\n\n" +
                     "".join(f"- {md_code(p)}: {md_text(e)}\n" for p, e in failures))
    parts.append(f"**{md_text(totals_line(reports, failures))}**\n")
    return "\n".join(parts)


def _junit(reports: Sequence[CheckReport], failures: Sequence[tuple[str, str]]) -> str:
    from cpualloc_cli.render.junit import render_junit, xml_text

    root = ET.Element("testsuites", name="cpualloc check")
    tests = fails = errors = 0
    for r in reports:
        one = ET.fromstring(render_junit(r).split("\n", 1)[1])
        for suite in one.findall("testsuite"):
            props = suite.find("properties")
            if props is None:
                props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="image", value=xml_text(_image(r)))
            suite.set("name", f"{suite.get('name')}:{xml_text(_image(r))}")
            root.append(suite)
            tests += int(suite.get("tests", "0"))
            fails += int(suite.get("failures", "0"))
    if failures:
        suite = ET.SubElement(root, "testsuite", name="cpualloc.inputs", tests=str(len(failures)), failures="0",
                              errors=str(len(failures)), skipped="0")
        for path, err in failures:
            case = ET.SubElement(suite, "testcase", classname="cpualloc.inputs", name=xml_text(path))
            ET.SubElement(case, "error", message=xml_text(err), type="input")
            tests += 1
            errors += 1
    root.set("tests", str(tests))
    root.set("failures", str(fails))
    root.set("errors", str(errors))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def draw_check_many(console: Any, reports: Sequence[CheckReport], failures: Sequence[tuple[str, str]]) -> None:
    from cpualloc_cli.render.check_text import draw_check
    from cpualloc_cli.render.safe import clean

    for n, r in enumerate(reports):
        if n:
            console.print()
        draw_check(console, r)
    console.print()
    for _, err in failures:
        console.print(f"unreadable: {clean(err)}", markup=False, highlight=False)
    console.print(clean(totals_line(reports, failures)), markup=False, highlight=False)

"""Each `check` output format validated: JSON and SARIF against their schemas (jsonschema),
JUnit with an XML parser, GitHub workflow commands by pattern, markdown by table shape."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import FIXTURES, REPO, need_linux_tree, run_cli

SAMPLES = REPO / "samples"
SCHEMA = REPO / "schemas" / "check.schema.json"
SARIF_SCHEMA = FIXTURES / "check" / "sarif-schema-2.1.0.json"

# Three runs that between them produce every status: fail (error), fail (warning), pass,
# skipped, waived.
SEED = ["--config", str(SAMPLES / "sparc64-nr64-static.config"), str(SAMPLES / "sparc64-smp.elf")]
I386 = ["--arch", "i386", "--set", "SMP=y", "--set", "NR_CPUS=255", "--design", "vmalloc"]


def run(fmt: str, args: list[str], policy: str | None = None) -> tuple[int, str]:
    extra = ["--policy", policy] if policy else []
    code, out, err = run_cli(["check", "--format", fmt, *extra, *args])
    assert code in (0, 1), err
    return code, out


@pytest.fixture(scope="module")
def waiver_policy(tmp_path_factory: pytest.TempPathFactory) -> str:
    p = tmp_path_factory.mktemp("policy") / "cpualloc.toml"
    p.write_text('crashkernel = "4KiB"\n'
                 '[[waiver]]\nrule = "kdump.crashkernel-fit"\nreason = "capture kernel is smaller"\n')
    return str(p)


CASES = [("seed", SEED), ("i386", I386)]


@pytest.mark.parametrize(("name", "args"), CASES)
def test_json_matches_the_schema(name: str, args: list[str], waiver_policy: str) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    code, out = run("json", args, waiver_policy)
    doc = json.loads(out)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    assert doc["summary"]["exit_code"] == code
    # the crashkernel waiver silences the seed's failure; i386 config-only has no `total` to check
    assert doc["summary"]["waived"] == (1 if name == "seed" else 0)


def test_json_schema_rejects_a_broken_report(waiver_policy: str) -> None:
    schema = json.loads(SCHEMA.read_text())
    _, out = run("json", SEED, waiver_policy)
    doc: dict[str, Any] = json.loads(out)
    doc["results"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(("name", "args"), CASES)
def test_sarif_matches_the_official_schema(name: str, args: list[str], waiver_policy: str) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    _, out = run("sarif", args, waiver_policy)
    doc = json.loads(out)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)
    runs = doc["runs"]
    assert doc["version"] == "2.1.0" and len(runs) == 1
    assert runs[0]["invocations"][0]["executionSuccessful"] is True  # the tool ran (SARIF 3.20.14), even with findings
    rules = [r["id"] for r in runs[0]["tool"]["driver"]["rules"]]
    for res in runs[0]["results"]:
        assert rules[res["ruleIndex"]] == res["ruleId"]
        assert re.fullmatch(r"[0-9a-f]{64}", res["partialFingerprints"]["cpuallocRule/v1"])
    waived = [r["ruleId"] for r in runs[0]["results"] if r.get("suppressions")]
    assert waived == (["kdump.crashkernel-fit"] if name == "seed" else [])


def test_sarif_fingerprints_are_stable(waiver_policy: str) -> None:
    a = json.loads(run("sarif", SEED, waiver_policy)[1])
    b = json.loads(run("sarif", SEED, waiver_policy)[1])
    assert a == b


def test_sarif_schema_catches_a_bad_level(waiver_policy: str) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    doc = json.loads(run("sarif", SEED, waiver_policy)[1])
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)


def test_junit_one_testcase_per_limit(waiver_policy: str) -> None:
    _, out = run("junit", SEED, waiver_policy)
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    names = [c.get("name") for c in cases]
    assert len(names) == len(set(names)) == int(suite.get("tests", "-1"))
    failing = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failing == ["sparc64.image-8mib"] and suite.get("failures") == "1"
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert "kdump.crashkernel-fit" in skipped  # waived -> skipped with the reason


GITHUB = re.compile(r"^::(error|warning|notice) (file=[^,:]+(,line=\d+)?,)?title=[A-Za-z0-9_.%-]+::.+$")


def test_github_workflow_commands(tmp_path: Path) -> None:
    _, out = run("github", SEED)
    lines = out.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert commands and all(GITHUB.match(line) for line in commands), commands
    errors = [line for line in commands if line.startswith("::error ")]
    assert len(errors) == 1 and "title=sparc64.image-8mib" in errors[0]
    assert "NR_CPUS <= 63 or CPU_AREA_VIRTUAL=y" in errors[0]
    assert lines[-1].startswith("cpualloc check: 1 error(s)")


@pytest.mark.srctree
def test_github_points_at_the_config_line() -> None:
    tree = need_linux_tree()
    cfg = FIXTURES / "check" / "sparc64-nr4096.config"
    code, out, err = run_cli(["check", "--format", "github", "--srctree", tree, "--arch", "sparc64",
                              "--config", str(cfg)])
    assert code == 1, err
    # CONFIG_NR_CPUS=4096 is line 3 of the fixture
    err_lines = [line for line in out.splitlines() if line.startswith("::error ")]
    assert any(f"file={cfg},line=3,title=sparc64.pageflags-nr-cpus::" in line for line in err_lines), out


def test_markdown_table_shape(waiver_policy: str) -> None:
    _, out = run("markdown", SEED, waiver_policy)
    lines = out.splitlines()
    header = lines.index("| status | rule | measured | bound | margin | fix / reason |")
    assert lines[header + 1] == "|---|---|---:|---:|---:|---|"
    rows = []
    for line in lines[header + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    assert rows and all(line.count(" | ") == 5 and line.endswith("|") for line in rows)
    assert any("`sparc64.image-8mib`" in row and "ERROR" in row for row in rows)
    assert any("`kdump.crashkernel-fit`" in row and "WAIVED" in row for row in rows)


def test_text_report_has_the_arithmetic_and_the_fix() -> None:
    code, out = run("text", SEED)
    assert code == 1
    assert "ERROR sparc64.image-8mib" in out
    assert "8454144 B" in out and "8388608 B" in out  # 64 KiB + 64 x 128 KiB vs 8 MiB
    assert "fix: NR_CPUS <= 63 or CPU_AREA_VIRTUAL=y" in out
    assert "linux-kernel (LKML) 2007-11-13, David Miller" in out
    assert "\x1b[" not in out  # not a terminal: plain


# End to end: the process's exit code and what each format says agree, --strict and --fail-on
# included (issue 11.5; the model-level matrix is in test_formats_status.py).
# outside 2..1024; the virtual design, since the bundled 2.6.24 sparc64 default (static, NR_CPUS=64)
# does not fit 8 MiB even at the smallest kernel (64 x 128 KiB + 16 KiB): that would be an error of its own
STRICT = ["--strict", "--arch", "sparc64", "--set", "SMP=y", "--set", "NR_CPUS=99999", "--design", "virtual"]
VERDICT_CASES = [
    ("seed", SEED, [], 1),                                  # the 8 MiB error
    ("i386", I386, [], None),                               # whatever it is, every format must agree
    ("strict", STRICT, [], 1),                              # a --strict config finding alone
    ("not-strict", STRICT[1:], [], 0),                      # the same without --strict: a warning on stderr
    ("fail-on-warning", I386, ["--fail-on", "warning"], None),
    ("fail-on-inconclusive", SEED, ["--fail-on", "inconclusive", "--fail-on", "error"], 1),
]


def verdict_of(fmt: str, out: str) -> int:
    """The exit code a format states, read back from its own output."""
    if fmt == "json":
        doc = json.loads(out)
        assert bool(doc["summary"]["failure_reasons"]) == bool(doc["summary"]["exit_code"])
        return int(doc["summary"]["exit_code"])
    if fmt == "sarif":
        inv = json.loads(out)["runs"][0]["invocations"][0]
        assert inv["executionSuccessful"] is True
        return int(inv["exitCode"])
    if fmt == "junit":
        suite = ET.fromstring(out).find("testsuite")
        assert suite is not None
        return 1 if int(suite.get("failures", "0")) else 0
    if fmt == "github":
        errors = [line for line in out.splitlines() if line.startswith("::error ")]
        m = re.search(r"(PASS|FAIL) \(exit (\d)\)", out.splitlines()[-1])
        assert m is not None and int(m.group(2)) == (1 if errors else 0)
        return int(m.group(2))
    if fmt == "markdown":
        m = re.search(r"(PASS|FAIL) \\\(exit (\d)\\\)", out)
        assert m is not None
        return int(m.group(2))
    m = re.search(r"(PASS|FAIL) \(exit (\d)\)", out.rstrip().splitlines()[-1])
    assert m is not None, out
    return int(m.group(2))


@pytest.mark.parametrize(("name", "args", "extra", "want"), VERDICT_CASES, ids=[c[0] for c in VERDICT_CASES])
def test_every_format_states_the_process_exit_code(name: str, args: list[str], extra: list[str],
                                                   want: int | None) -> None:
    codes = set()
    for fmt in ("text", "json", "sarif", "github", "markdown", "junit"):
        code, out, err = run_cli(["check", "--format", fmt, *extra, *args])
        assert code in (0, 1), err
        assert verdict_of(fmt, out) == code, (fmt, out)
        codes.add(code)
    assert len(codes) == 1
    if want is not None:
        assert codes == {want}

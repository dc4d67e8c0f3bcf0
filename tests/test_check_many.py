"""`check IMAGE IMAGE...` and `check --modules DIR`: every input checked in one process, each as
`check IMAGE` alone checks it, a bad input reported while the others still are, and the exit
code keeping its one meaning (3 when an input could not be read, else 1 when any file fails).

The modules are built here with gcc (skip without it): the per-cpu sizes are the ones written
in the C source and read back with binutils' readelf where it is installed; the bound is
PERCPU_MODULE_RESERVE, 8 << 10 = 8192 B (linux-6.1 include/linux/percpu.h:16-20)."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import REPO, result, run_cli
from referencing import Registry, Resource

RESERVE = 8 << 10  # PERCPU_MODULE_RESERVE


def validate_many(doc: dict[str, Any]) -> None:
    one = json.loads((REPO / "schemas" / "check.schema.json").read_text())
    many = json.loads((REPO / "schemas" / "check-many.schema.json").read_text())
    registry = Registry().with_resource(one["$id"], Resource.from_contents(one))
    jsonschema.Draft202012Validator(many, registry=registry).validate(doc)


def module(tmp: Path, name: str, percpu_bytes: int) -> Path:
    """A relocatable object named .ko with a .modinfo section and `percpu_bytes` of .data..percpu
    (none at all for 0)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("needs gcc")
    src = tmp / f"{name}.c"
    body = 'const char modinfo[] __attribute__((section(".modinfo"))) = "license=GPL";\nint f(void) { return 1; }\n'
    if percpu_bytes:
        body += f'char pcpu[{percpu_bytes}] __attribute__((section(".data..percpu"))) = {{1}};\n'
    src.write_text(body)
    ko = tmp / f"{name}.ko"
    subprocess.run([gcc, "-c", "-O2", "-o", str(ko), str(src)], check=True)
    readelf = shutil.which("readelf")
    if readelf is not None and percpu_bytes:
        out = subprocess.run([readelf, "-SW", str(ko)], capture_output=True, text=True, check=True).stdout
        line = next(ln for ln in out.splitlines() if ".data..percpu" in ln)
        assert int(line.split("]", 1)[1].split()[4], 16) == percpu_bytes  # Size column
    return ko


def check_doc(*args: str, rc: int) -> dict[str, Any]:
    code, out, err = run_cli(["check", "--kernel-version", "6.1", "--format", "json", *args])
    assert code == rc, (code, err)
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_each_file_as_alone_and_the_exit_code(tmp_path: Path) -> None:
    small = module(tmp_path, "small", 208)
    none = module(tmp_path, "none", 0)
    big = module(tmp_path, "big", 9000)  # 9000 B > 8192 B: over the reserve by 808 B
    doc = check_doc(str(small), str(none), str(big), rc=1)
    validate_many(doc)
    assert doc["kind"] == "check-many"
    assert [f["inputs"]["image"] for f in doc["files"]] == [str(small), str(none), str(big)]
    got = [(result(f, "module.percpu-reserve")["status"], result(f, "module.percpu-reserve")["measured"])
           for f in doc["files"]]
    assert got == [("pass", 208), ("pass", 0), ("fail", 9000)]
    assert result(doc["files"][2], "module.percpu-reserve")["bound"] == RESERVE
    assert doc["summary"] == {"inputs": 3, "checked": 3, "failing": 1, "unreadable": 0, "exit_code": 1}
    assert doc["failures"] == []
    # each entry is what `check FILE` prints alone
    for path, entry in zip((small, none, big), doc["files"], strict=True):
        alone = check_doc(str(path), rc=1 if path == big else 0)
        assert entry == alone


def test_unreadable_input_among_good_ones(tmp_path: Path) -> None:
    big = module(tmp_path, "big", 9000)
    missing = tmp_path / "missing.ko"
    code, out, err = run_cli(["check", "--kernel-version", "6.1", "--format", "json", str(missing), str(big)])
    assert code == 3  # an input could not be read: 3, though the other file fails a limit
    doc = json.loads(out)
    validate_many(doc)
    assert [f["inputs"]["image"] for f in doc["files"]] == [str(big)]
    assert [f["path"] for f in doc["failures"]] == [str(missing)]
    lines = err.splitlines()
    assert lines[0] == f"cpualloc: error: {doc['failures'][0]['error']}" and lines[0].startswith(f"cpualloc: error: {missing}: ")
    assert lines[-1] == "cpualloc: error: 1 of 2 inputs could not be read; the others are reported"
    assert doc["summary"]["exit_code"] == 3 and doc["summary"]["failing"] == 1


def test_modules_order_walk(tmp_path: Path) -> None:
    tree = tmp_path / "lib-modules"
    (tree / "kernel" / "a").mkdir(parents=True)
    a = module(tree / "kernel" / "a", "one", 16)
    b = module(tree / "kernel", "two", 0)
    # modules.order lists the .ko paths relative to the tree (lib/modules/VERSION layout)
    (tree / "modules.order").write_text("kernel/two.ko\nkernel/a/one.ko\n")
    doc = check_doc("--modules", str(tree), rc=0)
    assert [Path(f["inputs"]["image"]).resolve() for f in doc["files"]] == [b.resolve(), a.resolve()]
    assert [result(f, "module.percpu-reserve")["measured"] for f in doc["files"]] == [0, 16]


def test_ci_formats_name_every_file(tmp_path: Path) -> None:
    small = module(tmp_path, "small", 208)
    big = module(tmp_path, "big", 9000)
    missing = tmp_path / "missing.ko"
    args = ["check", "--kernel-version", "6.1", str(small), str(big), str(missing)]
    code, out, _ = run_cli([*args, "--format", "sarif"])
    assert code == 3
    sarif = json.loads(out)
    assert len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"] for loc in r.get("locations", [])]
    assert any(u.endswith("small.ko") for u in uris) and any(u.endswith("big.ko") for u in uris)
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(rules) == len(set(rules))
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    inv = run["invocations"][0]
    assert inv["executionSuccessful"] is False and inv["exitCode"] == 3
    note = inv["toolExecutionNotifications"][0]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("missing.ko")

    code, out, _ = run_cli([*args, "--format", "github"])
    assert code == 3
    assert any(ln.startswith("::error ") and "big.ko" in ln and "module.percpu-reserve" in ln for ln in out.splitlines())
    assert any(ln.startswith("::error file=") and "missing.ko" in ln for ln in out.splitlines())

    code, out, _ = run_cli([*args, "--format", "junit"])
    assert code == 3
    root = ET.fromstring(out)
    suites = root.findall("testsuite")
    assert len(suites) == 3  # two files and the unreadable inputs
    assert root.get("failures") == "1" and root.get("errors") == "1"

    code, out, _ = run_cli([*args, "--format", "markdown"])
    assert code == 3 and "small.ko" in out and "big.ko" in out and "missing.ko" in out

    code, out, _ = run_cli([*args, "--format", "text", "--no-color"])
    assert code == 3
    assert out.splitlines()[-1] == "3 input(s): 2 checked, 1 failing, 1 unreadable; INPUT ERROR (exit 3)"


def test_baseline_needs_one_image(tmp_path: Path) -> None:
    small = module(tmp_path, "small", 8)
    base = tmp_path / "base.json"
    base.write_text("{}")
    code, _, err = run_cli(["check", "--baseline", str(base), str(small), str(small)])
    assert code == 2 and "give one IMAGE" in err


def test_the_config_is_resolved_once_for_all_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One config for many modules: the options are resolved once (with --srctree that is a
    tree hash per resolution), and every file's document is what `check FILE` alone gives."""
    from cpualloc_cli.cli import configopts

    kos = [module(tmp_path, f"m{i}", 8 * i) for i in range(3)]
    calls: list[int] = []
    real = configopts.load_config_from_options

    def counting(**kwargs: Any) -> Any:
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(configopts, "load_config_from_options", counting)
    opts = ["--arch", "x86_64", "--set", "SMP=y"]
    many = check_doc(*opts, *map(str, kos), rc=0)
    assert len(calls) == 1
    assert many["files"] == [check_doc(*opts, str(k), rc=0) for k in kos]

"""`cpualloc diff` end to end: formats, options, exit codes. Figures are checked against the
recorded bloat-o-meter output (tests/fixtures/diff/demo.bloat.txt) and GNU size/readelf."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import FIXTURES, need_shared, run_cli

DIFF = FIXTURES / "diff"
V1, V2 = str(DIFF / "demo-v1.o"), str(DIFF / "demo-v2.o")


def oracle_summary() -> tuple[int, ...]:
    first = (DIFF / "demo.bloat.txt").read_text().splitlines()[0]
    m = re.match(r"add/remove: (\d+)/(\d+) grow/shrink: (\d+)/(\d+) up/down: (\d+)/-(\d+) \((-?\d+)\)", first)
    assert m, first
    return tuple(int(x) for x in m.groups())


def oracle_total() -> tuple[int, int]:
    last = (DIFF / "demo.bloat.txt").read_text().splitlines()[-1]
    m = re.match(r"Total: Before=(\d+), After=(\d+)", last)
    assert m
    return int(m.group(1)), int(m.group(2))


def test_json_matches_bloat_o_meter() -> None:
    rc, out, err = run_cli(["diff", V1, V2, "--format", "json"])
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "diff" and doc["schema_version"] == 1 and doc["tool"]["name"] == "cpualloc"
    s = doc["bloat_o_meter"]["summary"]
    assert (s["added"], s["removed"], s["grown"], s["shrunk"], s["up_bytes"], s["down_bytes"], s["net_bytes"]) == \
        oracle_summary()
    assert (s["old_total_bytes"], s["new_total_bytes"]) == oracle_total()
    rows = [r for r in (DIFF / "demo.bloat.txt").read_text().splitlines()[2:-1]]
    assert [r["name"] for r in doc["bloat_o_meter"]["symbols"]] == [r.split()[0] for r in rows]
    by = {r["name"]: r for r in doc["bloat_o_meter"]["symbols"]}
    assert by["bss_grows"]["kind"] == "bss" and by["work"]["kind"] == "text"
    assert by["only_new"]["status"] == "added" and by["only_new"]["old_bytes"] is None


def gnu_size(path: Path) -> tuple[int, int, int]:
    text, data, bss = (int(x) for x in path.read_text().splitlines()[1].split()[:3])
    return text, data, bss


def test_json_berkeley_equals_gnu_size() -> None:
    # GNU size (binutils 2.40) on the same objects, recorded by regen.sh
    rc, out, _ = run_cli(["diff", V1, V2, "--format", "json"])
    doc = json.loads(out)
    m = {x["measure"]: x for x in doc["measures"]}
    for key, v in (("old_bytes", 1), ("new_bytes", 2)):
        assert (m["text"][key], m["data"][key], m["bss"][key]) == gnu_size(DIFF / f"demo-v{v}.size.txt")


def test_text_and_markdown() -> None:
    rc, out, err = run_cli(["diff", V1, V2])
    assert rc == 0, err
    assert "add/remove: 1/1 grow/shrink: 5/1 up/down: 1021/-128 (+893)" in out
    assert "bss_grows" in out and "\x1b[" not in out
    rc, md, _ = run_cli(["diff", V1, V2, "--format", "markdown"])
    assert rc == 0
    assert md.startswith("### cpualloc diff:") and "| `bss_grows` | bss | 800 | 1600 | +800 |" in md


def test_top_and_threshold() -> None:
    rc, out, _ = run_cli(["diff", V1, V2, "--format", "json", "--top", "2"])
    names = [r["name"] for r in json.loads(out)["bloat_o_meter"]["symbols"]]
    assert names == ["bss_grows", "shrinks"]  # the two largest |delta| (+800, -96), in bloat-o-meter order
    rc, out, _ = run_cli(["diff", V1, V2, "--format", "json", "--threshold", "50"])
    doc = json.loads(out)
    assert {r["name"] for r in doc["bloat_o_meter"]["symbols"]} == {"bss_grows", "only_new", "ro_table", "shrinks"}
    assert doc["bloat_o_meter"]["summary"]["up_bytes"] == oracle_summary()[4]  # totals still count everything


def test_budget_exit_codes(tmp_path: Path) -> None:
    old_bss = gnu_size(DIFF / "demo-v1.size.txt")[2]
    new_bss = gnu_size(DIFF / "demo-v2.size.txt")[2]
    growth = new_bss - old_bss
    rc, out, _ = run_cli(["diff", V1, V2, "--budget", f"bss=+{growth}", "--format", "json"])
    assert rc == 0, out
    rc, out, _ = run_cli(["diff", V1, V2, "--budget", f"bss=+{growth - 1}", "--format", "json"])
    assert rc == 1
    b = json.loads(out)["budgets"][0]
    assert (b["baseline_bytes"], b["allowed_bytes"], b["actual_bytes"], b["exceeded"]) == \
        (old_bss, new_bss - 1, new_bss, True)
    rc, out, _ = run_cli(["diff", V1, V2, "--budget", "bss=+100%", "--format", "json"])
    assert rc == (1 if new_bss > 2 * old_bss else 0)
    rc, _, err = run_cli(["diff", V1, V2, "--budget", "bss=lots"])
    assert rc == 2
    rc, _, err = run_cli(["diff", V1, V2, "--budget", "vmalloc_share=+1%"])
    assert rc == 2 and "cannot measure" in err


def test_bad_input_one_line_and_no_output(tmp_path: Path) -> None:
    out_file = tmp_path / "report.json"
    rc, out, err = run_cli(["diff", V1, str(tmp_path / "missing.o"), "--format", "json", "-o", str(out_file)])
    assert rc == 3 and out == ""
    assert err.startswith("cpualloc: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not out_file.exists()
    notelf = tmp_path / "notelf.o"
    notelf.write_text("hello\n")
    rc, _, err = run_cli(["diff", V1, str(notelf)])
    assert rc == 3 and err.count("\n") == 1


def test_output_file(tmp_path: Path) -> None:
    out_file = tmp_path / "d.md"
    rc, out, _ = run_cli(["diff", V1, V2, "--format", "markdown", "-o", str(out_file)])
    assert rc == 0 and out == "" and out_file.read_text().startswith("### cpualloc diff")


@pytest.mark.realkernel
def test_vmlinuz_side_same_kernel(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    # ../shared/kernels/README.md: x86_64-tiny/bzImage holds the same vmlinux (symbols stripped).
    kernels = need_shared()
    rc, out, err = run_cli(["diff", str(kernel_vmlinux("x86_64-tiny")), str(kernels / "x86_64-tiny" / "bzImage"),
                            "--format", "json", "--budget", "total=+0%"])
    assert rc == 0, err
    doc = json.loads(out)
    size_line = (kernels / "x86_64-tiny" / "size.txt").read_text().splitlines()[1].split()
    m = {x["measure"]: x for x in doc["measures"]}
    assert [m[k]["new_bytes"] for k in ("text", "data", "bss")] == [int(x) for x in size_line[:3]]
    assert all(x["delta_bytes"] == 0 for x in doc["measures"])
    assert all(k["delta_bytes"] == 0 for k in doc["kinds"])
    assert doc["bloat_o_meter"]["symbols"] == [] and "stripped" in doc["notes"][0]

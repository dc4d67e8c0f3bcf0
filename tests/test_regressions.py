"""Every input the fuzzer (fuzz/run.py) ever caught, replayed through the real CLI.

tests/regressions/index.json lists each minimized input with its command line, the exit code
cpualloc must give (3: bad input, with one clear line naming the file; 0 for the few found
on good-enough input) and a substring of the message. Entries whose bug lives in another
developer's module and is not fixed yet have status "open": they are strict xfails, so the
day the bug is fixed this test fails until the entry is marked "fixed" with its message.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

FUZZ = REPO / "fuzz"
REGRESSIONS = REPO / "tests" / "regressions"
sys.path.insert(0, str(FUZZ))
import run as fuzz_run  # noqa: E402

INDEX: list[dict[str, Any]] = json.loads((REGRESSIONS / "index.json").read_text())["regressions"]


def _params() -> list[Any]:
    out = []
    for entry in INDEX:
        marks = []
        if entry["status"] == "open":
            marks.append(pytest.mark.xfail(strict=True, reason=f"open bug in {entry['owner']}: {entry['note']}"))
        out.append(pytest.param(entry, id=entry["file"], marks=marks))
    return out


def test_index_and_files_agree() -> None:
    listed = {e["file"] for e in INDEX}
    present = {p.name for p in REGRESSIONS.iterdir() if p.name != "index.json"}
    assert listed == present
    for e in INDEX:
        assert e["status"] in ("open", "fixed"), e["file"]
        assert e["expect_exit"] in (0, 1, 3), e["file"]
        assert e["argv"][0] in fuzz_run.COMMANDS + fuzz_run.EXTRA_COMMANDS
        if e["status"] == "fixed" and e["expect_exit"] == 3:
            assert e["message"], f"{e['file']}: a fixed entry states the message it now gives"
        assert e["owner"] and e["was"] and e["found"]


@pytest.mark.parametrize("entry", _params())
def test_regression(entry: dict[str, Any], tmp_path: Path) -> None:
    case = fuzz_run.regression_case(entry)
    runner = fuzz_run.Runner(tmp_path, [sys.executable, "-m", "cpualloc_cli"], watch_repo=False)
    case_dir = tmp_path / "case"
    argv, inputs, out_path = runner.materialize(case, case_dir)
    env = dict(runner.env)
    env.update({"HOME": str(case_dir / "work"), "TMPDIR": str(case_dir / "work")})
    before = {k: p.read_bytes() for k, p in inputs.items()}
    proc = subprocess.run([sys.executable, "-m", "cpualloc_cli", *argv], cwd=case_dir / "work", env=env,
                          capture_output=True, text=True, errors="replace", timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == entry["expect_exit"], proc.stderr[-2000:]
    if entry["expect_exit"] == 3:
        problem = fuzz_run.message_problem(proc.stderr, [*argv, *inputs])
        assert problem is None, f"{problem}: {proc.stderr[-1000:]}"
        assert entry["message"] in proc.stderr
        if "-o" in argv:
            assert not out_path.exists()
    assert {k: p.read_bytes() for k, p in inputs.items()} == before

"""Every input the fuzzer (fuzz/run.py) ever caught, replayed through the real CLI.

tests/regressions/index.json lists each minimized input with its command line, the exit code
cpualloc must give (3: bad input, with one clear line naming the file; 0 for the few found
on good-enough input) and a substring of the message. Entries whose bug lives in another
developer's module and is not fixed yet have status "open": they are strict xfails, so the
day the bug is fixed this test fails until the entry is marked "fixed" with its message.
"""

from __future__ import annotations

import json
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
def test_regression(entry: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replayed through the harness's own runner (fuzz/run.py Runner: the real `python -m
    cpualloc_cli`, its limits and every check: exit code, message rule, no partial output, no
    change to an input, and for the hostile classes no planted code run, no secret printed, no
    victim file replaced, no raw ESC, JSON/XML that parse). The wall bound is relaxed to 15 s
    here (timing belongs to the fuzz run, not to a loaded test machine); a hang still fails."""
    monkeypatch.setattr(fuzz_run, "CASE_SECONDS", 15.0)
    case = fuzz_run.regression_case(entry)
    runner = fuzz_run.Runner(tmp_path, [sys.executable, "-m", "cpualloc_cli"], watch_repo=False)
    res = runner.run(case)
    kinds = res.extra.get("all_failures", [])
    assert not kinds, f"{res.failure}: {res.detail}\n{res.stderr_tail[-1500:]}"
    assert res.rc == entry["expect_exit"], res.stderr_tail[-2000:]
    if entry["expect_exit"] == 3:
        assert entry["message"] in res.stderr_tail

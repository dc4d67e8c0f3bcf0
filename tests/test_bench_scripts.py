"""The benchmark scripts stay runnable (they are measured by hand, not in tests): each starts
and prints its usage. bench/inspect.py's name shadows the stdlib's inspect module when run as a
script from bench/, so the others must still import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

SCRIPTS = sorted(p.name for p in (REPO / "bench").glob("*.py") if '__name__ == "__main__"' in p.read_text())


def test_the_library_is_not_a_script() -> None:
    assert "benchlib.py" not in SCRIPTS and "all.py" in SCRIPTS and "diff.py" in SCRIPTS


def test_rows_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    """bench/all.py reads only the BENCH-ROW lines each bench prints through benchlib.emit."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import benchlib
    finally:
        sys.path.pop(0)
    print("a human line")
    benchlib.emit("work", 3.0, "peer", 2.0, peak_rss_mb=12.34)
    rows = benchlib.parse(capsys.readouterr().out)
    assert rows == [{"work": "work", "cpualloc_s": 3.0, "peer": "peer", "peer_s": 2.0, "ratio": 1.5,
                     "peak_rss_mb": 12.3, "note": ""}]


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_starts(script: str) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script), "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage" in proc.stdout.lower()

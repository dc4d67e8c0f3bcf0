"""The benchmark scripts stay runnable (they are measured by hand, not in tests): each starts
and prints its usage. bench/inspect.py's name shadows the stdlib's inspect module when run as a
script from bench/, so the others must still import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "bench").glob("*.py")))
def test_bench_script_starts(script: str) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script), "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage" in proc.stdout.lower()

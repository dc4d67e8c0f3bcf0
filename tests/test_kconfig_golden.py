"""Golden renderings of `cpualloc config` (text and JSON), checked by eye when (re)generated:
CPUALLOC_REGEN_GOLDEN=1 pytest tests/test_kconfig_golden.py rewrites them. What they must
show (by hand from kconfig/Kconfig.arch): sparc64 2.6.24, NR_CPUS range 2..1024, 4096 out of
range so the default 64 is used, PAGE_SHIFT 13 (8 KiB), CPU_AREA_ORDER 4, design cpu_alloc_static."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

GOLDEN = FIXTURES / "kconfig" / "golden"
ARGS = ["config", "--arch", "sparc64", "--set", "NR_CPUS=4096", "--show", "SPARC64_PAGE_SIZE_8KB"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_golden(fmt: str, tmp_path: Path) -> None:
    rc, out, err = run_cli([*ARGS, "--format", fmt], {"XDG_CACHE_HOME": str(tmp_path)})
    assert rc == 0, err
    path = GOLDEN / f"sparc64-nr4096.{fmt}"
    if os.environ.get("CPUALLOC_REGEN_GOLDEN"):
        path.write_text(out)
    assert out == path.read_text()
    # the facts the golden file must show, independently of its layout
    assert "4096" in out and "1024" in out and "cpu_alloc_static" in out

"""Golden files for `inspect` text and JSON output (reviewed by eye when written; regenerate
with CPUALLOC_UPDATE_GOLDEN=1 and review the diff). The numbers in them are also checked
against GNU tools by test_inspect_fixtures.py; this guards the presentation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

GOLDEN = Path(__file__).resolve().parent / "golden"

CASES = {
    "inspect-sparc64-smp.txt": ["inspect", "--top", "5", "tests/fixtures/elf/sparc64-smp/vmlinux"],
    "inspect-sparc64-smp.json": ["inspect", "--top", "5", "--format", "json", "tests/fixtures/elf/sparc64-smp/vmlinux"],
    "inspect-x86_64-smp-symbols.json": ["inspect", "--top", "3", "--section", ".bss", "--symbols", "--format", "json",
                                        "tests/fixtures/elf/x86_64-smp/vmlinux"],
    "inspect-x86_64-stripped.txt": ["inspect", "tests/fixtures/elf/x86_64-stripped/vmlinux"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    env["NO_COLOR"] = "1"
    proc = subprocess.run([sys.executable, "-m", "cpualloc_cli", *CASES[name]], cwd=REPO, capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    path = GOLDEN / name
    if os.environ.get("CPUALLOC_UPDATE_GOLDEN"):
        path.write_text(proc.stdout)
    assert path.is_file(), f"{path} missing: run with CPUALLOC_UPDATE_GOLDEN=1 and review it"
    assert proc.stdout == path.read_text()

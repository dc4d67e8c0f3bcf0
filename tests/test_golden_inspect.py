"""Golden files for `inspect` text and JSON output (reviewed by eye when written; regenerate
with CPUALLOC_UPDATE_GOLDEN=1 and review the diff). The numbers in them are also checked
against GNU tools by test_inspect_fixtures.py; this guards the presentation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import REPO, run_cli

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
    code, stdout, stderr = run_cli(CASES[name], cwd=REPO, drop=("COLUMNS", "LINES", "FORCE_COLOR"))
    assert code == 0, stderr
    path = GOLDEN / name
    if os.environ.get("CPUALLOC_UPDATE_GOLDEN"):
        path.write_text(stdout)
    assert path.is_file(), f"{path} missing: run with CPUALLOC_UPDATE_GOLDEN=1 and review it"
    assert stdout == path.read_text()

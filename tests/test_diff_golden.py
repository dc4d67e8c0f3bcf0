"""Golden files for `cpualloc diff` text, JSON and markdown rendering (checked by eye when
written; the figures in them are those of tests/fixtures/diff/demo.bloat.txt and GNU size).
Regenerate after a deliberate rendering change with CPUALLOC_UPDATE_GOLDEN=1, then review the diff."""

from __future__ import annotations

import os

import pytest
from conftest import FIXTURES, run_cli

from cpualloc_cli import __version__

HERE = FIXTURES / "diff"
GOLDEN = HERE / "golden"


def run_here(args: list[str]) -> str:
    code, stdout, stderr = run_cli(args, cwd=HERE)
    assert code in (0, 1), stderr
    return stdout.replace(f'"version": "{__version__}"', '"version": "VERSION"')


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("json", "json"), ("markdown", "md")])
def test_golden(fmt: str, ext: str) -> None:
    out = run_here(["diff", "demo-v1.o", "demo-v2.o", "--format", fmt, "--budget", "bss=+50%"])
    path = GOLDEN / f"demo.{ext}"
    if os.environ.get("CPUALLOC_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(out)
    assert out == path.read_text()

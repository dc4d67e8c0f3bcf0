"""Golden files for `cpualloc scale` text and JSON rendering on the synthetic objects (checked
by eye when written; the coefficients in them are the hand-worked ones of synth.c).
Regenerate after a deliberate rendering change with CPUALLOC_UPDATE_GOLDEN=1, then review the diff."""

from __future__ import annotations

import os

import pytest
from conftest import FIXTURES, run_cli

from cpualloc_cli import __version__

HERE = FIXTURES / "scale" / "synthetic"
GOLDEN = FIXTURES / "scale" / "golden"


def run_here(args: list[str]) -> str:
    code, stdout, stderr = run_cli(args, cwd=HERE)
    assert code in (0, 1), stderr
    return stdout.replace(f'"version": "{__version__}"', '"version": "VERSION"')


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("json", "json")])
def test_golden(fmt: str, ext: str) -> None:
    out = run_here(["scale", "synth-n10.o@10", "synth-n64.o@64", "synth-n100.o@100", "--at", "200",
                    "--limit", "bss=8KiB", "--format", fmt])
    path = GOLDEN / f"synthetic.{ext}"
    if os.environ.get("CPUALLOC_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(out)
    assert out == path.read_text()

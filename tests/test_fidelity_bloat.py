"""Issue 18 item 8: `diff --format bloat-o-meter` is byte-identical to Linux 6.1's
scripts/bloat-o-meter, and `diff --format text` never cuts a name short.

Oracles: bloat-o-meter's output recorded by tests/fixtures/diff/regen.sh (demo and longname
pairs, every option), and, when CPUALLOC_LINUX_6_1 names an unpacked 6.1 tree, the script itself
run with python3 on pairs of the ELF fixtures (it runs GNU nm, which must read them: binutils-multiarch).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, need_linux_tree, run_cli

DIFF = FIXTURES / "diff"
ELF = FIXTURES / "elf"
MODES = {"all": "", "categories": "-c", "data": "-d", "text": "-t"}


@pytest.mark.parametrize(("pair", "mode"), [("demo", m) for m in MODES] + [("longname", "all")])
def test_recorded_pairs_are_byte_identical(pair: str, mode: str) -> None:
    recorded = DIFF / f"{pair}.bloat{MODES[mode]}.txt"
    rc, out, err = run_cli(["diff", "--format", "bloat-o-meter", "--bloat-mode", mode,
                            str(DIFF / f"{pair}-v1.o"), str(DIFF / f"{pair}-v2.o")])
    assert rc == 0, err
    assert out == recorded.read_text()


PAIRS = [("x86_64-up", "x86_64-smp"), ("x86_64-smp", "x86_64-bigbss"), ("sparc64-smp", "sparc64-cpuarea-nr64"),
         ("mips-smp", "ppc32-smp")]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(("old", "new"), PAIRS)
def test_against_bloat_o_meter_run_now(old: str, new: str, mode: str) -> None:
    tree = need_linux_tree()
    if shutil.which("nm") is None:
        pytest.skip("GNU nm is absent")
    a, b = str(ELF / old / "vmlinux"), str(ELF / new / "vmlinux")
    cmd = [sys.executable, str(Path(tree) / "scripts" / "bloat-o-meter"), *filter(None, [MODES[mode]]), a, b]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or proc.stderr:
        pytest.skip(f"bloat-o-meter could not run here (GNU nm for these targets?): {proc.stderr.strip()[:200]}")
    rc, out, err = run_cli(["diff", "--format", "bloat-o-meter", "--bloat-mode", mode, a, b])
    assert rc == 0, err
    assert out == proc.stdout


def test_text_format_never_cuts_names() -> None:
    names = [line.split()[0] for line in (DIFF / "longname.bloat.txt").read_text().splitlines()[2:-1]]
    assert min(map(len, names)) > 90  # longer than any default column
    rc, out, err = run_cli(["diff", str(DIFF / "longname-v1.o"), str(DIFF / "longname-v2.o")])
    assert rc == 0, err
    assert "…" not in out
    for name in names:
        assert name in out


def test_bloat_o_meter_format_refuses_options_it_has_not() -> None:
    rc, _, err = run_cli(["diff", "--format", "bloat-o-meter", "--top", "3", str(DIFF / "demo-v1.o"),
                          str(DIFF / "demo-v2.o")])
    assert rc == 2 and "--top" in err
    rc, _, err = run_cli(["diff", "--bloat-mode", "data", str(DIFF / "demo-v1.o"), str(DIFF / "demo-v2.o")])
    assert rc == 2 and "--bloat-mode" in err

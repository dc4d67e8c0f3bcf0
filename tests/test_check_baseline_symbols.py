"""`check --baseline` names the symbols that grew when a budget is overrun (issue 5 item 5,
"the top symbol deltas once diff exists"). Expected values come from GNU nm's output recorded
for the two shared sparc64 kernels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import KERNELS, run_cli


def _nm_bss(name: str) -> dict[str, int]:
    """Sized b/B symbols from the recorded `nm -S --size-sort`, folded like bloat-o-meter
    (`.NUMBER` suffixes removed, sizes summed)."""
    out: dict[str, int] = {}
    for line in (KERNELS / name / "nm.txt").read_text().splitlines():
        _addr, size, letter, sym = line.split(" ", 3)
        if letter in "bB":
            folded = re.sub(r"\.\d+", "", sym)
            out[folded] = out.get(folded, 0) + int(size, 16)
    return out


@pytest.mark.realkernel
def test_bss_budget_overrun_names_the_symbols_that_grew(kernel_vmlinux, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old, new = str(kernel_vmlinux("sparc64-tiny-nr64")), str(kernel_vmlinux("sparc64-tiny-nr256"))
    base = tmp_path / "baseline.json"
    rc, _, err = run_cli(["check", old, "--format", "json", "-o", str(base)])
    assert rc in (0, 1), err
    doc = json.loads(base.read_text())
    assert doc["symbol_sizes"], "an image check records its largest symbols for a later --baseline"

    rc, out, err = run_cli(["check", new, "--baseline", str(base), "--budget", "bss=+1%", "--format", "json"])
    assert rc == 1, err
    budget = next(b for b in json.loads(out)["budgets"] if b["measure"] == "bss")
    assert budget["status"] == "fail"
    # size.txt: bss 74,864 -> 144,480; allowed 74,864 + 748 = 75,612
    assert (budget["baseline"], budget["current"], budget["allowed"]) == (74864, 144480, 75612)
    a, b = _nm_bss("sparc64-tiny-nr64"), _nm_bss("sparc64-tiny-nr256")
    growth = sorted(((b.get(k, 0) - a.get(k, 0), k) for k in set(a) | set(b)), key=lambda t: (-t[0], t[1]))
    top_name, top_delta = growth[0][1], growth[0][0]
    line = next(x for x in budget["arithmetic"] if x.startswith("grew most since the baseline: "))
    assert line.split(": ", 1)[1].startswith(f"{top_name} +{top_delta} B ")

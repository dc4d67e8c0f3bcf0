"""Commands on Debian's 6.1 amd64 vmlinuz (no .symtab: symbols from its kallsyms) against the
vmlinux of the matching -dbg package, read by GNU nm here.

Oracles: `nm -n` (every symbol with its address and letter) and `nm -S --size-sort` (st_size)
of CPUALLOC_DEBIAN_DBG_VMLINUX, run in the test; CONFIG_NR_CPUS from the package's
boot/config-6.1.0-50-amd64. The System.map for --symbols-from is `nm -n` of the dbg vmlinux,
as scripts/mksysmap writes it (6.1 scripts/mksysmap: `$NM -n $1 | grep -v ...`), without the
grep, so it also holds the absolute and undefined symbols cpualloc must leave out.
kallsyms writes per-cpu symbols as 'A' (KALLSYMS_ABSOLUTE_PERCPU, 6.1 scripts/kallsyms.c:855-868)
and cpualloc lists them as 'D': nm says 'D' or 'd', so their letter is compared case-blind.
Skips without CPUALLOC_DEBIAN_KERNEL_DIR, CPUALLOC_DEBIAN_DBG_VMLINUX or GNU nm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from conftest import run_cli
from test_kallsyms_debian import RELEASE, debian_dir

pytestmark = pytest.mark.realkernel


def vmlinuz() -> Path:
    return debian_dir() / "boot" / f"vmlinuz-{RELEASE}"


def dbg_vmlinux() -> str:
    dbg = os.environ.get("CPUALLOC_DEBIAN_DBG_VMLINUX")
    if not dbg or not os.path.isfile(dbg):
        pytest.skip("CPUALLOC_DEBIAN_DBG_VMLINUX is not set or absent")
    if shutil.which("nm") is None:
        pytest.skip("GNU nm is not installed")
    return dbg


@cache
def _nm(*args: str) -> str:
    return subprocess.run(["nm", *args, dbg_vmlinux()], check=True, capture_output=True, text=True).stdout


def nm_symbols() -> dict[tuple[int, str], str]:
    """(address, name) -> letter, from `nm -n`."""
    out = {}
    for line in _nm("-n").splitlines():
        parts = line.split()
        if len(parts) == 3:
            out[(int(parts[0], 16), parts[2])] = parts[1]
    return out


def nm_sizes() -> dict[tuple[int, str], int]:
    """(address, name) -> st_size, from `nm -S --size-sort` (sized symbols only)."""
    out = {}
    for line in _nm("-S", "--size-sort").splitlines():
        parts = line.split()
        if len(parts) == 4:
            out[(int(parts[0], 16), parts[3])] = int(parts[1], 16)
    return out


def _inspect(*args: str) -> dict:
    code, out, err = run_cli(["inspect", *args, "--format", "json"])
    assert code == 0, err
    (img,) = json.loads(out)["images"]
    return img


def _check_rows(rows: list[list], top: int = 200) -> tuple[int, int, int]:
    """Every row's address and name is a symbol nm lists there, with its letter; the `top`
    largest are looked at for sizes: (sized by nm, derived >= st_size, derived == st_size)."""
    syms, sizes = nm_symbols(), nm_sizes()
    missing = [r for r in rows if (r[0], r[3]) not in syms]
    assert not missing, missing[:5]
    letters = [r for r in rows if syms[(r[0], r[3])].upper() != r[2].upper()
               or (r[2] != "D" and syms[(r[0], r[3])] != r[2])]
    assert not letters, letters[:5]
    assert {r[4] for r in rows} <= {"derived", "unbounded"}
    largest = sorted(rows, key=lambda r: -r[1])[:top]
    sized = [(r[1], sizes[(r[0], r[3])]) for r in largest if (r[0], r[3]) in sizes]
    return len(sized), sum(d >= s for d, s in sized), sum(d == s for d, s in sized)


def test_inspect_symbols_of_the_vmlinuz_match_nm_of_the_dbg_vmlinux() -> None:
    img = _inspect(str(vmlinuz()), "--symbols", "--top", "20")
    assert img["symbols_from"] == "kallsyms"
    assert img["symbols"]["columns"] == ["address", "size_bytes", "type", "name", "size_source"]
    rows = img["symbols"]["rows"]
    assert len(rows) > 80_000  # "about 94,000 entries" (issue 16), KALLSYMS_ALL=y
    sized, at_least, exact = _check_rows(rows)
    # the largest symbols: a derived size is the distance to the next symbol, never below st_size
    assert sized >= 100 and at_least == sized, (sized, at_least, exact)
    print(f"top 200 by derived size: {sized} sized in nm, {at_least} >= st_size, {exact} equal")
    for s in img["top_symbols"] + img["percpu"]["top"]:
        assert s["size_source"] in ("derived", "unbounded")
    # per-cpu symbols ('A' in kallsyms) are the per-cpu section's, at their offsets
    percpu = img["percpu"]
    assert percpu["section"] == ".data..percpu" and percpu["linked_at_zero"]
    sizes = nm_sizes()
    for s in percpu["top"]:
        assert 0 <= s["address"] < percpu["size_bytes"]
        assert s["size_bytes"] >= sizes.get((s["address"], s["name"]), 0)
    assert any("sizes derived" in n for n in img["notes"])


def test_footprint_reads_nr_cpus_from_per_cpu_offset() -> None:
    path = vmlinuz()
    config = (path.parent / f"config-{RELEASE}").read_text().splitlines()
    want = int(next(line for line in config if line.startswith("CONFIG_NR_CPUS=")).split("=")[1])
    code, out, err = run_cli(["footprint", str(path), "--format", "json"])
    assert code == 0, err
    doc = json.loads(out)
    (fact,) = [f for f in doc["inputs"] if f["name"] == "nr_cpus"]
    assert doc["nr_cpus"] == fact["value"] == want == 8192
    assert fact["provenance"] == "derived"
    assert "sizeof(__per_cpu_offset) 65536 B / 8 B" in fact["note"] and "derived from kallsyms" in fact["note"]
    # nm's own st_size of __per_cpu_offset gives the same count (8-byte longs)
    size = next(v for (_a, n), v in nm_sizes().items() if n == "__per_cpu_offset")
    assert size // 8 == want


def test_symbols_from_system_map_with_the_vmlinuz(tmp_path: Path) -> None:
    smap = tmp_path / f"System.map-{RELEASE}"
    smap.write_text(_nm("-n"))
    img = _inspect(str(vmlinuz()), "--symbols-from", str(smap), "--symbols", "--top", "5")
    assert img["symbols_from"] == f"System.map {smap}"
    rows = img["symbols"]["rows"]
    sized, at_least, exact = _check_rows(rows)
    assert sized >= 100 and at_least == sized, (sized, at_least, exact)
    # the absolute ('a'/'A') and weak-undefined symbols of nm -n are left out
    names = {r[3] for r in rows}
    assert "phys_startup_64" not in names and "text_size" not in names
    # System.map keeps nm's letters: the per-cpu symbols are d/D, in the per-cpu section
    assert {s["type"] for s in img["percpu"]["top"]} <= {"d", "D"}


def test_symbols_from_system_map_alone(tmp_path: Path) -> None:
    smap = tmp_path / "System.map"
    smap.write_text(_nm("-n"))
    img = _inspect("--symbols-from", str(smap))
    secs = {s["name"]: s for s in img["sections"]}
    syms = {n: a for (a, n) in nm_symbols()}
    # pseudo sections: the ranges the bound symbols name, from the same file
    assert secs[".text"]["address"] == syms["_stext"]
    assert secs[".text"]["size_bytes"] == syms["_etext"] - syms["_stext"]
    assert secs[".bss"]["size_bytes"] == syms["__bss_stop"] - syms["__bss_start"]
    top = img["top_symbols"][0]
    assert (top["address"], top["name"]) in nm_symbols() and top["size_source"] == "derived"


def test_check_budget_names_the_symbol_that_grew(tmp_path: Path) -> None:
    """A baseline that is this image's own check JSON with bss at 1 B and amd_ucode_patch 4096 B
    smaller: the bss budget fails and names amd_ucode_patch, whose current size is nm's st_size."""
    path = str(vmlinuz())
    base = tmp_path / "baseline.json"
    rc, _out, err = run_cli(["check", path, "--format", "json", "-o", str(base)])
    assert rc in (0, 1), err
    doc = json.loads(base.read_text())
    st_size = next(v for (_a, n), v in nm_sizes().items() if n == "amd_ucode_patch")
    assert doc["symbol_sizes"]["amd_ucode_patch"] == [st_size, "b"]  # 12 MiB: derived == st_size
    doc["measures"]["bss"] = 1
    doc["symbol_sizes"]["amd_ucode_patch"][0] -= 4096
    base.write_text(json.dumps(doc))
    rc, out, err = run_cli(["check", path, "--baseline", str(base), "--budget", "bss=+1%", "--format", "json"])
    assert rc == 1, err
    budget = next(b for b in json.loads(out)["budgets"] if b["measure"] == "bss")
    line = next(x for x in budget["arithmetic"] if x.startswith("grew most since the baseline: "))
    assert line == (f"grew most since the baseline: amd_ucode_patch +4096 B ({st_size - 4096} -> {st_size}) "
                    "(current sizes derived from kallsyms: no .symtab)")


def test_footprint_symbols_from_system_map(tmp_path: Path) -> None:
    smap = tmp_path / f"System.map-{RELEASE}"
    smap.write_text(_nm("-n"))
    code, out, err = run_cli(["footprint", str(vmlinuz()), "--symbols-from", str(smap), "--format", "json"])
    assert code == 0, err
    doc = json.loads(out)
    (fact,) = [f for f in doc["inputs"] if f["name"] == "nr_cpus"]
    assert fact["value"] == 8192 and f"derived from System.map {smap}" in fact["note"]
    code, _out, err = run_cli(["footprint", "--arch", "x86_64", "--symbols-from", str(smap)])
    assert code == 2 and "--symbols-from goes with an IMAGE" in err

"""Attribution of Debian's 6.1 amd64 debug vmlinux against GNU tools: the compile unit of
1,000 random text symbols against `addr2line`, of 1,000+ variables against
`readelf --debug-dump=info` (the CU each DW_TAG_variable with a DW_OP_addr location is in),
and the tree's totals against GNU `size`. Skips without CPUALLOC_DEBIAN_DBG_VMLINUX (fails
when CPUALLOC_REQUIRE_REAL is set)."""

from __future__ import annotations

import os
import random
import re
import subprocess

import pytest

from cpualloc_cli.adapters.dwarf_units import read_dwarf_units
from cpualloc_cli.adapters.elf import read_elf
from cpualloc_cli.analysis.attribution import attributable_symbols, compute_attribution


@pytest.fixture(scope="module")
def vmlinux() -> str:
    path = os.environ.get("CPUALLOC_DEBIAN_DBG_VMLINUX")
    if not path or not os.path.isfile(path):
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail("CPUALLOC_REQUIRE_REAL is set but CPUALLOC_DEBIAN_DBG_VMLINUX is not a file")
        pytest.skip("CPUALLOC_DEBIAN_DBG_VMLINUX not set")
    return path


@pytest.fixture(scope="module")
def attributed(vmlinux: str):  # type: ignore[no-untyped-def]
    img = read_elf(vmlinux)
    text, data = attributable_symbols(img)
    return img, text, data, read_dwarf_units(img, text, data)


@pytest.fixture(scope="module")
def readelf_units(vmlinux: str) -> list[tuple[int, str, str]]:
    """(offset, DW_AT_name, DW_AT_comp_dir) of every CU, as GNU readelf prints them."""
    out = subprocess.run(["readelf", "--debug-dump=info", "--dwarf-depth=1", vmlinux], capture_output=True,
                         text=True, check=True).stdout
    units: list[tuple[int, str, str]] = []
    for block in out.split("Compilation Unit @ offset ")[1:]:
        off = int(block.split(":", 1)[0], 16)
        name = re.search(r"DW_AT_name\s*: (?:\(indirect[^)]*\): )?(.*)", block)
        comp = re.search(r"DW_AT_comp_dir\s*: (?:\(indirect[^)]*\): )?(.*)", block)
        assert name and comp
        units.append((off, name.group(1).strip(), comp.group(1).strip()))
    return units


def _same(ours: str, theirs: str) -> bool:
    """Our path is relative to the source tree; GNU tools print it under a directory."""
    return theirs == ours or theirs.endswith("/" + ours)


def test_tree_totals_equal_gnu_size(vmlinux: str, attributed) -> None:  # type: ignore[no-untyped-def]
    img, _t, _d, units = attributed
    tree = compute_attribution(img, units.paths, units.symbol_unit, by="dir:1")
    line = subprocess.run(["size", vmlinux], capture_output=True, text=True, check=True).stdout.splitlines()[1]
    text, data, bss = map(int, line.split()[:3])
    assert dict(tree.berkeley) == {"text": text, "data": data, "bss": bss}
    assert tree.root.total_bytes == text + data + bss


def test_cu_names_equal_readelf(attributed, readelf_units) -> None:  # type: ignore[no-untyped-def]
    _img, _t, _d, units = attributed
    assert len(units.paths) == len(readelf_units)
    for ours, (_off, name, comp) in zip(units.paths, readelf_units, strict=True):
        assert _same(ours, name) or _same(ours, comp + "/" + name), (ours, name)


def test_text_symbols_equal_addr2line(vmlinux: str, attributed) -> None:  # type: ignore[no-untyped-def]
    """addr2line names the line-table file of the address: the CU's own file for a function
    defined in it, an included file (a header's out-of-line static inline, or a .c that
    kernel/sched/build_policy.c includes) otherwise. So: every symbol whose addr2line file is a
    compile unit's file must be attributed to exactly that unit, and those are most of them."""
    img, text, _d, units = attributed
    rng = random.Random(12)
    sample = rng.sample([i for i in text if units.symbol_unit[i] >= 0], 1000)
    s = img.symbols
    addrs = "".join(f"{s.values[i]:x}\n" for i in sample)
    out = subprocess.run(["addr2line", "-e", vmlinux], input=addrs, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    unit_files = set(units.paths)
    checked = equal = 0
    for i, line in zip(sample, out, strict=True):
        file = line.rsplit(":", 1)[0]
        ours = units.paths[units.symbol_unit[i]]
        if any(_same(p, file) for p in (ours,)):
            equal += 1
            checked += 1
        elif not file.endswith(".h") and any(_same(p, file) for p in unit_files if p.rsplit("/", 1)[-1]
                                             == file.rsplit("/", 1)[-1]):
            checked += 1  # addr2line names another unit's file: a wrong answer
        assert _same(ours, file) or not any(_same(p, file) for p in unit_files), (s.name(i), ours, file)
    assert equal >= 800, (equal, checked)


def test_variables_equal_readelf(vmlinux: str, attributed, readelf_units) -> None:  # type: ignore[no-untyped-def]
    img, _t, data, units = attributed
    s = img.symbols
    by_addr: dict[int, list[int]] = {}
    for i in data:
        by_addr.setdefault(int(s.values[i]), []).append(i)
    rng = random.Random(7)
    order = list(range(len(readelf_units)))
    rng.shuffle(order)
    compared = 0
    for k in order:
        off, name, comp = readelf_units[k]
        proc = subprocess.Popen(["readelf", "--debug-dump=info", f"--dwarf-start={off:#x}", vmlinux],
                                stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        in_var = False
        seen_cu = 0
        addrs: set[int] = set()
        for line in proc.stdout:
            if "DW_TAG_compile_unit" in line:
                seen_cu += 1
                if seen_cu > 1:
                    break
            if "Abbrev Number" in line:
                in_var = "(DW_TAG_variable)" in line
            elif in_var and "DW_AT_location" in line:
                m = re.search(r"\(DW_OP_addr: ([0-9a-f]+)\)$", line.strip())
                if m:
                    addrs.add(int(m.group(1), 16))
        proc.kill()
        proc.wait()
        for a in addrs - {0}:  # 0: also every variable whose section the linker discarded
            for i in by_addr.get(a, ()):
                assert units.symbol_unit[i] == k, (s.name(i), units.paths[units.symbol_unit[i]], name)
                compared += 1
        if compared >= 1000:
            break
    assert compared >= 1000

"""`scale` with DWARF: shapes from the array bounds (synth.c built with -g at N = 64 and 128,
two multiples of 64 where sizes alone cannot tell linear from bitmap). Expected bounds are
read off synth.c by hand (x86_64: BITS_PER_LONG 64)."""

from __future__ import annotations

import json

from conftest import FIXTURES, run_cli

from cpualloc_cli.adapters.dwarf import read_dwarf_arrays
from cpualloc_cli.analysis.scale import fit_from_dwarf
from cpualloc_cli.model.scale import DwarfArray, Shape

SYN = FIXTURES / "scale" / "synthetic"


def test_read_dwarf_arrays() -> None:
    arrays = read_dwarf_arrays(str(SYN / "synth-g-n64.o"))
    assert arrays["per_cpu_things"] == DwarfArray(32, (64,))  # struct elem (32 B) [N]
    assert arrays["online_mask"] == DwarfArray(8, (1,))  # unsigned long [BITS_TO_LONGS(64)]
    assert arrays["core_map"] == DwarfArray(8, (64, 1))
    assert arrays["table"] == DwarfArray(4, (64,))
    assert arrays["fixed"] == DwarfArray(4, (10,))
    assert "with_header" not in arrays  # a struct, not an array
    assert read_dwarf_arrays(str(SYN / "synth-n64.o")) == {}  # no -g


def test_fit_from_dwarf_by_hand() -> None:
    ns = [64, 128]
    lin = fit_from_dwarf(ns, [DwarfArray(32, (64,)), DwarfArray(32, (128,))], 64)
    assert lin is not None and (lin.shape, lin.slope, lin.intercept) == (Shape.LINEAR, 32, 0)
    bm = fit_from_dwarf(ns, [DwarfArray(8, (65, 1)), DwarfArray(8, (65, 2))], 64)  # cpu_bit_bitmap
    assert bm is not None and (bm.shape, bm.slope) == (Shape.BITMAP, 65)
    aob = fit_from_dwarf(ns, [DwarfArray(8, (64, 1)), DwarfArray(8, (128, 2))], 64)  # cpumask_t [NR_CPUS]
    assert aob is not None and (aob.shape, aob.slope) == (Shape.ARRAY_OF_BITMAPS, 1)
    assert fit_from_dwarf(ns, [DwarfArray(8, (65,)), DwarfArray(8, (129,))], 64) is None  # N+1


def test_dwarf_removes_the_alternatives() -> None:
    rc, out, err = run_cli(["scale", f"{SYN / 'synth-g-n64.o'}@64", f"{SYN / 'synth-g-n128.o'}@128", "--at", "100",
                            "--format", "json"])
    assert rc == 0, err
    by = {s["name"]: s for s in json.loads(out)["symbols"]}
    pct = by["per_cpu_things"]
    assert pct["best"]["formula"] == "32*NR_CPUS" and pct["alternatives"] == []
    assert pct["reason"].startswith("DWARF array bounds 128 of 32 B")
    assert pct["predicted_bytes"] == pct["low_bytes"] == pct["high_bytes"] == 3200  # no spread at 100
    assert by["online_mask"]["best"]["shape"] == "bitmap" and by["online_mask"]["predicted_bytes"] == 16
    # without -g, the same sizes leave linear and bitmap both standing at 64 and 128
    rc, out, _ = run_cli(["scale", f"{SYN / 'synth-n64.o'}@64", f"{SYN / 'synth-g-n128.o'}@128", "--at", "100",
                          "--format", "json"])
    nodw = {s["name"]: s for s in json.loads(out)["symbols"]}["per_cpu_things"]
    assert nodw["alternatives"] and (nodw["low_bytes"], nodw["high_bytes"]) == (3200, 256 * 2 * 8)

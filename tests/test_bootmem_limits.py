"""The boot memory limits (issue 15): a minimum of free memory and the capture kernel inside crashkernel=."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

import pytest
from conftest import run_cli

from cpualloc_cli.adapters.limits_loader import load_database
from cpualloc_cli.analysis.bootmem import compute_bootmem
from cpualloc_cli.analysis.engine import boot_memory_measures
from cpualloc_cli.analysis.limits import CheckContext, evaluate_limits
from cpualloc_cli.model.bootmem import BootMemInputs, Machine
from cpualloc_cli.model.limits import LimitOutcome, Status
from cpualloc_cli.model.measures import Measure

MiB = 1 << 20


def run(rule: str, measures: dict[str, float], params: dict[str, int]) -> LimitOutcome:
    lim = next(x for x in load_database() if x.id == rule)
    ctx = CheckContext(arch="x86_64", kernel_version="6.1.0", measures=measures, params=params)
    outcomes, na = evaluate_limits([lim], [], ctx)
    assert not na
    return outcomes[0]


def test_min_free_memory_at_the_bound_and_one_over() -> None:
    # 256 MiB must leave 200 MiB: the boot may reserve 256 - 200 = 56 MiB
    p = {"memory": 256 * MiB, "min_free_memory": 200 * MiB}
    at = run("boot.min-free-memory", {"memory_reserved": 56 * MiB}, p)
    assert at.status is Status.PASS
    over = run("boot.min-free-memory", {"memory_reserved": 56 * MiB + 1}, p)
    assert over.status is Status.FAIL


def test_min_free_memory_without_params_is_skipped_not_passed() -> None:
    out = run("boot.min-free-memory", {"memory_reserved": 1.0}, {"memory": 256 * MiB})
    assert out.status is Status.SKIPPED and "min_free_memory" in (out.skip_reason or "")
    # asking for more than the machine has cannot be met: no bound, skipped with the reason
    out = run("boot.min-free-memory", {"memory_reserved": 1.0}, {"memory": 256 * MiB, "min_free_memory": 257 * MiB})
    assert out.status is Status.SKIPPED


def test_kdump_reserved_at_the_bound_and_one_over() -> None:
    p = {"crashkernel": 128 * MiB}  # kdump-tools.cfg:1 crashkernel=384M-:128M (the debian-kdump preset)
    assert run("kdump.boot-reserved-fit", {"kdump_reserved": 128 * MiB}, p).status is Status.PASS
    assert run("kdump.boot-reserved-fit", {"kdump_reserved": 128 * MiB + 1}, p).status is Status.FAIL
    assert run("kdump.boot-reserved-fit", {}, p).status is Status.SKIPPED


def test_engine_measures_from_the_model_by_hand() -> None:
    # A capture kernel in a 128 MiB crashkernel= region (flat), 1 possible CPU, a 20 MiB image
    # and an 8 MiB initramfs. By hand: kernel image 20 MiB; first 1 MiB 256 pages = 1 MiB;
    # memmap: 128 MiB = one 2^27 B section, ALIGN(32768 x 64, 2 MiB) = 2 MiB; percpu 62 pages
    # = 253952 B; zones: DMA pfn 0..4095 present 4096, memmap PAGE_ALIGN(4096 x 64)/4096 = 64 pages;
    # DMA32 pfn 4096..32767 = 28672 pages, memmap 448 pages: nr_kernel_pages = 4032 + 28224 = 32256.
    # dentry (mm/page_alloc.c:9080-9127): round_up(32256, 256) = 32256, >> 1 = 16128 -> 16384
    # entries x 8 = 131072 B; inode >> 2 = 8064 -> 8192 x 8 = 65536 B. swiotlb 0 (RAM below 4 GiB),
    # initrd 8 MiB, no crashkernel inside the capture kernel, printk: one CPU, no growth.
    syms = {"_text": 16 * MiB, "__end_of_kernel_reserve": 36 * MiB}
    cfg = {"MEMCG": "y", "SPARSEMEM": "y", "SPARSEMEM_VMEMMAP": "y", "SWIOTLB": "y"}
    kd = compute_bootmem(BootMemInputs("x86_64", (6, 1), 64, 4096, 128 * MiB, Machine.FLAT, 1, syms, config=cfg,
                                       percpu_size_sum_bytes=62 * 4096, initrd_bytes=8 * MiB))
    expected = 20 * MiB + 1 * MiB + 2 * MiB + 62 * 4096 + 131072 + 65536 + 8 * MiB
    values, sources = boot_memory_measures(None, kd)
    assert values == {Measure.KDUMP_RESERVED: float(expected)}
    assert "128" in sources[Measure.KDUMP_RESERVED] or str(128 * MiB) in sources[Measure.KDUMP_RESERVED]
    # 31 MiB + 253,952 + 196,608 = 32,956,416 B < 128 MiB: fits; crashkernel=30MiB does not
    assert run("kdump.boot-reserved-fit", dict(values), {"crashkernel": 128 * MiB}).status is Status.PASS
    assert run("kdump.boot-reserved-fit", dict(values), {"crashkernel": 30 * MiB}).status is Status.FAIL


def test_inconclusive_model_gives_no_measure() -> None:
    rep = compute_bootmem(BootMemInputs("x86_64", (6, 1), 64, 4096, 256 * MiB, Machine.FLAT, 1, {},
                                        config={"MEMCG": "y", "SPARSEMEM": "y"}))
    assert rep.reserved_bytes is None
    assert boot_memory_measures(rep, rep) == ({}, {})


def _rule(doc: dict[str, Any], rule: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            if o.get("rule") == rule and "status" in o:
                found.append(o)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(doc)
    assert found, rule
    return found[0]


def test_check_cli_min_free_at_the_bound_with_debian() -> None:
    vmlinux = os.environ.get("CPUALLOC_DEBIAN_DBG_VMLINUX")
    root = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    if not vmlinux or not root or not (Path(root) / "boot" / "config-6.1.0-50-amd64").is_file():
        pytest.skip("CPUALLOC_DEBIAN_DBG_VMLINUX and CPUALLOC_DEBIAN_KERNEL_DIR are needed (Debian 6.1 amd64)")
    base = ["check", vmlinux, "--config", str(Path(root) / "boot" / "config-6.1.0-50-amd64"),
            "--param", "memory=1GiB", "--crashkernel", "128MiB", "--initrd-size", "30MiB"]

    def at(min_free: int) -> dict[str, Any]:
        code, out, err = run_cli([*base, "--param", f"min_free_memory={min_free}", "--format", "json"])
        assert code in (0, 1), (code, err)
        return cast(dict[str, Any], json.loads(out))

    first = _rule(at(0), "boot.min-free-memory")
    reserved = int(first["measured"])
    # the bound is memory - min_free_memory: leaving exactly 1 GiB - reserved passes, one byte more fails
    assert _rule(at((1 << 30) - reserved), "boot.min-free-memory")["status"] == "pass"
    doc = at((1 << 30) - reserved + 1)
    assert _rule(doc, "boot.min-free-memory")["status"] == "fail"
    kd = _rule(doc, "kdump.boot-reserved-fit")
    assert kd["status"] == "pass" and kd["bound"] == 128 * MiB
    # the capture kernel's reservation includes its 30 MiB initramfs and the 53,248 KiB image reservation
    assert kd["measured"] > 30 * MiB + 53248 * 1024


def test_check_possible_cpus_moves_memory_reserved_as_the_boots_do() -> None:
    # check --possible-cpus N: memory_reserved at N possible CPUs. Oracle: the recorded amd64 boots,
    # whose reserved grows from -smp 1 to -smp 8 by 60652K - 58916K = 1736K at 256M (7 more units of
    # the 62-page first chunk; the printk buffer does not grow: 7 x 2^12 < 2^18 / 2).
    from test_bootmem import boot_logs, parse_boot

    vmlinux = os.environ.get("CPUALLOC_DEBIAN_DBG_VMLINUX")
    root = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    if not vmlinux or not root or not (Path(root) / "boot" / "config-6.1.0-50-amd64").is_file():
        pytest.skip("CPUALLOC_DEBIAN_DBG_VMLINUX and CPUALLOC_DEBIAN_KERNEL_DIR are needed (Debian 6.1 amd64)")
    boots = {(int(str(b["memory"])), int(str(b["smp"]))): b for b in map(parse_boot, boot_logs())
             if not b["initrd"]}
    step = int(str(boots[(256 * MiB, 8)]["reserved"])) - int(str(boots[(256 * MiB, 1)]["reserved"]))
    base = ["check", vmlinux, "--config", str(Path(root) / "boot" / "config-6.1.0-50-amd64"),
            "--param", "memory=256MiB", "--param", "min_free_memory=0", "--format", "json"]

    def reserved(n: int) -> int:
        code, out, err = run_cli([*base, "--possible-cpus", str(n)])
        assert code in (0, 1), (code, err)
        return int(_rule(cast(dict[str, Any], json.loads(out)), "boot.min-free-memory")["measured"])

    assert reserved(8) - reserved(1) == step * 1024 == 7 * 62 * 4096
    code, _out, err = run_cli([*base, "--possible-cpus", "0"])
    assert code == 2, err

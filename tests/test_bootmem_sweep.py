"""sweep --measure memory_reserved: the boot reservation per NR_CPUS / possible CPUs, by hand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import cli_json, run_cli

from cpualloc_cli.analysis.bootmem import reserved_sweep
from cpualloc_cli.model.bootmem import BootMemInputs, Machine
from cpualloc_cli.model.footprint import FootprintInputs

CFG = {"MEMCG": "y", "SPARSEMEM": "y", "SPARSEMEM_VMEMMAP": "y", "SWIOTLB": "y", "LOG_BUF_SHIFT": "17",
       "LOG_CPU_MAX_BUF_SHIFT": "12"}
# Debian 6.1 amd64's percpu line: s217088 r8192 d28672 -> size_sum = PFN_ALIGN(217088 + 8192 + 28672)
# = 253952 B = 62 pages per possible CPU (mm/percpu.c:3086).
SIZE_SUM = 217088 + 8192 + 28672
IMAGE = 40 << 20  # __end_of_kernel_reserve - _text


def _inputs(nr: int = 64, possible: int = 4) -> tuple[BootMemInputs, FootprintInputs]:
    fp = FootprintInputs("x86_64", (6, 1), 64, 4096, nr, possible, 0, 0, percpu_static_bytes=217088)
    syms = {"_text": 0x1000000, "__end_of_kernel_reserve": 0x1000000 + IMAGE, "__bss_stop": 0x1000000 + IMAGE - 4096}
    boot = BootMemInputs("x86_64", (6, 1), 64, 4096, 1 << 30, Machine.FLAT, possible, syms, config=CFG)
    return boot, fp


def test_possible_cpus_cost_one_size_sum_each() -> None:
    boot, fp = _inputs()
    pts = {p.value: p for p in reserved_sweep(boot, fp, "possible", [1, 2, 4, 17, 18, 64])}
    assert pts[1].percpu_bytes == SIZE_SUM == 62 * 4096
    assert all(p.reserved_bytes is not None for p in pts.values())
    r = {v: p.reserved_bytes or 0 for v, p in pts.items()}
    assert r[2] - r[1] == SIZE_SUM
    assert r[4] - r[1] == 3 * SIZE_SUM
    # printk (kernel/printk/printk.c:1009-1034): at 17 CPUs 16 x 4096 = 65536 <= 131072 / 2, no growth;
    # at 18, 17 x 4096 = 69632 > 65536: roundup_pow_of_two(69632 + 131072) = 262144 B plus
    # 262144 >> 5 = 8192 descriptors x (24 + 88) B.
    assert r[17] - r[1] == 16 * SIZE_SUM
    assert r[18] - r[17] == SIZE_SUM + 262144 + 8192 * 112
    # at 64: 63 x 4096 + 131072 = 389120 -> 524288 B, 16384 descriptors
    assert r[64] - r[1] == 63 * SIZE_SUM + 524288 + 16384 * 112
    assert all(not p.static_fixed for p in pts.values())


def test_nr_cpus_with_a_scale_model_moves_the_image() -> None:
    boot, fp = _inputs(nr=64, possible=4)

    def bss_at(n: int) -> int:  # a made-up linear scale model: 1,000 B of static arrays per CPU
        return 5_000_000 + 1000 * n

    pts = {p.value: p for p in reserved_sweep(boot, fp, "NR_CPUS", [64, 128, 8192], fixed_possible=4,
                                              base_bss_at=bss_at)}
    r = {v: p.reserved_bytes or 0 for v, p in pts.items()}
    assert pts[64].static_delta_bytes == 0 and pts[64].image_bytes == IMAGE
    assert pts[128].image_bytes == IMAGE + 64 * 1000
    # possible CPUs fixed at 4: only the static arrays change the reservation
    assert r[128] - r[64] == 64 * 1000
    assert r[8192] - r[64] == (8192 - 64) * 1000
    assert pts[8192].possible_cpus == 4


def test_nr_cpus_without_a_scale_model_says_the_static_arrays_are_fixed() -> None:
    boot, fp = _inputs(nr=64, possible=64)
    pts = reserved_sweep(boot, fp, "NR_CPUS", [2, 8])
    assert all(p.static_fixed and p.static_delta_bytes == 0 for p in pts)
    # every CPU possible: 2 -> 8 adds 6 first-chunk units, no printk growth below 18
    assert (pts[1].reserved_bytes or 0) - (pts[0].reserved_bytes or 0) == 6 * SIZE_SUM


def test_possible_above_nr_cpus_is_refused() -> None:
    boot, fp = _inputs(nr=8, possible=4)
    with pytest.raises(ValueError, match="outside 1..NR_CPUS"):
        reserved_sweep(boot, fp, "possible", [9])


def test_cli_possible_cpus_without_image() -> None:
    # --static-size 200KiB: size_sum = PFN_ALIGN(204800 + 8192 reserved + dyn); the step between two
    # values must be that size_sum per CPU, and the total stays inconclusive (no image symbols).
    doc = cli_json(["sweep", "--arch", "x86_64", "--static-size", "200KiB", "--measure", "memory_reserved",
                    "--symbol", "possible_cpus", "--memory", "1GiB", "--values", "1,3"], 0)
    pts = doc["memory_reserved"]["points"]
    assert [p["value"] for p in pts] == [1, 3]
    assert pts[1]["percpu_bytes"] == 3 * pts[0]["percpu_bytes"]
    assert pts[0]["percpu_bytes"] % 4096 == 0 and pts[0]["percpu_bytes"] >= 204800 + 8192
    assert all(p["reserved_bytes"] is None and p["inconclusive"] for p in pts)


def test_cli_measure_needs_memory_and_possible_needs_measure() -> None:
    base = ["sweep", "--arch", "x86_64", "--static-size", "200KiB"]
    assert run_cli([*base, "--measure", "memory_reserved"])[0] == 2
    assert run_cli([*base, "--symbol", "possible_cpus", "--memory", "1GiB"])[0] == 2
    assert run_cli([*base, "--measure", "memory_reserved", "--symbol", "CPU_AREA_ORDER", "--memory", "1GiB"])[0] == 2


def test_cli_debian_step_is_the_boots_size_sum() -> None:
    vmlinux = os.environ.get("CPUALLOC_DEBIAN_DBG_VMLINUX")
    root = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    if not vmlinux or not root:
        pytest.skip("CPUALLOC_DEBIAN_DBG_VMLINUX and CPUALLOC_DEBIAN_KERNEL_DIR are needed (Debian 6.1 amd64)")
    config = Path(root) / "boot" / "config-6.1.0-50-amd64"
    if not config.is_file():
        pytest.skip("config-6.1.0-50-amd64 is not in CPUALLOC_DEBIAN_KERNEL_DIR")
    doc = cli_json(["sweep", vmlinux, "--config", str(config), "--measure", "memory_reserved", "--symbol",
                    "possible_cpus", "--memory", "2GiB", "--machine", "qemu-pc", "--values", "1,2,4,8"], 0)
    r = [p["reserved_bytes"] for p in doc["memory_reserved"]["points"]]
    # every recorded boot prints `percpu: Embedded 62 pages/cpu s217088 r8192 d28672`: 62 x 4096 per CPU
    assert r[1] - r[0] == 62 * 4096 and r[2] - r[0] == 3 * 62 * 4096 and r[3] - r[0] == 7 * 62 * 4096


def test_cli_debian_sweep_against_the_recorded_boots() -> None:
    import gzip
    import re

    vmlinux = os.environ.get("CPUALLOC_DEBIAN_DBG_VMLINUX")
    root = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    if not vmlinux or not root or not (Path(root) / "boot" / "config-6.1.0-50-amd64").is_file():
        pytest.skip("CPUALLOC_DEBIAN_DBG_VMLINUX and CPUALLOC_DEBIAN_KERNEL_DIR are needed (Debian 6.1 amd64)")
    boots = Path(__file__).parent / "fixtures" / "boots"
    doc = cli_json(["sweep", vmlinux, "--config", str(Path(root) / "boot" / "config-6.1.0-50-amd64"), "--measure",
                    "memory_reserved", "--symbol", "possible_cpus", "--memory", "1GiB", "--machine", "qemu-pc",
                    "--values", "1,2,8"], 0)
    pred = {p["value"]: p["reserved_bytes"] // 1024 for p in doc["memory_reserved"]["points"]}
    seen = {}
    for smp in (1, 2, 8):
        log = gzip.decompress((boots / f"vmlinuz-6.1.0-50-amd64-m1G-smp{smp}.log.gz").read_bytes())
        m = re.search(rb"(\d+)K reserved", log)
        assert m
        seen[smp] = int(m.group(1))
    # the boots' own steps (72604 - 72356 = 248K, 74092 - 72356 = 1736K) are the model's exactly
    assert pred[2] - pred[1] == seen[2] - seen[1] == 248
    assert pred[8] - pred[1] == seen[8] - seen[1] == 1736
    assert all(abs(pred[s] - seen[s]) <= seen[s] / 100 for s in seen)

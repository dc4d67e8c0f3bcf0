"""`cpualloc scale` on real sparc64 Linux 6.1 kernels.

Inputs: the shared pair (../shared/kernels/sparc64-tiny-nr64, -nr256) and kernels built by
tests/fixtures/scale/sparc64/regen.sh from the same config, whose GNU readelf/size output
is recorded there. Expected shapes come from the C definitions in Linux 6.1, quoted below
and checked against the tree in CPUALLOC_LINUX_6_1 when it is set.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from types import ModuleType

import pytest
from conftest import FIXTURES, need_shared

from cpualloc_cli.analysis.scale import compute_scale, compute_scale_point
from cpualloc_cli.model.scale import ScalePoint, SeriesStatus, Shape

BUILDS = FIXTURES / "scale" / "sparc64"


def _figures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scale_figures", FIXTURES / "scale" / "figures.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FIG = _figures()


def point(folder: Path, n: int) -> ScalePoint:
    image, berkeley, extent = FIG.sparc64_image(folder)
    return compute_scale_point(image, n, berkeley, extent, folder.name)


def shared_point(n: int) -> ScalePoint:
    return point(need_shared() / f"sparc64-tiny-nr{n}", n)


def linux_tree() -> Path | None:
    path = os.environ.get("CPUALLOC_LINUX_6_1")
    if not path:
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail("CPUALLOC_REQUIRE_REAL is set but CPUALLOC_LINUX_6_1 is not")
        return None
    return Path(path)


# --- the C definitions (Linux 6.1) ------------------------------------------------------------
# arch/sparc/kernel/traps_64.c:      struct trap_per_cpu trap_block[NR_CPUS];
# arch/sparc/include/asm/trap_block.h: struct trap_per_cpu {
#     struct thread_info *thread; unsigned long pgd_paddr, cpu_mondo_pa, dev_mondo_pa;   4 * 8 =  32
#     unsigned long resum_mondo_pa, resum_kernel_buf_pa, nonresum_mondo_pa,
#                   nonresum_kernel_buf_pa;                                             4 * 8 =  32
#     struct hv_fault_status fault_info;  (asm/hypervisor.h: 3 + 5 + 3 + 5 longs)      16 * 8 = 128
#     unsigned long cpu_mondo_block_pa, cpu_list_pa, tsb_huge, tsb_huge_temp;           4 * 8 =  32
#     unsigned long irq_worklist_pa; unsigned int cpu_mondo_qmask, dev_mondo_qmask,
#                   resum_qmask, nonresum_qmask; unsigned long __per_cpu_base;  8 + 4*4 + 8 =  32
# } __attribute__((aligned(64)));                                                  total = 256
TRAP_PER_CPU_BYTES = 32 + 32 + 128 + 32 + 32
# arch/sparc/kernel/smp_64.c: cpumask_t cpu_core_map[NR_CPUS] __read_mostly = ...
# include/linux/cpumask.h: typedef struct cpumask { DECLARE_BITMAP(bits, NR_CPUS); } cpumask_t;
# i.e. unsigned long bits[BITS_TO_LONGS(NR_CPUS)]: ceil(N/64) * 8 bytes, so N * ceil(N/64) * 8.
# kernel/cpu.c: const unsigned long cpu_bit_bitmap[BITS_PER_LONG+1][BITS_TO_LONGS(NR_CPUS)]:
# 65 * ceil(N/64) * 8.
C_DEFINITIONS = {
    "arch/sparc/kernel/traps_64.c": r"^struct trap_per_cpu trap_block\[NR_CPUS\];",
    "arch/sparc/kernel/smp_64.c": r"^cpumask_t cpu_core_map\[NR_CPUS\] __read_mostly",
    "kernel/cpu.c": r"^const unsigned long cpu_bit_bitmap\[BITS_PER_LONG\+1\]\[BITS_TO_LONGS\(NR_CPUS\)\]",
    "arch/sparc/include/asm/hypervisor.h": r"unsigned long\s+d_reserved\[5\];",
}


def test_c_definitions_are_as_quoted() -> None:
    tree = linux_tree()
    if tree is None:
        pytest.skip("CPUALLOC_LINUX_6_1 is not set")
    for rel, pattern in C_DEFINITIONS.items():
        assert re.search(pattern, (tree / rel).read_text(errors="replace"), re.M), (rel, pattern)
    text = (tree / "arch/sparc/include/asm/trap_block.h").read_text()
    body = text[text.index("struct trap_per_cpu {"):text.index("} __attribute__((aligned(64)));")]
    longs = len(re.findall(r"^\s*(?:unsigned long\s+|struct thread_info\s*\*\s*)\w+;", body, re.M))
    ints = len(re.findall(r"^\s*unsigned int\s+\w+;", body, re.M))
    assert "struct hv_fault_status\tfault_info;" in body
    assert longs * 8 + ints * 4 + 128 == TRAP_PER_CPU_BYTES


@pytest.mark.realkernel
def test_shared_pair_trap_block_linear_cpu_core_map_quadratic() -> None:
    rep = compute_scale([shared_point(64), shared_point(256)], at=4096)
    by = {s.name: s for s in rep.symbols}
    tb = by["trap_block"]
    assert tb.status is SeriesStatus.SCALING and tb.best is not None
    assert (tb.best.shape, tb.best.slope, tb.best.intercept) == (Shape.LINEAR, TRAP_PER_CPU_BYTES, 0)
    assert tb.predicted_bytes == 4096 * TRAP_PER_CPU_BYTES
    for name in ("cpu_core_map", "cpu_core_sib_map", "cpu_core_sib_cache_map"):
        s = by[name]
        assert s.best is not None and (s.best.shape, s.best.slope, s.best.intercept) == (Shape.ARRAY_OF_BITMAPS, 1, 0)
        assert s.sizes == (64 * 1 * 8, 256 * 4 * 8)
        assert s.predicted_bytes == 4096 * 64 * 8  # 2 MiB; a line through the points says 161792
    bb = by["cpu_bit_bitmap"]
    assert bb.best is not None and (bb.best.shape, bb.best.slope) == (Shape.BITMAP, 65)
    # 64 and 256 are multiples of 64: 256*N and 2048*ceil(N/64)*8 both fit trap_block; linear is
    # preferred, the bitmap is reported, and they agree at 4096 but not at 100.
    assert [(a.shape, a.slope) for a in tb.alternatives] == [(Shape.BITMAP, 2048)]
    assert tb.low_bytes == tb.high_bytes == 4096 * 256
    at100 = {s.name: s for s in compute_scale([shared_point(64), shared_point(256)], at=100).symbols}["trap_block"]
    assert (at100.predicted_bytes, at100.low_bytes, at100.high_bytes) == (25600, 25600, 2048 * 2 * 8)


@pytest.mark.realkernel
def test_nr100_separates_linear_from_bitmap() -> None:
    nr100 = point(BUILDS / "nr100", 100)
    assert "CONFIG_NR_CPUS=100" in (BUILDS / "nr100" / "config").read_text().splitlines()
    rep = compute_scale([shared_point(64), nr100, shared_point(256)], at=4096)
    by = {s.name: s for s in rep.symbols}
    tb = by["trap_block"]
    assert tb.sizes == (64 * 256, 100 * 256, 256 * 256)
    assert tb.best is not None and tb.best.shape is Shape.LINEAR and not tb.alternatives
    assert tb.best.loo_max_error_bytes == 0
    cm = by["cpu_core_map"]
    assert cm.sizes == (512, 100 * 2 * 8, 8192)
    # rcu_state grows in steps (the RCU node tree): no shape fits all three, so never extrapolated
    rs = by["rcu_state"]
    assert rs.status is SeriesStatus.UNEXPLAINED and rs.predicted_bytes == rs.sizes[-1]


@pytest.mark.realkernel
def test_predict_256_from_64_and_100() -> None:
    rep = compute_scale([shared_point(64), point(BUILDS / "nr100", 100)], at=256)
    measured = FIG.read_berkeley(need_shared() / "sparc64-tiny-nr256" / "size.txt")
    pred = {p.measure: p for p in rep.predictions}
    # measured by GNU size on the nr256 image: text 1439000, data 338040, bss 144480
    assert (measured.text, measured.data, measured.bss) == (1439000, 338040, 144480)
    assert abs(pred["bss"].predicted_bytes - measured.bss) <= 64
    assert abs(pred["data"].predicted_bytes - measured.data) <= 2048  # rcu_state's step is misread from 2 points
    assert abs(pred["text"].predicted_bytes - measured.text) <= 1024


# --- the SPARSEMEM_VMEMMAP=y series (64, 256, 1024, 4096), built by regen.sh ---------------------

VM_NS = (64, 256, 1024, 4096)


def vm(n: int) -> ScalePoint:
    return point(BUILDS / f"vm{n}", n)


def _config_without(path: Path, symbol: str) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if not ln.startswith(f"CONFIG_{symbol}=")]


def test_vmemmap_series_differs_only_in_nr_cpus() -> None:
    base = _config_without(BUILDS / "vm64" / "config", "NR_CPUS")
    assert "CONFIG_SPARSEMEM_VMEMMAP=y" in base
    for n in VM_NS:
        cfg = BUILDS / f"vm{n}" / "config"
        assert f"CONFIG_NR_CPUS={n}" in cfg.read_text().splitlines()
        assert _config_without(cfg, "NR_CPUS") == base


def _measured(p: ScalePoint, measure: str) -> int:
    value = {"text": p.text_bytes, "data": p.data_bytes, "bss": p.bss_bytes,
             "total": p.text_bytes + p.data_bytes + p.bss_bytes, "image_extent": p.extent_bytes}[measure]
    assert value is not None
    return value


@pytest.mark.parametrize("base", [(64, 256), (256, 1024), (64, 256, 1024)])
def test_vmemmap_predict_4096_from_lower_builds(base: tuple[int, ...]) -> None:
    target = vm(4096)
    # GNU size on the NR_CPUS=4096 image (recorded size.txt): text 1436988, data 6800160, bss 1535008
    assert (target.text_bytes, target.data_bytes, target.bss_bytes) == (1436988, 6800160, 1535008)
    rep = compute_scale([vm(n) for n in base], at=4096)
    pred = {p.measure: p for p in rep.predictions}
    for measure in ("bss", "data", "image_extent"):
        err = pred[measure].predicted_bytes - _measured(target, measure)
        assert abs(err) <= 0.002 * _measured(target, measure), (measure, err)
    by = {s.name: s for s in rep.symbols}
    # the C definitions above, at 4096: trap_block 256*4096; cpu_core_map 4096*64*8
    assert by["trap_block"].predicted_bytes == target.symbols["trap_block"].size_bytes == 256 * 4096
    assert by["cpu_core_map"].predicted_bytes == target.symbols["cpu_core_map"].size_bytes == 4096 * 64 * 8
    # every symbol called scaling is predicted to the byte, except rcu_state: the RCU node tree grows
    # in steps that three multiples of 64 happen to fit with a line (1024 + 34*N)
    wrong = {s.name for s in rep.scaling()
             if s.name not in target.symbols or target.symbols[s.name].size_bytes != s.predicted_bytes}
    assert wrong <= {"rcu_state"}


def test_vmemmap_8mib_boundary_agrees_with_the_builds() -> None:
    # From 64 and 256 only: the extent at 1024 fits 8 MiB and at 4096 does not (2.0 and 9.4 MiB measured).
    rep = compute_scale([vm(64), vm(256)], at=4096, limits=[("image_extent", 8 << 20)])
    ans = rep.limits[0]
    assert ans.fits_at is False and _measured(vm(4096), "image_extent") > 8 << 20
    assert ans.largest_n is not None and 1024 <= ans.largest_n < 4096
    assert _measured(vm(1024), "image_extent") <= 8 << 20


def test_projector_for_limits_fixes() -> None:
    from cpualloc_cli.analysis.scale import scale_projector

    project = scale_projector(compute_scale([vm(64), vm(256)], at=4096))
    # trap_block alone (256 B per CPU, .bss) grows bss by 256*(1024-256) between 256 and 1024
    assert project(None, 1024)["bss"] - project(None, 256)["bss"] >= 256 * (1024 - 256)
    assert project(None, 256)["bss"] == vm(256).bss_bytes  # the reference build itself

"""A port of Linux's `pcpu_build_alloc_info` (mm/percpu.c:2858-2956 in 6.1.192; the same
arithmetic at mm/percpu.c:2816-2914 in 6.12.117) for given CPU groups.

Split in two so that a sweep over the number of CPUs does the CPU-independent part once:
`compute_unit_geometry` (size_sum .. max_upa) and `compute_upa` (the one-third waste loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cpualloc_cli.model.footprint import PercpuAllocInfo

PCPU_MIN_UNIT_BYTES = 32 << 10  # include/linux/percpu.h:23, PFN_ALIGN(32 << 10)


def pfn_align(n: int, page_size: int) -> int:
    """PFN_ALIGN: round up to a page boundary."""
    return (n + page_size - 1) // page_size * page_size


@dataclass(frozen=True, slots=True)
class UnitGeometry:
    static_size: int
    reserved_size: int
    dyn_size: int  # adjusted: size_sum - static - reserved
    size_sum: int
    min_unit_size: int
    atom_size: int
    alloc_size: int
    max_upa: int
    page_size: int
    candidates: tuple[int, ...]  # upa values the loop may accept, max_upa first


def compute_unit_geometry(static_size: int, reserved_size: int, dyn_size: int, atom_size: int,
                          page_size: int, early_size: int) -> UnitGeometry:
    """The CPU-independent half of pcpu_build_alloc_info (mm/percpu.c:2880-2898, 6.1.192)."""
    if min(static_size, reserved_size, dyn_size) < 0 or atom_size <= 0 or page_size <= 0:
        raise ValueError("per-cpu sizes must be non-negative and atom/page sizes positive")
    # size_sum = PFN_ALIGN(static_size + reserved_size + max_t(size_t, dyn_size, PERCPU_DYNAMIC_EARLY_SIZE));
    size_sum = pfn_align(static_size + reserved_size + max(dyn_size, early_size), page_size)
    # dyn_size = size_sum - static_size - reserved_size;
    dyn = size_sum - static_size - reserved_size
    # min_unit_size = max_t(size_t, size_sum, PCPU_MIN_UNIT_SIZE);
    min_unit = max(size_sum, pfn_align(PCPU_MIN_UNIT_BYTES, page_size))
    # alloc_size = roundup(min_unit_size, atom_size);
    alloc_size = -(-min_unit // atom_size) * atom_size
    # upa = alloc_size / min_unit_size; while (alloc_size % upa || offset_in_page(alloc_size / upa)) upa--;
    upa = alloc_size // min_unit
    while alloc_size % upa or (alloc_size // upa) % page_size:
        upa -= 1
    max_upa = upa
    candidates = tuple(u for u in range(max_upa, 0, -1)
                       if not (alloc_size % u or (alloc_size // u) % page_size))
    return UnitGeometry(static_size, reserved_size, dyn, size_sum, min_unit, atom_size, alloc_size,
                        max_upa, page_size, candidates)


def compute_upa(geometry: UnitGeometry, group_cnt: Sequence[int]) -> tuple[int, int]:
    """The units-per-allocation loop (mm/percpu.c:2929-2956, 6.1.192). Returns (upa, allocs)."""
    nr_possible = sum(group_cnt)
    if nr_possible <= 0 or any(c <= 0 for c in group_cnt):
        raise ValueError("every group needs at least one possible CPU")
    last_allocs: int | None = None  # INT_MAX
    best_upa = 0
    best_allocs = 0
    limit = nr_possible // 3  # num_possible_cpus() / 3, unsigned integer division
    for upa in geometry.candidates:
        allocs = 0
        wasted = 0
        for cnt in group_cnt:
            this_allocs = -(-cnt // upa)
            allocs += this_allocs
            wasted += this_allocs * upa - cnt
        # Don't accept if wastage is over 1/3 (upa == 1 always passes).
        if wasted > limit:
            continue
        # and then don't consume more memory
        if last_allocs is not None and allocs > last_allocs:
            break
        last_allocs = allocs
        best_upa = upa
        best_allocs = allocs
    assert best_upa, "upa == 1 always passes"  # BUG_ON(!best_upa)
    return best_upa, best_allocs


def compute_alloc_info(static_size: int, reserved_size: int, dyn_size: int, atom_size: int,
                       page_size: int, early_size: int, group_cnt: Sequence[int],
                       geometry: UnitGeometry | None = None) -> PercpuAllocInfo:
    """pcpu_build_alloc_info for CPUs grouped by node (`group_cnt`: possible CPUs per group)."""
    g = geometry or compute_unit_geometry(static_size, reserved_size, dyn_size, atom_size, page_size,
                                          early_size)
    upa, allocs = compute_upa(g, group_cnt)
    # nr_units += roundup(group_cnt[group], upa)
    nr_units = sum(-(-c // upa) * upa for c in group_cnt)
    return PercpuAllocInfo(
        static_size=g.static_size, reserved_size=g.reserved_size, dyn_size=g.dyn_size,
        size_sum=g.size_sum, min_unit_size=g.min_unit_size, atom_size=g.atom_size,
        alloc_size=g.alloc_size, max_upa=g.max_upa, upa=upa, unit_size=g.alloc_size // upa,
        nr_groups=len(group_cnt), nr_units=nr_units, nr_allocs=allocs,
        possible_cpus=sum(group_cnt), page_size=page_size)

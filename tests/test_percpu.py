"""The port of pcpu_build_alloc_info, against hand arithmetic from mm/percpu.c (6.1.192)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpualloc_cli.analysis.percpu import compute_alloc_info, compute_unit_geometry

KiB = 1024
MiB = 1024 * 1024
EARLY_61 = 12 * KiB  # PERCPU_DYNAMIC_EARLY_SIZE, include/linux/percpu.h:46


def x86_64_example(cpus: int, groups: tuple[int, ...] | None = None):  # type: ignore[no-untyped-def]
    # The worked example: static 80,472 B, reserved 8,192, dynamic 28,672, atom 2 MiB.
    return compute_alloc_info(80_472, 8_192, 28_672, 2 * MiB, 4096, EARLY_61, groups or (cpus,))


def test_worked_example_eight_cpus() -> None:
    ai = x86_64_example(8)
    # size_sum = PFN_ALIGN(80,472 + 8,192 + max(28,672, 12,288)) = PFN_ALIGN(117,336)
    # 117,336 / 4,096 = 28.65 -> 29 pages = 118,784
    assert ai.size_sum == 118_784
    assert ai.pages_per_cpu == 29
    # dyn_size = size_sum - static - reserved = 118,784 - 80,472 - 8,192 = 30,120
    assert ai.dyn_size == 30_120
    # min_unit_size = max(118,784, 32,768) = 118,784; alloc_size = roundup(118,784, 2 MiB) = 2,097,152
    assert ai.min_unit_size == 118_784
    assert ai.alloc_size == 2_097_152
    # upa = 2,097,152 / 118,784 = 17 (17.65); 17 does not divide 2 MiB; 16 does and 131,072 is page-aligned
    assert ai.max_upa == 16
    # upa 16: 1 alloc, wasted 16 - 8 = 8 > 8 // 3 = 2 -> rejected; 15..9 do not divide 2 MiB;
    # upa 8: 1 alloc, wasted 0 -> accepted; upa 4: 2 allocs > 1 -> stop.
    assert ai.upa == 8
    assert ai.unit_size == 2_097_152 // 8 == 262_144  # 256 KiB
    assert ai.nr_units == 8
    assert ai.nr_allocs == 1
    assert ai.span_bytes == 2 * MiB
    # resident = 8 x 118,784 = 950,272
    assert ai.resident_bytes == 950_272
    assert ai.embedded_line() == "percpu: Embedded 29 pages/cpu s80472 r8192 d30120 u262144"


def test_span_is_not_monotonic() -> None:
    # 9 CPUs: upa 16 wastes 7 > 9 // 3 = 3; upa 8: 2 allocs, wastes 16 - 9 = 7 > 3; upa 4: 3 allocs,
    # wastes 12 - 9 = 3, not > 3 -> accepted; upa 2: 5 allocs > 3 -> stop. 3 x 2 MiB.
    nine = x86_64_example(9)
    assert (nine.upa, nine.nr_allocs, nine.unit_size) == (4, 3, 524_288)
    assert nine.span_bytes == 3 * 2 * MiB
    assert nine.nr_units == 12
    # 12 CPUs: upa 16 wastes 4, not > 12 // 3 = 4 -> accepted (1 alloc); upa 8: 2 allocs > 1 -> stop.
    twelve = x86_64_example(12)
    assert (twelve.upa, twelve.nr_allocs, twelve.unit_size) == (16, 1, 131_072)
    assert twelve.span_bytes == 2 * MiB
    eight = x86_64_example(8)
    assert eight.span_bytes < nine.span_bytes > twelve.span_bytes


def test_one_cpu_and_two_nodes() -> None:
    # 1 CPU: upa 16 wastes 15 > 0; ... upa 1: wastes 0 -> 1 alloc, unit 2 MiB.
    one = x86_64_example(1)
    assert (one.upa, one.unit_size, one.nr_allocs) == (1, 2 * MiB, 1)
    # two nodes of 4: upa 16: 2 allocs, wasted 24 > 8 // 3 = 2; upa 8: 2 allocs, wasted 8 > 2;
    # upa 4: 2 allocs, wasted 0 -> accepted; upa 2: 4 allocs > 2 -> stop. unit 512 KiB.
    two = x86_64_example(8, groups=(4, 4))
    assert (two.upa, two.nr_allocs, two.unit_size, two.nr_groups, two.nr_units) == (4, 2, 524_288, 2, 8)


def test_small_static_hits_min_unit_and_page_atom() -> None:
    # i386-like: static 10,000, reserved 0, dyn 20,480, atom = PAGE_SIZE 4,096.
    # size_sum = PFN_ALIGN(10,000 + 0 + 20,480) = PFN_ALIGN(30,480) = 8 pages = 32,768
    # min_unit = max(32,768, 32,768) = 32,768; alloc = roundup(32,768, 4,096) = 32,768; upa = 1.
    ai = compute_alloc_info(10_000, 0, 20_480, 4096, 4096, EARLY_61, (4,))
    assert (ai.size_sum, ai.dyn_size, ai.alloc_size, ai.upa, ai.unit_size) == (32_768, 22_768, 32_768, 1, 32_768)
    assert ai.nr_allocs == 4
    # tiny static: size_sum = PFN_ALIGN(100 + 0 + 20,480) = 6 pages = 24,576 < 32,768 -> unit 32,768
    tiny = compute_alloc_info(100, 0, 20_480, 4096, 4096, EARLY_61, (2,))
    assert (tiny.size_sum, tiny.min_unit_size, tiny.unit_size) == (24_576, 32_768, 32_768)


def test_dyn_below_early_minimum_is_raised() -> None:
    # dyn 4,096 < EARLY 12,288: size_sum = PFN_ALIGN(5,000 + 0 + 12,288) = PFN_ALIGN(17,288) = 20,480
    ai = compute_alloc_info(5_000, 0, 4_096, 4096, 4096, EARLY_61, (1,))
    assert ai.size_sum == 20_480
    assert ai.dyn_size == 20_480 - 5_000 == 15_480


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        compute_unit_geometry(-1, 0, 0, 4096, 4096, 0)
    g = compute_unit_geometry(1, 0, 0, 4096, 4096, 0)
    with pytest.raises(ValueError):
        compute_alloc_info(1, 0, 0, 4096, 4096, 0, (0,), geometry=g)


@settings(max_examples=300, deadline=None)
@given(static=st.integers(0, 600_000), reserved=st.sampled_from([0, 8 * KiB, 64 * KiB]),
       dyn=st.sampled_from([20 * KiB, 28 * KiB, 112 * KiB]),
       atom=st.sampled_from([4096, 2 * MiB, 4 * MiB]), page=st.sampled_from([4096, 8192, 16384]),
       groups=st.lists(st.integers(1, 300), min_size=1, max_size=4))
def test_invariants(static: int, reserved: int, dyn: int, atom: int, page: int, groups: list[int]) -> None:
    if atom % page:
        atom = page
    ai = compute_alloc_info(static, reserved, dyn, atom, page, EARLY_61, tuple(groups))
    possible = sum(groups)
    assert ai.size_sum % page == 0
    assert ai.size_sum >= static + reserved + max(dyn, EARLY_61)
    assert ai.size_sum - (static + reserved + max(dyn, EARLY_61)) < page
    assert ai.unit_size * ai.upa == ai.alloc_size
    assert ai.unit_size % page == 0 and ai.unit_size >= ai.min_unit_size >= ai.size_sum
    assert ai.alloc_size % atom == 0
    wasted = sum(-(-c // ai.upa) * ai.upa - c for c in groups)
    assert ai.upa == 1 or wasted <= possible // 3
    assert ai.nr_units == possible + wasted
    assert ai.nr_allocs == sum(-(-c // ai.upa) for c in groups)

"""The 2007 cpu_alloc bitmap allocator simulation (4-byte units, first fit honouring alignment)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpualloc_cli.analysis.packing import compute_packing, infer_alignment, units_for


def test_small_object_fills_the_alignment_gap() -> None:
    # 4 B at unit 0; 64 B aligned to 64 = 16 units -> starts at unit 16 (units 16..31), leaving 1..15 free;
    # the next 4 B object takes unit 1 (first fit) inside that gap.
    r = compute_packing([(4, 4), (64, 64), (4, 4)], linker_bytes=132)
    assert r.units_allocated == 1 + 16 + 1 == 18
    assert r.units_used == 32
    assert r.used_bytes == 128
    assert r.gaps_filled == 1
    assert r.fragmentation == pytest.approx(1 - 18 / 32)  # 0.4375
    assert r.linker_bytes == 132


def test_sizes_round_up_to_units() -> None:
    assert [units_for(n) for n in (0, 1, 4, 5, 8, 9)] == [1, 1, 1, 2, 2, 3]
    # 3 objects of 5 bytes = 2 units each, no alignment beyond 4: packed back to back, 6 units
    r = compute_packing([(5, 4), (5, 4), (5, 4)])
    assert (r.units_allocated, r.units_used, r.gaps_filled) == (6, 6, 0)


def test_alignment_8_leaves_and_fills_a_gap() -> None:
    # 4 B at unit 0; 8 B aligned 8 (step 2) -> units 2..3; 4 B -> unit 1; 4 B -> unit 4
    r = compute_packing([(4, 4), (8, 8), (4, 4), (4, 4)])
    assert (r.units_allocated, r.units_used, r.gaps_filled) == (5, 5, 1)
    assert r.fragmentation == 0.0


def test_rejects_bad_alignment() -> None:
    with pytest.raises(ValueError):
        compute_packing([(4, 12)])


def test_infer_alignment() -> None:
    assert infer_alignment(0, 4) == 4  # at offset 0: bounded by the size's power of two
    assert infer_alignment(64, 128) == 64  # cache line cap
    assert infer_alignment(8, 100) == 8  # offset 8 cannot be more than 8-aligned
    assert infer_alignment(12, 16) == 4
    assert infer_alignment(6, 2) == 4  # never below one unit


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.sampled_from([4, 8, 16, 32, 64])), min_size=1, max_size=60))
def test_packing_invariants(objs: list[tuple[int, int]]) -> None:
    r = compute_packing(objs)
    assert r.objects == len(objs)
    assert r.units_allocated == sum(units_for(s) for s, _ in objs)
    assert r.units_used >= r.units_allocated
    # first fit never needs more than every object placed at its own aligned slot end to end
    assert r.units_used <= sum(units_for(s) + a // 4 - 1 for s, a in objs)
    if all(a == 4 for _, a in objs):
        assert r.units_used == r.units_allocated and r.gaps_filled == 0


def _kernel_loop(objs: list[tuple[int, int]]) -> tuple[int, int]:
    """A unit-by-unit transliteration of cpu_alloc() (mm/cpu_alloc.c as re-posted on LKML
    2008-09-19, <20080919145929.158651064@quilx.com>) with an unbounded map; returns
    (units allocated, high-water mark). Written from the C code, independently of the
    simulation under test."""
    used: set[int] = set()
    first_free = 0
    high = 0
    total = 0
    for size, align in objs:
        units = -(-size // 4)  # DIV_ROUND_UP(size, UNIT_SIZE)
        step = align // 4
        first = True
        start = first_free
        while True:
            while start in used:  # find_next_zero_bit
                start += 1
            if first:
                first_free = start
            nxt = start + 1  # find_next_bit(map, nr_units, start + 1)
            while nxt not in used and nxt < start + units:
                nxt += 1
            if start % step == 0 and nxt >= start + units:
                break
            start += 1
            first = False
        if first:
            first_free = start + units
        used.update(range(start, start + units))
        high = max(high, start + units)
        total += units
    return total, high


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 200), st.sampled_from([4, 8, 16, 32, 64])), min_size=1, max_size=40))
def test_simulation_matches_the_kernel_loop(objs: list[tuple[int, int]]) -> None:
    r = compute_packing(objs)
    assert (r.units_allocated, r.units_used) == _kernel_loop(objs)

"""The 2007 cpu_alloc bitmap allocator (LKML "[patch 01/28] cpu alloc: The allocator"),
simulated over a list of per-cpu objects.

The thread's copy in ../shared/reference is cut before `cpu_alloc()`; the loop simulated here
is the one Christoph Lameter re-posted ("[patch 3/4] cpu alloc: The allocator", LKML
2008-09-19, Message-ID <20080919145929.158651064@quilx.com>, mm/cpu_alloc.c): start at
`first_free`, `find_next_zero_bit`, accept when `start % (align / UNIT_SIZE) == 0` and
`find_next_bit(map, nr_units, start + 1) >= start + units`, else `start++`. There an alignment
below UNIT_SIZE would divide by zero; here it is raised to one unit.

The allocator tracks the cpu area in 4-byte units with one bit per unit. `cpu_alloc(size,
align)` takes the first free run that starts on a unit index aligned to `align / UNIT_SIZE`
and is long enough ("first fit honouring alignment"); a small object therefore drops into a
gap that an earlier aligned object left behind ("small objects will fill up gaps left by
larger allocations that required alignments", the patch description).
"""

from __future__ import annotations

from collections.abc import Iterable

from cpualloc_cli.model.footprint import PackingResult

UNIT_BYTES = 4


def units_for(size_bytes: int) -> int:
    """size_to_units: round a size up to whole 4-byte units (at least one)."""
    return max(1, -(-size_bytes // UNIT_BYTES))


def compute_packing(objects: Iterable[tuple[int, int]], linker_bytes: int = 0) -> PackingResult:
    """Allocate each (size_bytes, align_bytes) in order, first fit, and report the result.

    Alignment below the unit size is raised to it; alignment is in bytes and a power of two.
    """
    bitmap = bytearray()  # one byte per unit: 0 free, 1 used (bytearray.find runs in C)
    first_free = 0
    high = 0
    allocated = 0
    count = 0
    gaps_filled = 0
    for size, align in objects:
        if size < 0 or align <= 0 or align & (align - 1):
            raise ValueError(f"bad object size {size} / alignment {align}")
        units = units_for(size)
        step = max(1, align // UNIT_BYTES)
        start = first_free
        while True:
            free = bitmap.find(0, start)
            start = free if free >= 0 else max(start, len(bitmap))
            if start % step:
                start += step - start % step
                continue
            end = start + units
            if end > len(bitmap):
                bitmap.extend(bytes(end - len(bitmap)))
            busy = bitmap.find(1, start, end)
            if busy < 0:
                break
            start = busy + 1
        bitmap[start:start + units] = b"\x01" * units
        if start < high:
            gaps_filled += 1
        high = max(high, start + units)
        allocated += units
        count += 1
        if start == first_free:
            nxt = bitmap.find(0, first_free)
            first_free = nxt if nxt >= 0 else len(bitmap)
    return PackingResult(objects=count, unit_bytes=UNIT_BYTES, units_allocated=allocated, units_used=high,
                         linker_bytes=linker_bytes, gaps_filled=gaps_filled)


def infer_alignment(offset: int, size_bytes: int, cap: int = 64) -> int:
    """The alignment a per-cpu object probably asked for, from where the linker put it:
    the largest power of two dividing its offset, no larger than the power of two at or
    above its size, capped at a cache line (`cap`, L1_CACHE_BYTES), at least one unit."""
    if offset == 0:
        by_offset = cap
    else:
        by_offset = offset & -offset
    by_size = 1
    while by_size < size_bytes and by_size < cap:
        by_size <<= 1
    return max(UNIT_BYTES, min(by_offset, by_size, cap))

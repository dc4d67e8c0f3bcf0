"""The sparc64 page-flags BUILD_BUG_ON rule and the LAST_CPUPID cost, against hand arithmetic
and a real build.

Real-build record (Linux 6.1.192 from Debian linux-source-6.1, gcc 12.2 sparc64-linux-gnu, on
2026-11-26): the shared sparc64 tinyconfig (../shared/kernels/sparc64-tiny-nr64/config) with
`scripts/config --set-val NR_CPUS N`, `make O=... ARCH=sparc64 CROSS_COMPILE=sparc64-linux-gnu-
olddefconfig prepare`, then `make ... arch/sparc/mm/init_64.o`:
  - NR_CPUS=256: init_64.o built, make exit 0.
  - NR_CPUS=512: make exit 2, "arch/sparc/mm/init_64.c:2302:9: ... BUILD_BUG_ON failed:
    SECTIONS_WIDTH + NODES_WIDTH + ZONES_WIDTH + ilog2(roundup_pow_of_two(NR_CPUS)) > 32".
  - include/generated/bounds.h of that build: NR_PAGEFLAGS 23, MAX_NR_ZONES 2, LRU_GEN_WIDTH 0.
"""

from __future__ import annotations

import pytest
from conftest import KERNELS, need_shared

from cpualloc_cli.analysis.pageflags import (
    compute_layout,
    evaluate_sparc64_pageflags,
    largest_sparc64_nr_cpus,
    order_base_2,
    roundup_pow_of_two,
    struct_page_growth_bytes,
)


def read_dotconfig(path: str) -> dict[str, str]:
    """Test-side reader of a resolved .config (an oracle input, not the product's parser)."""
    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line.startswith("CONFIG_") and "=" in line:
                k, _, v = line[7:].partition("=")
                values[k] = v.strip('"')
            elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
                values[line[9:-11]] = "n"
    return values


@pytest.fixture
def tiny() -> dict[str, str]:
    need_shared()
    return read_dotconfig(str(KERNELS / "sparc64-tiny-nr64" / "config"))


def test_log2_helpers() -> None:
    assert [roundup_pow_of_two(n) for n in (1, 2, 3, 255, 256, 257)] == [1, 2, 4, 256, 256, 512]
    assert [order_base_2(n) for n in (1, 2, 3, 4, 5, 4096)] == [0, 1, 2, 2, 3, 12]


def test_tinyconfig_widths_match_the_real_bounds_h(tiny: dict[str, str]) -> None:
    layout = compute_layout(tiny, "sparc64", 64, 256)
    assert layout is not None
    # bounds.h of the real build: NR_PAGEFLAGS 23, MAX_NR_ZONES 2, LRU_GEN_WIDTH 0
    assert layout.nr_pageflags == 23
    assert layout.max_nr_zones == 2
    assert layout.lru_gen_width == 0
    # SECTIONS_SHIFT = MAX_PHYSMEM_BITS 53 - SECTION_SIZE_BITS 30 = 23; no VMEMMAP -> width 23
    assert layout.sections_width == 23
    assert layout.zones_width == 1  # MAX_NR_ZONES 2 -> ZONES_SHIFT 1
    assert layout.nodes_width == 0  # no NUMA


@pytest.mark.parametrize(("nr_cpus", "bits", "ok"), [
    (256, 23 + 0 + 1 + 8, True),  # 32 <= 32: built for real
    (257, 23 + 0 + 1 + 9, False),  # roundup to 512
    (512, 23 + 0 + 1 + 9, False),  # 33 > 32: failed for real
    (4096, 23 + 0 + 1 + 12, False),
])
def test_rule_at_boundary(tiny: dict[str, str], nr_cpus: int, bits: int, ok: bool) -> None:
    res = evaluate_sparc64_pageflags(tiny, nr_cpus)
    assert res.high_fields_bits == bits
    assert res.ok is ok


def test_largest_nr_cpus_is_256(tiny: dict[str, str]) -> None:
    assert largest_sparc64_nr_cpus(tiny, 2, 4096) == 256


def test_vmemmap_lifts_it_up_to_the_hard_4096(tiny: dict[str, str]) -> None:
    alt = dict(tiny, SPARSEMEM_VMEMMAP="y")
    assert evaluate_sparc64_pageflags(alt, 4096).ok  # 0 + 0 + 1 + 12 = 13
    assert not evaluate_sparc64_pageflags(alt, 4097).ok  # BUILD_BUG_ON(NR_CPUS > 4096)


def test_numa_costs_five_bits() -> None:
    # NUMA with NODES_SHIFT 5, no VMEMMAP: 23 + 5 + 1 = 29 -> 3 bits left -> NR_CPUS <= 8
    values = {"SMP": "y", "MMU": "y", "SPARSEMEM": "y", "NUMA": "y", "NODES_SHIFT": "5"}
    assert largest_sparc64_nr_cpus(values, 2, 4096) == 8


def test_last_cpupid_cost_x86_64() -> None:
    # x86_64, VMEMMAP, NUMA_BALANCING, NODES_SHIFT 10, zones DMA+DMA32+NORMAL+MOVABLE+DEVICE = 5 -> 3 bits,
    # LRU_GEN 3 bits, KASAN_SW_TAGS 8 bits. NR_PAGEFLAGS = 21 + MMU + MEMORY_FAILURE + 2 idle + arch_2 = 26,
    # room 64 - 26 = 38. used = 3 + 3 + 0 + 10 + 8 = 24; LAST_CPUPID_SHIFT = 8 + order_base_2(NR_CPUS).
    # Fits while 24 + 8 + b <= 38 -> b <= 6 -> NR_CPUS <= 64.
    values = {"MMU": "y", "MEMORY_FAILURE": "y", "PAGE_IDLE_FLAG": "y", "SPARSEMEM": "y",
              "SPARSEMEM_VMEMMAP": "y", "NUMA": "y", "NODES_SHIFT": "10", "NUMA_BALANCING": "y",
              "ZONE_DMA": "y", "ZONE_DMA32": "y", "ZONE_DEVICE": "y", "LRU_GEN": "y", "KASAN_SW_TAGS": "y",
              "HAVE_ALIGNED_STRUCT_PAGE": "y"}
    fits = compute_layout(values, "x86_64", 64, 64)
    over = compute_layout(values, "x86_64", 64, 65)
    assert fits is not None and over is not None
    assert fits.nr_pageflags == 26
    assert not fits.last_cpupid_not_in_page_flags
    assert over.last_cpupid_not_in_page_flags
    # struct page 64 B + int 4 B rounded to 2 * sizeof(long) = 16 -> 80: +16 B
    assert struct_page_growth_bytes(values, 64)[0] == 16

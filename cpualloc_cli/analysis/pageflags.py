"""page->flags layout from a config, as the preprocessor computes it, and the rules built on it.

Every width mirrors a line of Linux 6.1 (Debian linux-source-6.1, 6.1.192); the explain lines
cite it. Pure: takes symbol values (as in a .config: "y", "n", "64"), returns numbers and text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Arch facts for SPARSEMEM (arch/*/include/asm/sparsemem.h).
SPARSEMEM_BITS: dict[str, tuple[int, int, str]] = {
    # arch: (MAX_PHYSMEM_BITS, SECTION_SIZE_BITS, source)
    "sparc64": (53, 30, "arch/sparc/include/asm/sparsemem.h:9-10 (SECTION_SIZE_BITS 30, MAX_PHYSMEM_BITS = "
                        "MAX_PHYS_ADDRESS_BITS), arch/sparc/include/asm/page_64.h:140 (MAX_PHYS_ADDRESS_BITS 53)"),
    "x86_64": (46, 27, "arch/x86/include/asm/sparsemem.h:28-29 (SECTION_SIZE_BITS 27, MAX_PHYSMEM_BITS 46, "
                       "52 with 5-level paging)"),
}
MAX_NR_GENS = 4  # include/linux/mmzone.h:338
NR_CPUS_HARD_MAX_SPARC64 = 4096  # arch/sparc/mm/init_64.c:2305
HIGH_FIELDS_LIMIT_SPARC64 = 32  # arch/sparc/mm/init_64.c:2302-2303


def _on(values: Mapping[str, str], name: str) -> bool:
    return values.get(name, "n") in ("y", "m")


def ilog2(n: int) -> int:
    return n.bit_length() - 1


def roundup_pow_of_two(n: int) -> int:
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def order_base_2(n: int) -> int:
    """include/linux/log2.h: order_base_2(n) = ilog2(roundup_pow_of_two(n)) for n > 1, 0 for n <= 1."""
    return 0 if n <= 1 else ilog2(roundup_pow_of_two(n))


@dataclass(frozen=True, slots=True)
class PageFlagsLayout:
    bits_per_long: int
    nr_pageflags: int
    max_nr_zones: int
    zones_width: int
    sections_shift: int
    sections_width: int
    nodes_shift: int
    nodes_width: int
    lru_gen_width: int
    kasan_tag_width: int
    last_cpupid_shift: int
    last_cpupid_width: int
    explain: tuple[str, ...]

    @property
    def last_cpupid_not_in_page_flags(self) -> bool:
        return self.last_cpupid_shift != 0 and self.last_cpupid_width == 0


def compute_layout(values: Mapping[str, str], arch: str, bits: int, nr_cpus: int) -> PageFlagsLayout | None:
    """The page->flags widths for this config at `nr_cpus`; None when SPARSEMEM is on and the
    arch's SECTION_SIZE_BITS/MAX_PHYSMEM_BITS are not known to cpualloc."""
    lines: list[str] = []
    is64 = bits == 64
    # include/linux/page-flags.h:100-141 (enum pageflags)
    nr = 21
    extra = []
    for sym, add in (("MMU", 1), ("ARCH_USES_PG_UNCACHED", 1), ("MEMORY_FAILURE", 1)):
        if _on(values, sym):
            nr += add
            extra.append(sym)
    if _on(values, "PAGE_IDLE_FLAG") and is64:
        nr += 2
        extra.append("PAGE_IDLE_FLAG (2)")
    if is64:
        nr += 1
        extra.append("64BIT (PG_arch_2)")
    if _on(values, "KASAN_HW_TAGS"):
        nr += 1
        extra.append("KASAN_HW_TAGS")
    lines.append(f"NR_PAGEFLAGS = 21 + {nr - 21} ({', '.join(extra) or 'none'}) = {nr}  "
                 "[include/linux/page-flags.h:100-141]")
    zones = ["NORMAL", "MOVABLE"]
    for sym in ("ZONE_DMA", "ZONE_DMA32", "HIGHMEM", "ZONE_DEVICE"):
        if _on(values, sym):
            zones.append(sym.removeprefix("ZONE_"))
    max_nr_zones = len(zones)
    zones_shift = 0 if max_nr_zones < 2 else 1 if max_nr_zones <= 2 else 2 if max_nr_zones <= 4 else 3
    lines.append(f"MAX_NR_ZONES = {max_nr_zones} ({', '.join(sorted(zones))})  [include/linux/mmzone.h:619-697]; "
                 f"ZONES_WIDTH = ZONES_SHIFT = {zones_shift}  [include/linux/page-flags-layout.h:15-27]")
    sparsemem = _on(values, "SPARSEMEM")
    vmemmap = _on(values, "SPARSEMEM_VMEMMAP")
    sections_shift = 0
    if sparsemem:
        facts = SPARSEMEM_BITS.get(arch)
        if facts is None:
            return None
        max_phys, section_bits, src = facts
        sections_shift = max_phys - section_bits
        lines.append(f"SECTIONS_SHIFT = MAX_PHYSMEM_BITS - SECTION_SIZE_BITS = {max_phys} - {section_bits} = "
                     f"{sections_shift}  [include/linux/page-flags-layout.h:29-31; {src}]")
    sections_width = sections_shift if sparsemem and not vmemmap else 0
    why = "SPARSEMEM without SPARSEMEM_VMEMMAP" if sparsemem and not vmemmap else (
        "SPARSEMEM_VMEMMAP=y" if vmemmap else "no SPARSEMEM")
    lines.append(f"SECTIONS_WIDTH = {sections_width} ({why})  [include/linux/page-flags-layout.h:52-56]")
    nodes_shift = int(values.get("NODES_SHIFT", "0") or 0) if _on(values, "NUMA") else 0
    lru_gen_width = order_base_2(MAX_NR_GENS + 1) if _on(values, "LRU_GEN") else 0
    room = bits - nr
    if zones_shift + lru_gen_width + sections_width + nodes_shift <= room:
        nodes_width = nodes_shift
    else:
        nodes_width = 0
    lines.append(f"NODES_SHIFT = {nodes_shift}  [include/linux/numa.h:7-11]; LRU_GEN_WIDTH = {lru_gen_width}  "
                 f"[kernel/bounds.c:25-29]; NODES_WIDTH = {nodes_width}  [include/linux/page-flags-layout.h:58-65]")
    kasan = 8 if (_on(values, "KASAN_SW_TAGS") or _on(values, "KASAN_HW_TAGS")) else 0
    if _on(values, "NUMA_BALANCING"):
        nr_cpus_bits = order_base_2(nr_cpus)
        last_shift = 8 + nr_cpus_bits
        lines.append(f"LAST_CPUPID_SHIFT = LAST__PID_SHIFT + NR_CPUS_BITS = 8 + order_base_2({nr_cpus}) = {last_shift}  "
                     "[include/linux/page-flags-layout.h:81-88; kernel/bounds.c:22]")
    else:
        last_shift = 0
        lines.append("LAST_CPUPID_SHIFT = 0 (no NUMA_BALANCING)  [include/linux/page-flags-layout.h:89-91]")
    used = zones_shift + lru_gen_width + sections_width + nodes_width + kasan
    last_width = last_shift if used + last_shift <= room else 0
    if last_shift:
        lines.append(f"ZONES+LRU_GEN+SECTIONS+NODES+KASAN_TAG+LAST_CPUPID = {used} + {last_shift} = {used + last_shift} "
                     f"{'<=' if last_width else '>'} BITS_PER_LONG - NR_PAGEFLAGS = {bits} - {nr} = {room}; "
                     f"LAST_CPUPID_WIDTH = {last_width}  [include/linux/page-flags-layout.h:93-102]")
    return PageFlagsLayout(
        bits_per_long=bits, nr_pageflags=nr, max_nr_zones=max_nr_zones, zones_width=zones_shift,
        sections_shift=sections_shift, sections_width=sections_width, nodes_shift=nodes_shift,
        nodes_width=nodes_width, lru_gen_width=lru_gen_width, kasan_tag_width=kasan,
        last_cpupid_shift=last_shift, last_cpupid_width=last_width, explain=tuple(lines),
    )


@dataclass(frozen=True, slots=True)
class Sparc64PageFlagsResult:
    nr_cpus: int
    high_fields_bits: int  # SECTIONS_WIDTH + NODES_WIDTH + ZONES_WIDTH + ilog2(roundup_pow_of_two(NR_CPUS))
    ok: bool
    explain: tuple[str, ...]


def evaluate_sparc64_pageflags(values: Mapping[str, str], nr_cpus: int) -> Sparc64PageFlagsResult:
    """arch/sparc/mm/init_64.c:2295-2305, the three BUILD_BUG_ONs of paging_init()."""
    layout = compute_layout(values, "sparc64", 64, nr_cpus)
    assert layout is not None  # sparc64 facts are in SPARSEMEM_BITS
    cpu_bits = ilog2(roundup_pow_of_two(nr_cpus))
    total = layout.sections_width + layout.nodes_width + layout.zones_width + cpu_bits
    lines = list(layout.explain)
    lines.append(f"ilog2(roundup_pow_of_two(NR_CPUS)) = ilog2(roundup_pow_of_two({nr_cpus})) = "
                 f"ilog2({roundup_pow_of_two(nr_cpus)}) = {cpu_bits}")
    lines.append(f"SECTIONS_WIDTH + NODES_WIDTH + ZONES_WIDTH + ilog2(...) = {layout.sections_width} + "
                 f"{layout.nodes_width} + {layout.zones_width} + {cpu_bits} = {total} "
                 f"{'<=' if total <= HIGH_FIELDS_LIMIT_SPARC64 else '>'} 32  [arch/sparc/mm/init_64.c:2302-2303]")
    ok = total <= HIGH_FIELDS_LIMIT_SPARC64
    if layout.nr_pageflags > 32:
        ok = False
        lines.append(f"NR_PAGEFLAGS = {layout.nr_pageflags} > 32  [arch/sparc/mm/init_64.c:2295]")
    if nr_cpus > NR_CPUS_HARD_MAX_SPARC64:
        ok = False
        lines.append(f"NR_CPUS = {nr_cpus} > 4096  [arch/sparc/mm/init_64.c:2305]")
    return Sparc64PageFlagsResult(nr_cpus=nr_cpus, high_fields_bits=total, ok=ok, explain=tuple(lines))


def largest_sparc64_nr_cpus(values: Mapping[str, str], lo: int, hi: int) -> int | None:
    """Largest NR_CPUS in [lo, hi] (the Kconfig range) that passes; every value is tried."""
    best = None
    for n in range(lo, hi + 1):
        if evaluate_sparc64_pageflags(values, n).ok:
            best = n
    return best


def struct_page_growth_bytes(values: Mapping[str, str], bits: int) -> tuple[int, str]:
    """What `int _last_cpupid` adds to struct page (include/linux/mm_types.h:243-246), assuming the
    common 64-byte struct page on 64-bit (40 bytes on 32-bit) and the alignment of mm_types.h:66-70."""
    base = 64 if bits == 64 else 40
    align = 2 * (bits // 8) if _on(values, "HAVE_ALIGNED_STRUCT_PAGE") else bits // 8
    grown = base + 4
    grown = (grown + align - 1) // align * align
    return grown - base, (f"sizeof(struct page) {base} -> roundup({base} + 4, {align}) = {grown} bytes "
                          f"(base size assumed: the usual {base}-byte struct page)")

"""The boot memory budget (Linux 6.1): what is taken from RAM before userspace, row by row.

Every row carries its formula, its inputs and the Linux source it follows (file:line in Linux
6.1). What is not modelled is not guessed: such a row is inconclusive (bytes None) with the reason,
and the report leaves the difference to a real boot as an explicit, unexplained remainder.

Only x86_64 has the arch-specific rows (the kernel image reservation, the low 1 MiB, swiotlb);
other arches get the arch-neutral rows and inconclusive rows for the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from cpualloc_cli.model.bootmem import BootMemInputs, BootMemReport, BootMemRow, Machine, ReservedPoint
from cpualloc_cli.model.footprint import FootprintInputs, Provenance
from cpualloc_cli.model.image import ElfImage

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
MAX_MEMORY_BYTES = 1 << 52  # x86_64 5-level paging: MAX_PHYSMEM_BITS 52

# SECTION_SIZE_BITS per arch (arch/*/include/asm/sparsemem.h, 6.1)
SECTION_SIZE_BITS = {"x86_64": (27, "arch/x86/include/asm/sparsemem.h:28"),
                     "i386": (26, "arch/x86/include/asm/sparsemem.h:24"),
                     "arm64": (27, "arch/arm64/include/asm/sparsemem.h:23")}

# sizeof(struct page) in 6.1 (include/linux/mm_types.h:72-226): flags, a five-word union,
# _mapcount + _refcount, memcg_data under MEMCG; aligned to two words
# (_struct_page_alignment, HAVE_ALIGNED_STRUCT_PAGE). Only the combinations checked on a real
# build are listed; anything else is inconclusive.
# x86_64: 8 (flags) + 40 (union) + 8 (_mapcount, _refcount) [+ 8 memcg_data] = 56 or 64, aligned
# to 16 (x86 selects HAVE_ALIGNED_STRUCT_PAGE with SLUB): 64 either way. Checked in the 6.1 tree:
# include/linux/mm_types.h:67-68 (__aligned(2 * sizeof(unsigned long))), :73 flags, :198 _mapcount,
# :210 _refcount, :212-213 memcg_data under CONFIG_MEMCG, :231-241 KMSAN's two pointers (KMSAN=y is
# inconclusive), :243-244 _last_cpupid when LAST_CPUPID_NOT_IN_PAGE_FLAGS (an int: 60 or 68 B
# before the 16 B alignment, still 64 without MEMCG, 80 with: not in the table's checked builds);
# arch/x86/Kconfig:167 selects HAVE_ALIGNED_STRUCT_PAGE if SLUB. MEMCG=n is reasoned, not booted. Debian's 6.1 amd64
# (MEMCG=y) is the checked build: 64 B per page on every recorded boot.
STRUCT_PAGE_BYTES = {("x86_64", True): 64, ("x86_64", False): 64}  # (arch, MEMCG) -> bytes (no _last_cpupid)
# Arches whose 6.1 struct page is computed field by field (struct_page_bytes): both select
# HAVE_ALIGNED_STRUCT_PAGE if SLUB (arch/x86/Kconfig:167, arch/arm64/Kconfig:147) and define no
# WANT_PAGE_VIRTUAL (include/linux/mm_types.h:224-229).
STRUCT_PAGE_ARCHES = ("x86_64", "arm64")


def struct_page_bytes(arch: str, bits: int, cfg: dict[str, str] | None) -> tuple[int | None, str]:
    """sizeof(struct page) in Linux 6.1 for a 64-bit arch of STRUCT_PAGE_ARCHES, field by field
    (include/linux/mm_types.h:73-246): flags 8 (:74), the five-word union 40, _mapcount + _refcount 8
    (:198,210), memcg_data 8 under MEMCG (:212-213), int _last_cpupid 4 when LAST_CPUPID_NOT_IN_PAGE_FLAGS
    (:243-244; page-flags-layout.h:93-102, analysis/pageflags.py), rounded up to 2 x 8 with
    HAVE_ALIGNED_STRUCT_PAGE (:67-70), else to 8. KMSAN (:231-241) is not modelled. (bytes or None, how)."""
    from cpualloc_cli.analysis.pageflags import compute_layout

    if cfg is None or arch not in STRUCT_PAGE_ARCHES or bits != 64:
        return None, f"sizeof(struct page) is computed for {', '.join(STRUCT_PAGE_ARCHES)} (64-bit) only"
    if _on(cfg, "KMSAN"):
        return None, "KMSAN adds kmsan_shadow and kmsan_origin (include/linux/mm_types.h:231-241): not modelled"
    memcg = _on(cfg, "MEMCG")
    aligned = _on(cfg, "HAVE_ALIGNED_STRUCT_PAGE") if "HAVE_ALIGNED_STRUCT_PAGE" in cfg else \
        cfg.get("SLUB", "y") != "n"
    # with SPARSEMEM_VMEMMAP the section is not in page->flags (SECTIONS_WIDTH 0,
    # page-flags-layout.h:52-56), so MAX_PHYSMEM_BITS does not matter for the layout
    values = dict(cfg, SPARSEMEM="n") if _on(cfg, "SPARSEMEM_VMEMMAP") or not _on(cfg, "SPARSEMEM") else cfg
    nr = cfg.get("NR_CPUS", "1")
    layout = compute_layout(values, arch, bits, int(nr) if nr.isdigit() else 1)
    if layout is None:
        return None, "the page->flags layout is unknown (SPARSEMEM without VMEMMAP on this arch)"
    cpupid = 4 if layout.last_cpupid_not_in_page_flags else 0
    raw = 8 + 40 + 8 + (8 if memcg else 0) + cpupid
    align = 16 if aligned else 8
    size = -(-raw // align) * align
    return size, (f"8 + 40 + 8{' + 8 (MEMCG)' if memcg else ''}{' + 4 (_last_cpupid)' if cpupid else ''} = {raw}, "
                  f"aligned to {align} = {size} B")

# The 6.1 linker symbols mem_init_print_info() reads (mm/page_alloc.c:8514-8541).
FIGURE_SYMBOLS = ("_stext", "_etext", "_sdata", "_edata", "__start_rodata", "__end_rodata", "__init_begin",
                  "__init_end", "_sinittext", "_einittext", "__bss_start", "__bss_stop")
MEM_INIT = "mm/page_alloc.c:8509-8557"

# x86 PC memory map as the kernel sees it under qemu's i440fx machine with SeaBIOS:
# usable [4 KiB, 0x9f000) (page 0 is made reserved, the partial page below 0x9fc00 dropped),
# [1 MiB, below_4g - 128 KiB), and [4 GiB, 4 GiB + above_4g); below_4g is all of RAM up to
# 3.5 GiB, else 3 GiB (qemu hw/i386/pc_piix.c, "gigabyte_align"). Checked on every recorded boot.
QEMU_PC_SPLIT = 0xE0000000
QEMU_PC_LOWMEM = 0xC0000000
QEMU_PC_TOP_RESERVED = 0x20000
# qemu's arm virt board (hw/arm/virt.c memmap VIRT_MEM): RAM from 1 GiB, one bank (the boots print
# "node 0: [mem 0x0000000040000000-...]"). Its device tree is created FDT_MAX_SIZE = 1 MiB large
# (qemu's create_device_tree; `-M virt,dumpdtb=F` writes fdt_totalsize 0x100000: tools/boots/virt_dtb.sh).
QEMU_VIRT_RAM_BASE = 0x40000000
QEMU_VIRT_DTB_BYTES = 1 << 20


def present_ranges(memory_bytes: int, machine: Machine, page_size: int) -> list[tuple[int, int]]:
    """Physical [start, end) byte ranges of usable RAM."""
    if memory_bytes <= 0 or memory_bytes > MAX_MEMORY_BYTES:
        raise ValueError(f"memory {memory_bytes} B is outside 1 B .. 4 PiB")
    if machine is Machine.FLAT:
        return [(0, memory_bytes // page_size * page_size)]
    if machine is Machine.QEMU_VIRT:
        return [(QEMU_VIRT_RAM_BASE, QEMU_VIRT_RAM_BASE + memory_bytes // page_size * page_size)]
    below = memory_bytes if memory_bytes < QEMU_PC_SPLIT else QEMU_PC_LOWMEM
    above = memory_bytes - below
    out = [(0x1000, 0x9F000)]
    top = (below - QEMU_PC_TOP_RESERVED) // page_size * page_size
    if top > MiB:
        out.append((MiB, top))
    if above:
        out.append((4 * GiB, 4 * GiB + above // page_size * page_size))
    return out


def _overlap(ranges: Sequence[tuple[int, int]], lo: int, hi: int) -> int:
    return sum(max(0, min(e, hi) - max(s, lo)) for s, e in ranges)


def x86_64_zones(top: int) -> list[tuple[str, int, int]]:
    """ZONE_DMA < 16 MiB, ZONE_DMA32 < 4 GiB, ZONE_NORMAL (zone_sizes_init, arch/x86/mm/init.c:1056)."""
    return [("DMA", 0, 16 * MiB), ("DMA32", 16 * MiB, 4 * GiB), ("Normal", 4 * GiB, max(top, 4 * GiB))]


def compute_image_figures(symbols: dict[str, int]) -> dict[str, int] | None:
    """The five image figures of the `Memory:` line in bytes, as mem_init_print_info() computes
    them, with its overlap adjustments (mm/page_alloc.c:8529-8540). None when a symbol is missing."""
    if any(s not in symbols for s in FIGURE_SYMBOLS):
        return None
    s = symbols
    code = s["_etext"] - s["_stext"]
    data = s["_edata"] - s["_sdata"]
    ro = s["__end_rodata"] - s["__start_rodata"]
    bss = s["__bss_stop"] - s["__bss_start"]
    init_data = s["__init_end"] - s["__init_begin"]
    init_code = s["_einittext"] - s["_sinittext"]

    def adj(start: str, end: str, size: int, pos: str, by: int) -> int:
        return size - by if s[start] <= s[pos] < s[end] and size > by else size

    init_data = adj("__init_begin", "__init_end", init_data, "_sinittext", init_code)
    code = adj("_stext", "_etext", code, "_sinittext", init_code)
    data = adj("_sdata", "_edata", data, "__init_begin", init_data)
    code = adj("_stext", "_etext", code, "__start_rodata", ro)
    data = adj("_sdata", "_edata", data, "__start_rodata", ro)
    if min(code, data, ro, bss, init_data, init_code) < 0:
        return None
    return {"kernel_code": code, "rwdata": data, "rodata": ro, "init": init_data + init_code, "bss": bss}


def compute_hash_entries(nr_kernel_pages: int, nr_all_pages: int, bucket_bytes: int, scale: int,
                         page_shift: int) -> int:
    """alloc_large_system_hash()'s table size with numentries=0, no limits (mm/page_alloc.c:9060-9131)."""
    n = nr_kernel_pages
    page = 1 << page_shift
    if page < MiB:
        step = MiB // page
        n = (n + step - 1) // step * step  # round_up to a megabyte of pages
    n = n >> (scale - page_shift) if scale > page_shift else n << (page_shift - scale)
    if n * bucket_bytes < page:
        n = page // bucket_bytes
    n = 1 << (n - 1).bit_length() if n > 1 else 1  # roundup_pow_of_two
    mx = min((nr_all_pages << page_shift) >> 4, 1 << 62) // bucket_bytes
    mx = min(mx, 0x80000000)
    n = min(n, mx)
    return 1 << (n.bit_length() - 1)  # log2qty = ilog2(numentries)


def _on(cfg: dict[str, str] | None, name: str) -> bool | None:
    if cfg is None:
        return None
    return cfg.get(name, "n") in ("y", "m")


# -- arm64 (Linux 6.1, 4 KiB pages, 48-bit VA, 4 levels: Debian's arm64 build) --------------------
ARM64_KIMAGE_VADDR_48 = 0xFFFF800008000000  # arch/arm64/include/asm/memory.h:46-49: _PAGE_END(48) + SZ_128M
ARM64_LAYOUT_SYMBOLS = ("_text", "_stext", "_etext", "__init_begin", "__initdata_begin", "__init_end", "__bss_stop",
                        "_end")


def arm64_zones(top: int) -> list[tuple[str, int, int]]:
    """ZONE_DMA up to the 32-bit DMA limit, ZONE_DMA32 empty (the same limit), ZONE_NORMAL above
    (zone_sizes_init, arch/arm64/mm/init.c:213-232; zone_dma_bits = min(32, DT, ACPI); a DT with
    no dma-ranges, as qemu's virt, gives 32)."""
    return [("DMA", 0, 4 * GiB), ("Normal", 4 * GiB, max(top, 4 * GiB))]


def _arm64_geometry(cfg: dict[str, str] | None, page: int) -> str | None:
    """None when the config is the modelled arm64 geometry, else why not."""
    if cfg is None:
        return "no config"
    if page != 4096 or cfg.get("ARM64_VA_BITS") != "48" or cfg.get("PGTABLE_LEVELS") != "4":
        return (f"only 4 KiB pages with 48-bit VA and 4 levels are modelled (PAGE_SIZE {page}, ARM64_VA_BITS "
                f"{cfg.get('ARM64_VA_BITS', '?')}, PGTABLE_LEVELS {cfg.get('PGTABLE_LEVELS', '?')})")
    return None


def arm64_init_dir_bytes(image_bytes: int, kaslr: bool) -> int:
    """INIT_DIR_SIZE = PAGE_SIZE x EARLY_PAGES(KIMAGE_VADDR, _end, EARLY_KASLR) for 4 KiB pages,
    48-bit VA, 4 levels (arch/arm64/include/asm/kernel-pgtable.h:62-88: SWAPPER_PGTABLE_LEVELS = 3,
    so one PGDIR page + EARLY_PGDS + EARLY_PMDS at SWAPPER_TABLE_SHIFT = PUD_SHIFT = 30)."""
    add = 1 if kaslr else 0
    vs, ve = ARM64_KIMAGE_VADDR_48, ARM64_KIMAGE_VADDR_48 + image_bytes

    def entries(shift: int) -> int:
        return ((ve - 1) >> shift) - (vs >> shift) + 1 + add

    return 4096 * (1 + entries(39) + entries(30))


def _chunks(bounds: Sequence[int], size: int) -> set[int]:
    return {b // size for b in bounds if b % size}


def arm64_rows(inp: BootMemInputs, ranges: Sequence[tuple[int, int]], rows: list[BootMemRow],
               notes: list[str]) -> tuple[int | None, int | None, int]:
    """The arm64 rows: the image reservation, the DTB, the early page tables, the mem_section
    arrays. Returns (image_bytes, other reserved bytes or None when inconclusive, freed bytes)."""
    syms, cfg, page = inp.symbols, inp.config, inp.page_size
    geom = _arm64_geometry(cfg, page)
    missing = [n for n in ARM64_LAYOUT_SYMBOLS if n not in syms]
    image_bytes: int | None = None
    other: int | None = 0
    freed = 0
    why = geom or (f"{inp.symbols_reason or 'no symbols'} (missing {', '.join(missing)})" if missing else None)
    if why is None:
        kaslr = bool(_on(cfg, "RANDOMIZE_BASE"))
        init_dir = arm64_init_dir_bytes(syms["_end"] - syms["_text"], kaslr)
        init_pg_dir = -(-syms["__bss_stop"] // page) * page
        if init_pg_dir + init_dir > syms["_end"] or syms["_end"] - (init_pg_dir + init_dir) >= 64 * KiB:
            why = (f"init_pg_dir {init_pg_dir:#x} + INIT_DIR_SIZE {init_dir:#x} does not end within SEGMENT_ALIGN "
                   f"below _end {syms['_end']:#x}: the layout is not 6.1's")
        else:
            image_bytes = syms["_end"] - syms["_stext"] - init_dir
            rows.append(BootMemRow(
                "kernel image", image_bytes, "_end - _stext - INIT_DIR_SIZE",
                f"{syms['_end']:#x} - {syms['_stext']:#x} - {init_dir // page} pages (init_pg_dir at "
                f"PAGE_ALIGN(__bss_stop) = {init_pg_dir:#x}; EARLY_KASLR {int(kaslr)})",
                "arch/arm64/mm/init.c:383, arch/arm64/mm/mmu.c:870-871, arch/arm64/include/asm/kernel-pgtable.h:62-88, "
                "arch/arm64/kernel/vmlinux.lds.S:305-314", "reserved",
                "memblock_reserve(_stext, _end - _stext); paging_init frees init_pg_dir once swapper_pg_dir is live. "
                "[_text, _stext) (64 KiB, the header) is not reserved"))
    if image_bytes is None:
        rows.append(BootMemRow("kernel image", None, "_end - _stext - INIT_DIR_SIZE", "", "arch/arm64/mm/init.c:383",
                               "reserved", f"inconclusive: {why}"))
    # the device tree (qemu's virt: 1 MiB), reserved whole and never freed
    dtb = inp.dtb_bytes if inp.dtb_bytes is not None else QEMU_VIRT_DTB_BYTES if inp.machine is Machine.QEMU_VIRT else None
    if dtb is None:
        other = None
        rows.append(BootMemRow("device tree (DTB)", None, "fdt_totalsize", "", "drivers/of/fdt.c:659-661", "reserved",
                               "inconclusive: the DTB's size is the boot loader's (give --dtb-size, or --machine qemu-virt)"))
    else:
        dtb_r = -(-dtb // page) * page
        rows.append(BootMemRow("device tree (DTB)", dtb_r, "PAGE_ALIGN(fdt_totalsize(initial_boot_params))",
                               f"{dtb} B" + (" (qemu virt's FDT_MAX_SIZE)" if inp.dtb_bytes is None else ""),
                               "drivers/of/fdt.c:659-661 via arch/arm64/mm/init.c:390", "reserved",
                               "early_init_fdt_scan_reserved_mem reserves the blob; it stays reserved"))
        if other is not None:
            other += dtb_r
    if geom is not None:
        rows.append(BootMemRow("early page tables", None, "linear map + kernel map + vmemmap + idmap", "",
                               "arch/arm64/mm/mmu.c:110-118", "reserved", f"inconclusive: {geom}"))
        return image_bytes, None, freed
    # -- page tables from memblock (early_pgtable_alloc, arch/arm64/mm/mmu.c:110-118) --------------
    no_block = bool(_on(cfg, "RODATA_FULL_DEFAULT_ENABLED")) or bool(_on(cfg, "KFENCE"))
    pte: set[int] = set()
    pmd: set[int] = set()
    pud: set[int] = set()
    for s, e in ranges:
        pmd.update(range(s >> 30, ((e - 1) >> 30) + 1))
        pud.update(range(s >> 39, ((e - 1) >> 39) + 1))
        if no_block:
            pte.update(range(s >> 21, ((e - 1) >> 21) + 1))
        else:
            pte.update(_chunks((s, e), 2 * MiB))
    linear = (len(pte) + len(pmd) + len(pud)) * page
    rows.append(BootMemRow(
        "linear map page tables", linear, "PTE pages per 2 MiB + PMD pages per 1 GiB + PUD pages per 512 GiB of RAM",
        f"{len(pte)} + {len(pmd)} + {len(pud)} pages ({'page' if no_block else 'block'} mappings: "
        f"RODATA_FULL_DEFAULT_ENABLED={'y' if no_block else 'n'})",
        "arch/arm64/mm/mmu.c:580-625 (map_mem, can_set_direct_map: arch/arm64/mm/pageattr.c:21-33), :110-118",
        "reserved", "rodata_full maps the linear region with 4 KiB pages (NO_BLOCK_MAPPINGS); KASLR moves it by whole "
        "GiB (ARM64_MEMSTART_ALIGN), so the counts do not depend on the seed"))
    kmap = None
    if image_bytes is not None:
        b = [syms[n] - syms["_text"] for n in ("_stext", "_etext", "__init_begin", "__initdata_begin", "__init_end",
                                               "_end")]
        kpte = len(_chunks(b, 2 * MiB))
        kmap = (kpte + 2) * page
        rows.append(BootMemRow(
            "kernel map page tables", kmap, "PTE pages where a segment edge is not 2 MiB aligned + one PMD + one PUD page",
            f"{kpte} + 1 + 1 pages (segments _stext, _etext, __inittext_begin, __initdata_begin, _data, _end)",
            "arch/arm64/mm/mmu.c:760-792 (map_kernel: five segments, block mappings allowed)", "reserved",
            "KASLR places the image 2 MiB aligned (arch/arm64/kernel/head.S:809-810, "
            "arch/arm64/include/asm/boot.h:18); across a 1 GiB boundary it takes one more PMD page"))
    vm = 2 * page if _on(cfg, "SPARSEMEM_VMEMMAP") else 0
    rows.append(BootMemRow("vmemmap page tables", vm, "one PUD and one PMD page (2 MiB blocks below)",
                           "the memmap of one bank spans less than 1 GiB of vmemmap", "arch/arm64/mm/mmu.c:1212-1252, "
                           "mm/sparse-vmemmap.c:40-56,176-230", "reserved",
                           "vmemmap_populate maps the struct pages with PMD blocks from the sparse buffer"))
    idm = 4 * page
    rows.append(BootMemRow("idmap page tables", idm, "PUD + PMD + a PTE page for .idmap.text and one for "
                           "__idmap_kpti_flag (in .data)", "4 pages", "arch/arm64/mm/mmu.c:825-851, "
                           "arch/arm64/mm/proc.S:255-256", "reserved", "create_idmap, VA_BITS = 48: no extra level"))
    # -- the sparse mem_section arrays (SPARSEMEM_EXTREME) -----------------------------------------
    sect = 0
    if _on(cfg, "SPARSEMEM_EXTREME") and cfg is not None:
        pa_bits = int(cfg.get("ARM64_PA_BITS", "48")) if cfg.get("ARM64_PA_BITS", "48").isdigit() else 48
        per_root = page // 16  # SECTIONS_PER_ROOT = PAGE_SIZE / sizeof(struct mem_section) (16 B)
        n_roots = (1 << (pa_bits - 27)) // per_root
        idx: set[int] = set()
        for s, e in ranges:
            idx.update(range(s >> 27, ((e - 1) >> 27) + 1))
        roots_used = len({i // per_root for i in idx})
        # mem_section_usage: subsection_map (64 bits) + pageblock flags (2^(15 - 9) blocks x 4 bits)
        usage = 8 + ((1 << (15 - 9)) * 4 + 63) // 64 * 8
        sect = n_roots * 8 + roots_used * page + len(idx) * usage
        rows.append(BootMemRow(
            "mem_section arrays", sect, "NR_SECTION_ROOTS x 8 + a root page per used root + sections x "
            "mem_section_usage_size()", f"{n_roots} roots (2^({pa_bits} - 27) / {per_root}) x 8 B + {roots_used} x "
            f"{page} B + {len(idx)} x {usage} B",
            "mm/sparse.c:63-75,229-237,316-319,513-515, include/linux/mmzone.h:1588-1589,1617,1667, "
            "arch/arm64/include/asm/sparsemem.h:8,26", "reserved", "memblock allocations of sparse_init"))
    total = linear + (kmap or 0) + vm + idm + sect
    if other is not None:
        other = other + total if kmap is not None else None
    # -- freed before /init (counts in MemTotal) -----------------------------------------------------
    if "__init_end" in syms and "__init_begin" in syms:
        freed = syms["__init_end"] - syms["__init_begin"]
        rows.append(BootMemRow("freed: initmem", freed, "__init_end - __init_begin", f"{freed} B",
                               "arch/arm64/mm/init.c:484-487", "freed",
                               "free_initmem gives the init sections back before /init runs (counts in MemTotal)"))
    notes.append("arm64, not modelled (the remainder against a boot): NODE_DATA (pg_data_t, about 11 KiB), the "
                 "unflattened device tree, the percpu allocator's maps, memblock's own arrays, saved_command_line.")
    return image_bytes, other, freed


def compute_bootmem(inp: BootMemInputs) -> BootMemReport:
    """The boot memory table for one machine (pure)."""
    page = inp.page_size
    shift = page.bit_length() - 1
    ranges = present_ranges(inp.memory_bytes, inp.machine, page)
    present = sum(e - s for s, e in ranges)
    top = max(e for _, e in ranges)
    syms = inp.symbols
    cfg = inp.config
    rows: list[BootMemRow] = []
    notes: list[str] = []
    x86 = inp.arch == "x86_64"
    arm = inp.arch == "arm64"
    arm_other: int | None = 0
    arm_freed = 0
    no_syms = inp.symbols_reason or "the image has no symbol table"

    figures = compute_image_figures(syms)
    fig_out: dict[str, int | None] = dict.fromkeys(("kernel_code", "rwdata", "rodata", "init", "bss"))
    if figures is not None:
        fig_out.update(figures)
    if present < 2 * MiB:
        raise ValueError(f"memory {inp.memory_bytes} B leaves {present} B of RAM present; too small to boot")

    # -- the kernel image -------------------------------------------------------------------------
    image_bytes: int | None = None
    if x86 and "_text" in syms and syms.get("__end_of_kernel_reserve", -1) < syms["_text"]:
        rows.append(BootMemRow("kernel image", None, "__end_of_kernel_reserve - _text", "",
                               "arch/x86/kernel/setup.c:779-780", "reserved",
                               "inconclusive: __end_of_kernel_reserve is missing or below _text"))
    elif x86 and "_text" in syms and "__end_of_kernel_reserve" in syms:
        image_bytes = syms["__end_of_kernel_reserve"] - syms["_text"]
        rows.append(BootMemRow(
            "kernel image", image_bytes, "__end_of_kernel_reserve - _text",
            f"{syms['__end_of_kernel_reserve']:#x} - {syms['_text']:#x}", "arch/x86/kernel/setup.c:779-780",
            "reserved", "memblock_reserve of the whole image: text, rodata, data, init and bss with the 2 MiB "
            "alignment gaps (the gaps and init are freed later)"))
    elif x86:
        rows.append(BootMemRow("kernel image", None, "__end_of_kernel_reserve - _text", "", "arch/x86/kernel/setup.c:779-780",
                               "reserved", f"inconclusive: {no_syms}"))
    elif arm:
        image_bytes, arm_other, arm_freed = arm64_rows(inp, ranges, rows, notes)
    else:
        rows.append(BootMemRow("kernel image", None, "_end - _text (arch-specific)", "", "-", "reserved",
                               f"inconclusive: the image reservation is modelled for x86_64 only, not {inp.arch}"))
    if image_bytes is not None and image_bytes > present:
        raise ValueError(f"the kernel image ({image_bytes} B) is larger than the RAM present ({present} B)")

    # -- low memory --------------------------------------------------------------------------------
    low_bytes: int | None = None
    if x86:
        low_bytes = _overlap(ranges, 0, MiB)
        rows.append(BootMemRow("first 1 MiB", low_bytes, "present RAM below 1 MiB",
                               f"{low_bytes // page} pages present below 0x100000",
                               "arch/x86/realmode/init.c:67", "reserved",
                               "memblock_reserve(0, SZ_1M): always reserved on x86"))

    # -- memmap --------------------------------------------------------------------------------
    page_struct = inp.struct_page_bytes
    memcg = _on(cfg, "MEMCG")
    # KMSAN adds two pointers (include/linux/mm_types.h:231-241 in 6.1): not in the checked table
    page_how = ""
    if page_struct is None and memcg is not None and not _on(cfg, "KMSAN"):
        page_struct, page_how = struct_page_bytes(inp.arch, inp.bits, cfg)
    sec = SECTION_SIZE_BITS.get(inp.arch)
    sparse = _on(cfg, "SPARSEMEM")
    memmap_bytes: int | None = None
    zone_memmap: dict[str, int] = {}
    memcg_text = "?" if memcg is None else "y" if memcg else "n"
    if page_struct is None:
        rows.append(BootMemRow("memmap (struct page array)", None, "sections x PAGES_PER_SECTION x sizeof(struct page)",
                               "", "mm/sparse.c:418-428", "reserved",
                               f"inconclusive: sizeof(struct page) unknown for {inp.arch} "
                               f"{'.'.join(map(str, inp.kernel_version))} (MEMCG={memcg_text})"))
    elif sec is None or not sparse:
        rows.append(BootMemRow("memmap (struct page array)", None, "sections x PAGES_PER_SECTION x sizeof(struct page)",
                               "", "mm/sparse.c:418-428", "reserved",
                               f"inconclusive: only SPARSEMEM is modelled and SECTION_SIZE_BITS is known for "
                               f"{', '.join(sorted(SECTION_SIZE_BITS))}"))
    else:
        bits, bits_src = sec
        sec_bytes = 1 << bits
        vmemmap = bool(_on(cfg, "SPARSEMEM_VMEMMAP"))
        # section_map_size(): ALIGN(.., PMD_SIZE) with VMEMMAP, else PAGE_ALIGN (mm/sparse.c:418-427)
        align = page * (page // 8) if vmemmap else page
        per_section = -(-(sec_bytes // page) * page_struct // align) * align
        idx: set[int] = set()
        for s, e in ranges:
            idx.update(range(s >> bits, ((e - 1) >> bits) + 1))
        memmap_bytes = len(idx) * per_section
        vm = "vmemmap (ALIGN(.., PMD_SIZE))" if vmemmap else "sparse (PAGE_ALIGN)"
        rows.append(BootMemRow(
            "memmap (struct page array)", memmap_bytes,
            "present sections x PAGES_PER_SECTION x sizeof(struct page)",
            f"{len(idx)} sections of 2^{bits} B ({bits_src}) x {sec_bytes // page} pages x {page_struct} B"
            + (f" ({page_how})" if page_how else ""),
            "mm/sparse.c:418-428,520, mm/sparse-vmemmap.c:376", "reserved",
            f"{vm}: a section's memmap is allocated whole even when the section is partly present"))

    # zones: present pages and the memmap estimate free_area_init_core subtracts (nr_kernel_pages)
    nr_kernel = 0
    zone_present: list[tuple[str, int, int, int]] = []
    if (x86 or arm) and page_struct is not None:
        first = min(s for s, _ in ranges)
        for zname, zlo, zhi in (x86_64_zones(top) if x86 else arm64_zones(top)):
            lo, hi = max(zlo, first), min(zhi, top)
            if hi <= lo:
                continue
            pres = _overlap(ranges, lo, hi) // page
            if pres == 0:
                continue
            first_z = min(max(s, lo) for s, e in ranges if e > lo and s < hi)
            last_z = max(min(e, hi) for s, e in ranges if e > lo and s < hi)
            spanned = (last_z - first_z) // page
            mm_pages = spanned if not (spanned > pres + (pres >> 4)) else pres
            mm = -(-mm_pages * page_struct // page)
            zone_memmap[zname] = mm
            nr_kernel += pres - mm
            zone_present.append((zname, first_z, last_z, pres))
    # -- percpu ----------------------------------------------------------------------------------
    percpu_bytes: int | None = None
    if inp.percpu_size_sum_bytes is not None:
        percpu_bytes = inp.possible_cpus * inp.percpu_size_sum_bytes
        rows.append(BootMemRow("percpu first chunk", percpu_bytes, "possible CPUs x size_sum",
                               f"{inp.possible_cpus} x {inp.percpu_size_sum_bytes} ({inp.percpu_line or 'percpu model'})",
                               "mm/percpu.c:3086,3151", "reserved",
                               "pcpu_embed_first_chunk frees each unit's tail past size_sum"))
    else:
        rows.append(BootMemRow("percpu first chunk", None, "possible CPUs x size_sum", "", "mm/percpu.c:3086,3151",
                               "reserved", "inconclusive: no measured static per-cpu size (no image with .data..percpu, "
                               "no --static-size; an estimate is not used)"))

    # -- the printk buffer grown for many possible CPUs -------------------------------------------
    logbuf: int | None = 0
    if inp.possible_cpus > 1:
        shift_s = cfg.get("LOG_BUF_SHIFT") if cfg else None
        cpu_s = cfg.get("LOG_CPU_MAX_BUF_SHIFT") if cfg else None
        if shift_s is None or cpu_s is None or not shift_s.isdigit() or not cpu_s.isdigit() or inp.bits != 64:
            logbuf = None
            rows.append(BootMemRow("printk buffer for possible CPUs", None,
                                   "roundup_pow_of_two((possible - 1) x 2^LOG_CPU_MAX_BUF_SHIFT + 2^LOG_BUF_SHIFT)",
                                   "", "kernel/printk/printk.c:1009-1034", "reserved",
                                   "inconclusive: LOG_BUF_SHIFT/LOG_CPU_MAX_BUF_SHIFT unknown, or a 32-bit layout"))
        else:
            base_len, cpu_len = 1 << min(int(shift_s), 31), 1 << min(int(cpu_s), 31)
            extra = (inp.possible_cpus - 1) * cpu_len
            if extra > base_len // 2:
                new_len = min(extra + base_len, 1 << 31)
                new_len = 1 << (new_len - 1).bit_length()
                descs = new_len >> 5  # PRB_AVGBITS
                logbuf = new_len + descs * 24 + descs * 88
                rows.append(BootMemRow(
                    "printk buffer for possible CPUs", logbuf,
                    "len + (len >> PRB_AVGBITS) x (sizeof(struct prb_desc) + sizeof(struct printk_info)), "
                    "len = roundup_pow_of_two((possible - 1) x 2^LOG_CPU_MAX_BUF_SHIFT + 2^LOG_BUF_SHIFT)",
                    f"len = {new_len}, {descs} descriptors x (24 + 88) B",
                    "kernel/printk/printk.c:977-988,1009-1034,1103-1125, kernel/printk/printk_ringbuffer.h:15-61",
                    "reserved", "setup_log_buf: memblock, before mem_init; the static buffer stays in BSS"))

    # -- large system hashes -----------------------------------------------------------------
    hash_rows: list[tuple[str, int]] = []
    if nr_kernel:
        for name, scale, src in (("Dentry cache", 13, "fs/dcache.c:3297-3305"), ("Inode-cache", 14, "fs/inode.c:2311-2319")):
            n = compute_hash_entries(nr_kernel, nr_kernel, 8, scale, shift)
            hash_rows.append((name, n * 8))
            rows.append(BootMemRow(
                f"{name} hash table", n * 8,
                f"2^ilog2(roundup_pow_of_two(roundup(nr_kernel_pages, 1 MiB) >> ({scale} - PAGE_SHIFT))) x 8 B",
                f"nr_kernel_pages = {nr_kernel} (present minus each zone's memmap estimate), {n} entries",
                f"mm/page_alloc.c:9060-9131, {src}, mm/page_alloc.c:7651-7670,7829", "reserved",
                "HASH_EARLY: memblock, before mem_init; the boot prints it"))
        for name, scale, bucket, src in (("Mount-cache", 19, 8, "fs/namespace.c:4524-4529"),):
            n = compute_hash_entries(nr_kernel, nr_kernel, bucket, scale, shift)
            rows.append(BootMemRow(f"{name} hash table", n * bucket, f"from nr_kernel_pages at scale {scale}, {bucket} B buckets",
                                   f"{n} entries", f"mm/page_alloc.c:9060-9131, {src}", "buddy",
                                   "allocated after mem_init: not in reserved (lowers MemFree, not MemTotal)"))
    else:
        rows.append(BootMemRow("Dentry/Inode hash tables", None, "alloc_large_system_hash", "",
                               "mm/page_alloc.c:9060-9131", "reserved",
                               "inconclusive: the zone layout is modelled for x86_64 and arm64 only"))

    # -- swiotlb -----------------------------------------------------------------------------------
    swiotlb_bytes = 0
    if x86 or arm:
        on = _on(cfg, "SWIOTLB")
        sw_src = "arch/x86/kernel/pci-dma.c:47" if x86 else "arch/arm64/mm/init.c:454"
        if on is None:
            rows.append(BootMemRow("swiotlb", None, "64 MiB + slots", "", sw_src,
                                   "reserved", "inconclusive: no config"))
            swiotlb_bytes = -1
        elif on and top > 4 * GiB:
            nslabs = (64 * MiB) >> 11
            slots = -(-nslabs * 24 // page) * page
            swiotlb_bytes = 64 * MiB + slots
            rows.append(BootMemRow("swiotlb", swiotlb_bytes,
                                   "IO_TLB_DEFAULT_SIZE + PAGE_ALIGN(nslabs x sizeof(struct io_tlb_slot))",
                                   f"64 MiB + PAGE_ALIGN({nslabs} x 24 B); RAM reaches {top:#x} > 4 GiB",
                                   f"{sw_src}, include/linux/swiotlb.h:35, kernel/dma/swiotlb.c:66-70,396-397",
                                   "reserved", "only when RAM is above 4 GiB (x86: max_possible_pfn > MAX_DMA32_PFN; "
                                   "arm64: max_pfn above arm64_dma_phys_limit)"))
        else:
            rows.append(BootMemRow("swiotlb", 0, "not set up", "SWIOTLB=n" if not on else f"RAM ends at {top:#x} <= 4 GiB",
                                   sw_src, "reserved"))

    # -- crash kernel, CMA -------------------------------------------------------------------------
    crash = inp.crashkernel_bytes
    crash_src = "arch/x86/kernel/setup.c:479,549" if x86 else "arch/arm64/mm/init.c:126-192"
    if crash:
        if _on(cfg, "CRASH_CORE") is False or _on(cfg, "KEXEC_CORE") is False:
            rows.append(BootMemRow("crashkernel", 0, "not reserved", "CRASH_CORE/KEXEC_CORE=n",
                                   crash_src, "reserved"))
            crash = 0
        else:
            rows.append(BootMemRow("crashkernel", crash, "crashkernel=SIZE", f"{crash} B", crash_src,
                                   "reserved", "memblock_phys_alloc_range, aligned to CRASH_ALIGN"))
    if _on(cfg, "CMA") and cfg is not None:
        mb = cfg.get("CMA_SIZE_MBYTES", "")
        if _on(cfg, "CMA_SIZE_SEL_MBYTES") and mb.isdigit() and int(mb) * MiB < present:
            rows.append(BootMemRow(
                "CMA", int(mb) * MiB, "CMA_SIZE_MBYTES x 1 MiB (CMA_SIZE_SEL_MBYTES)", f"{mb} MiB",
                "kernel/dma/contiguous.c:54-57,72,182-197, mm/cma.c:209, mm/page_alloc.c:8552-8553", "cma",
                "dma_contiguous_reserve: memblock-reserved, counted in totalcma_pages, so the Memory: line prints it as "
                "cma-reserved and leaves it out of reserved (physpages - totalram - totalcma); released to the buddy "
                "allocator at core_initcall (mm/cma.c:96-150), so it counts in MemTotal. No cma= on the command line"))
        else:
            rows.append(BootMemRow("CMA", None, "CMA_SIZE_MBYTES", "", "kernel/dma/contiguous.c:54-57", "cma",
                                   "inconclusive: CMA is configured with a size selection other than CMA_SIZE_SEL_MBYTES, "
                                   "or one as large as the RAM; its area is printed as cma-reserved"))

    initrd = 0
    if inp.initrd_bytes:
        initrd = -(-inp.initrd_bytes // page) * page
        rows.append(BootMemRow("initrd", initrd, "PAGE_ALIGN(initrd size)", f"{inp.initrd_bytes} B",
                               "arch/x86/kernel/setup.c:290-299" if x86 else "init/initramfs.c:741", "reserved",
                               "memblock_reserve of the ramdisk; freed once unpacked (init/initramfs.c:741)"))

    # -- direct-map page tables -------------------------------------------------------------------
    if x86:
        pmd_pages = -(-top // GiB)
        pt = (pmd_pages + 1) * page
        rows.append(BootMemRow("direct-map page tables", pt, "one PMD page per GiB mapped (2 MiB pages) + one PUD page",
                               f"{pmd_pages} + 1 pages (no 1 GiB pages: a qemu64 CPU has no pdpe1gb)",
                               "arch/x86/mm/init.c:188-189, arch/x86/mm/init_64.c:526,610", "brk",
                               "the first ones come from the brk area after _end; shown, not added to reserved"))

    # -- later frees (up to /init) -------------------------------------------------------------
    freed = 0
    if x86 and figures is not None:
        def pfn_up(a: int) -> int:
            return -(-a // page) * page

        frees = [("initmem", syms["__init_end"] - syms["__init_begin"], "__init_end - __init_begin",
                  "arch/x86/mm/init.c:989-990")]
        if "__smp_locks" in syms and "__smp_locks_end" in syms:
            frees.append(("SMP alternatives", syms["__smp_locks_end"] - syms["__smp_locks"],
                          "__smp_locks_end - __smp_locks", "arch/x86/kernel/alternative.c:1224-1227"))
        if _on(cfg, "AMD_MEM_ENCRYPT") and "__start_bss_decrypted_unused" in syms:
            frees.append(("unused decrypted", syms["__end_bss_decrypted"] - syms["__start_bss_decrypted_unused"],
                          "__end_bss_decrypted - __start_bss_decrypted_unused", "arch/x86/mm/mem_encrypt_amd.c:542-557"))
        if "__start_rodata" in syms:
            frees.append(("text/rodata gap", syms["__start_rodata"] - pfn_up(syms["_etext"]),
                          "__start_rodata - PFN_ALIGN(_etext)",
                          "arch/x86/mm/init_64.c:1442-1443"))
            frees.append(("rodata/data gap", syms["_sdata"] - pfn_up(syms["__end_rodata"]), "_sdata - PFN_ALIGN(__end_rodata)",
                          "arch/x86/mm/init_64.c:1444-1445"))
        if initrd:
            frees.append(("initrd", initrd, "PAGE_ALIGN(initrd size)", "init/initramfs.c:741"))
        for name, b, formula, src in frees:
            b = max(0, b)
            freed += b
            rows.append(BootMemRow(f"freed: {name}", b, formula, f"{b} B", src, "freed",
                                   "given back to the page allocator before /init runs (counts in MemTotal)"))

    # -- totals -------------------------------------------------------------------------------------
    parts = [image_bytes, low_bytes if x86 else 0, arm_other if arm else 0, memmap_bytes, percpu_bytes,
             sum(b for _, b in hash_rows) if hash_rows else None,
             None if swiotlb_bytes < 0 else swiotlb_bytes, crash, initrd, logbuf]
    reserved = None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
    available = available_min = memtotal = None
    if reserved is not None:
        if reserved > present:
            raise ValueError(f"what the kernel reserves ({reserved} B) exceeds the RAM present ({present} B)")
        freed += arm_freed
        memtotal = present - reserved + freed if figures is not None else None
        deferred = _on(cfg, "DEFERRED_STRUCT_PAGE_INIT")
        available = available_min = present - reserved
        if deferred and zone_present and sec is not None:
            # defer_init(): the node's last zone initialises one section's worth of pages
            # (up to the next section boundary); the rest waits for page_alloc_init_late.
            lname, lfirst, llast, _ = zone_present[-1]
            sec_bytes = 1 << sec[0]
            # the first section-aligned pfn after PAGES_PER_SECTION pages of the zone
            boundary = -(-(lfirst + sec_bytes) // sec_bytes) * sec_bytes
            if boundary < llast:
                init_bytes = _overlap(ranges, 0, boundary)
                low_part = (low_bytes or 0) + (swiotlb_bytes if swiotlb_bytes > 0 else 0)
                available = init_bytes - low_part
                available_min = available - (image_bytes or 0)
                if arm:  # the Image is loaded at the start of RAM (text_offset 0): inside the initialised part
                    # CMA sits top-down below the DMA limit (dma_contiguous_reserve(arm64_dma_phys_limit),
                    # arch/arm64/mm/init.c:435): inside the initialised part once ZONE_NORMAL is the last zone
                    cma_row = next((r for r in rows if r.name == "CMA" and r.bytes_), None)
                    dma_top = min(top, 4 * GiB)
                    cma_low = _overlap([(dma_top - cma_row.bytes_, dma_top)], 0, boundary) if cma_row and \
                        cma_row.bytes_ else 0
                    available = available_min = available_min - cma_low
                    notes.append(
                        f"DEFERRED_STRUCT_PAGE_INIT: only RAM below {boundary:#x} is initialised at mem_init "
                        f"(zone {lname}'s first section, mm/page_alloc.c:488-520); available = {init_bytes} B "
                        f"initialised - the kernel image reservation - swiotlb - the CMA area below it ({cma_low} B) "
                        f"= {available} B (the Image is loaded at the start of RAM; the DTB, memmap, percpu and "
                        "hashes are assumed to lie in the deferred part, above it).")
                else:
                    notes.append(
                        f"DEFERRED_STRUCT_PAGE_INIT: only RAM below {boundary:#x} is initialised at mem_init "
                        f"(zone {lname}'s first section, mm/page_alloc.c:488-520); available = {init_bytes} B "
                        f"initialised - low 1 MiB - swiotlb = {available} B when KASLR puts the kernel image above "
                        f"it, {available_min} B when below. Allocations made top-down (memmap, percpu, hashes) are "
                        "assumed to lie in the deferred part.")
    if not arm:
        notes.append("Not modelled (the remainder against a boot): NODE_DATA (pg_data_t), mem_section roots and "
                     "usemaps, memblock's own arrays, the brk area, ACPI and e820 table copies, early IRQ and "
                     "trampoline allocations.")
    rows.sort(key=lambda r: r.counted == "freed")  # stable: the later frees last
    return BootMemReport(inp, present, fig_out, tuple(rows), reserved, available, available_min, memtotal, tuple(notes))


NEEDED_SYMBOLS = (*FIGURE_SYMBOLS, "_text", "_end", "__end_of_kernel_reserve", "__smp_locks", "__smp_locks_end",
                  "__start_bss_decrypted_unused", "__end_bss_decrypted")


def _estimated_percpu(fp: FootprintInputs) -> bool:
    """An estimated (or assumed 0) static per-cpu size is no measurement: the row stays inconclusive."""
    return any(f.name == "percpu_static_bytes" and f.provenance is Provenance.DEFAULT for f in fp.facts)


def build_bootmem_inputs(fp: FootprintInputs, image: ElfImage | None, config: dict[str, str] | None, *,
                         memory_bytes: int, machine: Machine, crashkernel_bytes: int,
                         initrd_bytes: int = 0, raw_symbols: dict[str, int] | None = None,
                         raw_reason: str | None = None, dtb_bytes: int | None = None) -> BootMemInputs:
    """The boot memory inputs from the footprint inputs (arch, page size, possible CPUs, the percpu
    model), the image's linker symbols and the config values."""
    from cpualloc_cli.analysis.footprint import compute_percpu_design

    syms: dict[str, int] = {}
    reason = None
    if image is None and raw_symbols is not None:
        syms = dict(raw_symbols)
        reason = raw_reason
    elif image is None:
        reason = "no image given"
    elif image.symbols is None:
        reason = (f"{image.path} has no symbol table (a vmlinuz keeps none): give the vmlinux of the same "
                  "build (a distribution's debug vmlinux)")
    else:
        for name in NEEDED_SYMBOLS:
            v = image.symbols.find(name)
            if v is not None:
                syms[name] = v
    size_sum = line = None
    if fp.percpu_static_bytes is not None and not _estimated_percpu(fp):
        ai = compute_percpu_design(fp, explain=False).percpu
        if ai is not None:
            size_sum, line = ai.size_sum, ai.embedded_line()
    return BootMemInputs(fp.arch, fp.kernel_version, fp.bits, fp.page_size, memory_bytes, machine, fp.possible_cpus,
                         syms, reason, config, size_sum, line, crashkernel_bytes, initrd_bytes, dtb_bytes=dtb_bytes)


def reserved_sweep(boot: BootMemInputs, fp: FootprintInputs, symbol: str, values: Sequence[int],
                   fixed_possible: int | None = None,
                   base_bss_at: Callable[[int], int] | None = None) -> tuple[ReservedPoint, ...]:
    """What the boot reserves at each value of NR_CPUS (or of the possible CPUs, symbol
    "possible"), on the machine `boot` describes (pure).

    Per value: the percpu first chunk is possible CPUs x size_sum (the percpu model at that value,
    mm/percpu.c:3086,3151) and the printk buffer grows with the possible CPUs
    (kernel/printk/printk.c:1009-1034). With `base_bss_at(N)` (the scale model, --scale-from) the
    static NR_CPUS arrays move the BSS end and so the kernel image reservation
    (__end_of_kernel_reserve lies after __bss_stop, arch/x86/kernel/vmlinux.lds.S:378-394) by
    base_bss_at(N) - base_bss_at(image's NR_CPUS); without it the image is the one given
    (`static_fixed` True: its static arrays are those of its own NR_CPUS).
    """
    from cpualloc_cli.analysis.footprint import compute_percpu_design
    from cpualloc_cli.analysis.sweep import inputs_for

    if symbol not in ("NR_CPUS", "possible"):
        raise ValueError(f"cannot sweep {symbol} for memory_reserved (NR_CPUS or possible)")
    ref_bss = base_bss_at(fp.nr_cpus) if base_bss_at is not None and symbol == "NR_CPUS" else None
    out: list[ReservedPoint] = []
    for v in values:
        if symbol == "possible":
            if v < 1 or v > fp.nr_cpus:
                raise ValueError(f"{v} possible CPUs is outside 1..NR_CPUS={fp.nr_cpus}")
            f = dataclasses.replace(fp, possible_cpus=v)
        else:
            f = inputs_for(fp, "NR_CPUS", v, fixed_possible)
        size_sum = None
        if f.percpu_static_bytes is not None and not _estimated_percpu(f):
            ai = compute_percpu_design(f, explain=False).percpu
            size_sum = ai.size_sum if ai is not None else None
        syms = dict(boot.symbols)
        delta = 0
        if ref_bss is not None and base_bss_at is not None:
            delta = base_bss_at(v) - ref_bss
            for name in ("__bss_stop", "__end_of_kernel_reserve", "_end"):
                if name in syms:
                    syms[name] += delta
        b = dataclasses.replace(boot, possible_cpus=f.possible_cpus, percpu_size_sum_bytes=size_sum, symbols=syms)
        rep = compute_bootmem(b)
        rows = {r.name: r.bytes_ for r in rep.rows}
        out.append(ReservedPoint(v, f.nr_cpus, f.possible_cpus, rep.reserved_bytes, rows.get("percpu first chunk"),
                                 rows.get("kernel image"), delta, ref_bss is None and symbol == "NR_CPUS",
                                 rep.available_bytes))
    return tuple(out)

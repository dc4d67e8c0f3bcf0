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
STRUCT_PAGE_BYTES = {("x86_64", True): 64, ("x86_64", False): 64}  # (arch, MEMCG) -> bytes

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


def present_ranges(memory_bytes: int, machine: Machine, page_size: int) -> list[tuple[int, int]]:
    """Physical [start, end) byte ranges of usable RAM."""
    if memory_bytes <= 0 or memory_bytes > MAX_MEMORY_BYTES:
        raise ValueError(f"memory {memory_bytes} B is outside 1 B .. 4 PiB")
    if machine is Machine.FLAT:
        return [(0, memory_bytes // page_size * page_size)]
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
    if page_struct is None and memcg is not None and not _on(cfg, "KMSAN"):
        page_struct = STRUCT_PAGE_BYTES.get((inp.arch, memcg))
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
        align = 2 * MiB if vmemmap and inp.arch == "x86_64" else page  # PMD_SIZE : PAGE_SIZE
        per_section = -(-(sec_bytes // page) * page_struct // align) * align
        idx: set[int] = set()
        for s, e in ranges:
            idx.update(range(s >> bits, ((e - 1) >> bits) + 1))
        memmap_bytes = len(idx) * per_section
        vm = "vmemmap (ALIGN(.., PMD_SIZE))" if vmemmap else "sparse (PAGE_ALIGN)"
        rows.append(BootMemRow(
            "memmap (struct page array)", memmap_bytes,
            "present sections x PAGES_PER_SECTION x sizeof(struct page)",
            f"{len(idx)} sections of 2^{bits} B ({bits_src}) x {sec_bytes // page} pages x {page_struct} B",
            "mm/sparse.c:418-428, mm/sparse-vmemmap.c:376", "reserved",
            f"{vm}: a section's memmap is allocated whole even when the section is partly present"))

    # zones: present pages and the memmap estimate free_area_init_core subtracts (nr_kernel_pages)
    nr_kernel = 0
    zone_present: list[tuple[str, int, int, int]] = []
    if x86 and page_struct is not None:
        first = min(s for s, _ in ranges)
        for zname, zlo, zhi in x86_64_zones(top):
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
                               "inconclusive: the zone layout is modelled for x86_64 only"))

    # -- swiotlb -----------------------------------------------------------------------------------
    swiotlb_bytes = 0
    if x86:
        on = _on(cfg, "SWIOTLB")
        if on is None:
            rows.append(BootMemRow("swiotlb", None, "64 MiB + slots", "", "arch/x86/kernel/pci-dma.c:47",
                                   "reserved", "inconclusive: no config"))
            swiotlb_bytes = -1
        elif on and top > 4 * GiB:
            nslabs = (64 * MiB) >> 11
            slots = -(-nslabs * 24 // page) * page
            swiotlb_bytes = 64 * MiB + slots
            rows.append(BootMemRow("swiotlb", swiotlb_bytes,
                                   "IO_TLB_DEFAULT_SIZE + PAGE_ALIGN(nslabs x sizeof(struct io_tlb_slot))",
                                   f"64 MiB + PAGE_ALIGN({nslabs} x 24 B); RAM reaches {top:#x} > 4 GiB",
                                   "arch/x86/kernel/pci-dma.c:47, include/linux/swiotlb.h:35, kernel/dma/swiotlb.c:66-70,396-397",
                                   "reserved", "only when RAM is above 4 GiB (max_possible_pfn > MAX_DMA32_PFN)"))
        else:
            rows.append(BootMemRow("swiotlb", 0, "not set up", "SWIOTLB=n" if not on else f"RAM ends at {top:#x} <= 4 GiB",
                                   "arch/x86/kernel/pci-dma.c:47", "reserved"))

    # -- crash kernel, CMA -------------------------------------------------------------------------
    crash = inp.crashkernel_bytes
    if crash:
        if _on(cfg, "CRASH_CORE") is False or _on(cfg, "KEXEC_CORE") is False:
            rows.append(BootMemRow("crashkernel", 0, "not reserved", "CRASH_CORE/KEXEC_CORE=n",
                                   "arch/x86/kernel/setup.c:479,549", "reserved"))
            crash = 0
        else:
            rows.append(BootMemRow("crashkernel", crash, "crashkernel=SIZE", f"{crash} B", "arch/x86/kernel/setup.c:479,549",
                                   "reserved", "memblock_phys_alloc_range, aligned to 16 MiB (CRASH_ALIGN)"))
    if _on(cfg, "CMA"):
        rows.append(BootMemRow("CMA", None, "CMA_SIZE_MBYTES", "", "kernel/dma/contiguous.c:54-57", "cma",
                               "inconclusive: CMA is configured; its area is printed as cma-reserved and not modelled"))

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
    parts = [image_bytes, low_bytes if x86 else 0, memmap_bytes, percpu_bytes,
             sum(b for _, b in hash_rows) if hash_rows else None,
             None if swiotlb_bytes < 0 else swiotlb_bytes, crash, initrd, logbuf]
    reserved = None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
    available = available_min = memtotal = None
    if reserved is not None:
        if reserved > present:
            raise ValueError(f"what the kernel reserves ({reserved} B) exceeds the RAM present ({present} B)")
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
                notes.append(
                    f"DEFERRED_STRUCT_PAGE_INIT: only RAM below {boundary:#x} is initialised at mem_init "
                    f"(zone {lname}'s first section, mm/page_alloc.c:488-520); available = {init_bytes} B "
                    f"initialised - low 1 MiB - swiotlb = {available} B when KASLR puts the kernel image above it, "
                    f"{available_min} B when below. Allocations made top-down (memmap, percpu, hashes) are assumed "
                    "to lie in the deferred part.")
    notes.append("Not modelled (the remainder against a boot): NODE_DATA (pg_data_t), mem_section roots and "
                 "usemaps, memblock's own arrays, the brk area, ACPI and e820 table copies, early IRQ and "
                 "trampoline allocations.")
    return BootMemReport(inp, present, fig_out, tuple(rows), reserved, available, available_min, memtotal, tuple(notes))


NEEDED_SYMBOLS = (*FIGURE_SYMBOLS, "_text", "_end", "__end_of_kernel_reserve", "__smp_locks", "__smp_locks_end",
                  "__start_bss_decrypted_unused", "__end_bss_decrypted")


def _estimated_percpu(fp: FootprintInputs) -> bool:
    """An estimated (or assumed 0) static per-cpu size is no measurement: the row stays inconclusive."""
    return any(f.name == "percpu_static_bytes" and f.provenance is Provenance.DEFAULT for f in fp.facts)


def build_bootmem_inputs(fp: FootprintInputs, image: ElfImage | None, config: dict[str, str] | None, *,
                         memory_bytes: int, machine: Machine, crashkernel_bytes: int,
                         initrd_bytes: int = 0) -> BootMemInputs:
    """The boot memory inputs from the footprint inputs (arch, page size, possible CPUs, the percpu
    model), the image's linker symbols and the config values."""
    from cpualloc_cli.analysis.footprint import compute_percpu_design

    syms: dict[str, int] = {}
    reason = None
    if image is None:
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
                         syms, reason, config, size_sum, line, crashkernel_bytes, initrd_bytes)


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

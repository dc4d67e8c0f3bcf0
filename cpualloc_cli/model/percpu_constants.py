"""Per-cpu constants of each design, per arch and kernel version, each with its source.

Modern values were read in Debian's linux-source-6.1 (6.1.192) and linux-source-6.12
(6.12.117); `file:line` refers to those trees. The 2007 cpu_alloc values come from the LKML
thread (../shared/reference/lkml-2007-11-cpu-alloc-thread.txt); the v1 patch's per-arch
orders are not in the thread, so they are reconstructions and are labelled as such.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Constant:
    name: str
    value: int
    versions: str  # kernel versions it holds for, e.g. ">= 2.6.30, < 6.6"
    source: str  # file:line, or the thread message
    reconstructed: bool = False  # True: not stated in a source, inferred (and said so)


KiB = 1 << 10
MiB = 1 << 20

# --- include/linux/percpu.h -------------------------------------------------------------
PERCPU_MODULE_RESERVE = Constant(
    "PERCPU_MODULE_RESERVE", 8 << 10, "all with CONFIG_MODULES (0 without)",
    "include/linux/percpu.h:16-20 (6.1.192); percpu.h:17-25 (6.12.117)")
PERCPU_MODULE_RESERVE_ALLOC_PROFILING = Constant(
    "PERCPU_MODULE_RESERVE", 8 << 13, ">= 6.10 with CONFIG_MODULES and CONFIG_MEM_ALLOC_PROFILING",
    "include/linux/percpu.h:18-19 (6.12.117): (8 << 13); introduced with allocation profiling (6.10), verified in 6.12 only")
PCPU_MIN_UNIT_SIZE = Constant(
    "PCPU_MIN_UNIT_SIZE", 32 << 10, "all (PFN_ALIGN(32 << 10); 32 KiB is page-aligned for pages <= 32 KiB)",
    "include/linux/percpu.h:23 (6.1.192)")
PERCPU_DYNAMIC_EARLY_SIZE_61 = Constant(
    "PERCPU_DYNAMIC_EARLY_SIZE", 12 << 10, "< 6.6 (verified in 6.1.192)",
    "include/linux/percpu.h:46 (6.1.192)")
PERCPU_DYNAMIC_RESERVE_64_61 = Constant(
    "PERCPU_DYNAMIC_RESERVE", 28 << 10, "< 6.6, BITS_PER_LONG > 32 (verified in 6.1.192)",
    "include/linux/percpu.h:59-60 (6.1.192)")
PERCPU_DYNAMIC_RESERVE_32_61 = Constant(
    "PERCPU_DYNAMIC_RESERVE", 20 << 10, "< 6.6, 32-bit (verified in 6.1.192)",
    "include/linux/percpu.h:61-62 (6.1.192)")
# 6.12.117 percpu.h:43-77: EARLY = 20 << SHIFT, RESERVE = 28/20 << SHIFT, SHIFT = 10, or 12 with
# RANDOM_KMALLOC_CACHES (13 when also LOCKDEP and pages > 4 KiB). RANDOM_KMALLOC_CACHES is 6.6+;
# the shifted form is applied from 6.6 on (verified in 6.12.117 only).
DYNAMIC_SIZE_SHIFT = Constant(
    "PERCPU_DYNAMIC_SIZE_SHIFT", 10, ">= 6.6 without RANDOM_KMALLOC_CACHES",
    "include/linux/percpu.h:49-50 (6.12.117)")
DYNAMIC_SIZE_SHIFT_RKC = Constant(
    "PERCPU_DYNAMIC_SIZE_SHIFT", 12, ">= 6.6 with RANDOM_KMALLOC_CACHES (x4)",
    "include/linux/percpu.h:46-47 (6.12.117)")
DYNAMIC_SIZE_SHIFT_RKC_LOCKDEP = Constant(
    "PERCPU_DYNAMIC_SIZE_SHIFT", 13, ">= 6.6 with RANDOM_KMALLOC_CACHES, LOCKDEP and pages > 4 KiB",
    "include/linux/percpu.h:44-45 (6.12.117)")
EARLY_BASE_66 = Constant("PERCPU_DYNAMIC_EARLY_SIZE", 20, ">= 6.6: 20 << SHIFT",
                         "include/linux/percpu.h:60 (6.12.117)")
RESERVE_BASE_64_66 = Constant("PERCPU_DYNAMIC_RESERVE", 28, ">= 6.6, 64-bit: 28 << SHIFT",
                              "include/linux/percpu.h:73-74 (6.12.117)")
RESERVE_BASE_32_66 = Constant("PERCPU_DYNAMIC_RESERVE", 20, ">= 6.6, 32-bit: 20 << SHIFT",
                              "include/linux/percpu.h:75-76 (6.12.117)")


@dataclass(frozen=True, slots=True)
class PercpuArch:
    """How an arch calls pcpu_embed_first_chunk (reserved, dynamic and atom size)."""

    arch: str
    atom: str  # "PMD_SIZE" / "4 MiB" / "PAGE_SIZE"
    atom_bytes: int | None  # None: PAGE_SIZE of the config
    reserved: str  # "PERCPU_MODULE_RESERVE" or "0"
    dyn: str  # "PERCPU_DYNAMIC_RESERVE" or "PERCPU_MODULE_RESERVE + PERCPU_DYNAMIC_RESERVE - reserved"
    source: str


PERCPU_ARCHES: dict[str, PercpuArch] = {
    a.arch: a
    for a in (
        PercpuArch("x86_64", "PMD_SIZE", 2 * MiB, "PERCPU_MODULE_RESERVE",
                   "PERCPU_MODULE_RESERVE + PERCPU_DYNAMIC_RESERVE - PERCPU_FIRST_CHUNK_RESERVE",
                   "arch/x86/kernel/setup_percpu.c:50-51 (reserve), :140-141 (dyn), :152 (atom = PMD_SIZE; "
                   "PMD_SHIFT 21, pgtable_64_types.h:93) (6.1.192)"),
        PercpuArch("i386", "PAGE_SIZE", None, "0",
                   "PERCPU_MODULE_RESERVE + PERCPU_DYNAMIC_RESERVE - PERCPU_FIRST_CHUNK_RESERVE",
                   "arch/x86/kernel/setup_percpu.c:52-53 (reserve 0 on X86_32), :140-141 (dyn), :154 (atom) (6.1.192)"),
        PercpuArch("sparc64", "4 MiB", 4 * MiB, "PERCPU_MODULE_RESERVE", "PERCPU_DYNAMIC_RESERVE",
                   "arch/sparc/kernel/smp_64.c:1529-1530 (6.1.192): pcpu_embed_first_chunk(PERCPU_MODULE_RESERVE, "
                   "PERCPU_DYNAMIC_RESERVE, 4 << 20, ...)"),
        PercpuArch("generic", "PAGE_SIZE", None, "PERCPU_MODULE_RESERVE", "PERCPU_DYNAMIC_RESERVE",
                   "mm/percpu.c:3393-3394 (generic setup_per_cpu_areas), drivers/base/arch_numa.c:180-181 "
                   "(arm64, riscv), arch/mips/mm/init.c:539-540 (6.1.192)"),
    )
}

# --- the 2007 cpu_alloc proposal ----------------------------------------------------------
CPU_ALLOC_UNIT_BYTES = Constant(
    "UNIT_SIZE", 4, "cpu_alloc v1 (2.6.24-rc, Nov 2007)",
    "thread: cpu_alloc.c 'units * UNIT_SIZE'; PRODUCT.md: allocation units were 4 bytes")
CPU_ALLOC_BSS_BYTES = Constant(
    "cpu_alloc.o bss", 44, "cpu_alloc v1, virtual configuration",
    "thread, Christoph Lameter, Nov 15 2007: `size mm/cpu_alloc.o` -> bss 44")
I386_VMALLOC_BYTES = Constant(
    "__VMALLOC_RESERVE", 128 << 20, "i386, all versions (default; vmalloc= changes it)",
    "arch/x86/mm/pgtable_32.c:21 (6.1.192): __VMALLOC_RESERVE = 128 << 20; thread (Dumazet): 'typical vmalloc area'")
X86_64_VMALLOC_BYTES = Constant(
    "VMALLOC_SIZE_TB_L4", 32 << 40, "x86_64, 4-level paging",
    "arch/x86/include/asm/pgtable_64_types.h:129,141 (6.1.192): VMALLOC_SIZE_TB_L4 32")
VMALLOC_AREAS: dict[str, Constant] = {"i386": I386_VMALLOC_BYTES, "x86_64": X86_64_VMALLOC_BYTES}


@dataclass(frozen=True, slots=True)
class CpuAreaArch:
    """Per-arch cpu_alloc v1 settings. CPU_AREA_ORDER is a reconstruction everywhere except where
    the thread's figures pin it (sparc64 order 4 from '8mb' at NR_CPUS=64; i386 order 6 from
    Dumazet's 256 KB; ia64 order 13 from the RFC)."""

    arch: str
    cpu_area_order: int
    alloc_order: int
    base: int | None  # CPU_AREA_BASE; None: not in the thread, not modelled
    default_design: str  # the 2.6.24-era design when the config does not choose
    source: str
    reconstructed: bool


# ia64 (include/asm-ia64/pgtable.h in the RFC above): RGN_BASE(RGN_GATE) = 5 << 61; with 16 KiB
# pages (PAGE_SHIFT 14) 3 << (4*14 - 11) = 3 << 45, i.e. 0xa000600000000000, the "cpu area" line of
# the RFC's RGN_GATE layout comment. The only CPU_AREA_BASE found in a source; other arches: None.
IA64_RGN_GATE_BASE = 5 << 61
IA64_CPU_AREA_BASE_16K = IA64_RGN_GATE_BASE + (3 << (4 * 14 - 11))

CPU_AREA_ARCHES: dict[str, CpuAreaArch] = {
    a.arch: a
    for a in (
        CpuAreaArch("sparc64", 4, 0, None, "static",
                    "thread (Miller): 'bloated up the kernel image size by 8mb' at NR_CPUS=64 -> 128 KiB per CPU "
                    "= 8 KiB << 4; static because the v1 patch had no sparc64 virtual configuration", False),
        CpuAreaArch("sparc32", 6, 0, None, "static",
                    "reconstruction: 256 KiB per CPU as on i386; static (Miller: nobody will do virt for sparc32)",
                    True),
        CpuAreaArch("i386", 6, 0, None, "static",
                    "thread (Dumazet): 'NR_CPUS*256KB' -> 4 KiB << 6; static is the v1 fallback default "
                    "(Lameter: 'this is just the fallback')", False),
        CpuAreaArch("x86_64", 6, 0, None, "static",
                    "reconstruction: 256 KiB per CPU as on i386; v1 default static", True),
        CpuAreaArch("ia64", 13, 0, IA64_CPU_AREA_BASE_16K, "virtual",
                    "ia64 RFC ([rfc 09/45] cpu alloc: IA64 support, LKML 2007-11-19, <20071120011333.850453474@sgi.com>): "
                    "CPU_AREA_VIRTUAL=y, CPU_AREA_ORDER=13, CPU_AREA_ALLOC_ORDER=0 (16 KiB pages, 128 MiB per CPU); "
                    "CPU_AREA_BASE = RGN_BASE(RGN_GATE) + (3UL << (4*PAGE_SHIFT - 11))", False),
    )
}
GENERIC_CPU_AREA = CpuAreaArch("generic", 6, 0, None, "static",
                               "reconstruction: order 6 (256 KiB with 4 KiB pages); v1 default static", True)

# The modern allocator (mm/percpu.c, embed first chunk) replaced the static per-cpu areas in
# 2.6.30 (2009); from then on the arch default design is "percpu".
MODERN_PERCPU_SINCE = (2, 6, 30)

# Static per-cpu bytes assumed when there is no image (measured .data..percpu of small
# Linux 6.1 builds; the arch's own measurement where there is one).
STATIC_ESTIMATES: dict[str, Constant] = {
    "sparc64": Constant("percpu_static_bytes", 0x4158, "6.1 tinyconfig + SMP, NR_CPUS=64",
                        "readelf -S of a Linux 6.1.192 sparc64 tinyconfig+SMP vmlinux: .data..percpu size 0x4158"),
    "x86_64": Constant("percpu_static_bytes", 0x1EDD8, "6.1 tinyconfig + SMP + PRINTK + TTY + serial + MODULES",
                       "readelf -S of a 6.1.192 x86_64 build (tests/fixtures/percpu_boots): .data..percpu size 0x1edd8"),
    "i386": Constant("percpu_static_bytes", 0x10BCC, "6.1 tinyconfig + SMP + PRINTK + TTY + serial",
                     "readelf -S of a 6.1.192 i386 build (tests/fixtures/percpu_boots): .data..percpu size 0x10bcc"),
}

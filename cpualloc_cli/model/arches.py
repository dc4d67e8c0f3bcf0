"""Per-architecture facts cpualloc needs everywhere: ELF identity, word size, page size,
and where the loader's mapping of the image starts. Each constant names its source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Arch:
    name: str  # cpualloc's name, also the bundled Kconfig's ARCH_* choice suffix
    bits: int
    endian: str  # "big" / "little" (the usual one; some arches are bi-endian)
    elf_machines: tuple[int, ...]  # e_machine values
    page_size: int  # default PAGE_SIZE
    # Where what the loader maps starts, for the image extent. None: no arch-specific
    # start is known, use _text (and say so).
    extent_start: int | None
    extent_start_name: str | None
    extent_source: str


# e_machine numbers (ELF gABI / include/uapi/linux/elf-em.h)
EM_SPARC, EM_386, EM_SPARC32PLUS, EM_MIPS, EM_PPC, EM_PPC64 = 2, 3, 18, 8, 20, 21
EM_S390, EM_ARM, EM_SPARCV9, EM_IA_64, EM_X86_64, EM_AARCH64, EM_RISCV = 22, 40, 43, 50, 62, 183, 243
EM_LOONGARCH = 258

ARCHES: dict[str, Arch] = {
    a.name: a
    for a in (
        Arch("sparc64", 64, "big", (EM_SPARCV9,), 8192, 0x400000, "KERNBASE",
             "arch/sparc/include/asm/page_64.h: KERNBASE 0x400000; head_64.S maps from KERNBASE"),
        Arch("sparc32", 32, "big", (EM_SPARC, EM_SPARC32PLUS), 4096, 0xF0000000, "KERNBASE",
             "arch/sparc/include/asm/page_32.h: KERNBASE 0xf0000000"),
        Arch("x86_64", 64, "little", (EM_X86_64,), 4096, 0xFFFFFFFF80000000, "LOAD_OFFSET",
             "arch/x86/kernel/vmlinux.lds.S: ASSERT(_end - LOAD_OFFSET <= KERNEL_IMAGE_SIZE); "
             "LOAD_OFFSET = __START_KERNEL_map = 0xffffffff80000000 (page_64_types.h)"),
        Arch("i386", 32, "little", (EM_386,), 4096, 0xC0000000, "LOAD_OFFSET",
             "arch/x86/kernel/vmlinux.lds.S: LOAD_OFFSET = __PAGE_OFFSET, 0xC0000000 with VMSPLIT_3G "
             "(page_32_types.h)"),
        Arch("ia64", 64, "little", (EM_IA_64,), 16384, None, None, "no loader-specific start modelled"),
        Arch("arm64", 64, "little", (EM_AARCH64,), 4096, None, None, "Image header image_size covers _text.._end"),
        Arch("arm", 32, "little", (EM_ARM,), 4096, None, None, "no loader-specific start modelled"),
        Arch("powerpc", 32, "big", (EM_PPC,), 4096, None, None, "no loader-specific start modelled"),
        Arch("powerpc64", 64, "big", (EM_PPC64,), 65536, None, None, "no loader-specific start modelled"),
        Arch("mips", 32, "big", (EM_MIPS,), 4096, None, None, "no loader-specific start modelled"),
        Arch("riscv", 64, "little", (EM_RISCV,), 4096, None, None, "no loader-specific start modelled"),
        Arch("s390", 64, "big", (EM_S390,), 4096, None, None, "no loader-specific start modelled"),
        Arch("loongarch", 64, "little", (EM_LOONGARCH,), 16384, None, None, "no loader-specific start modelled"),
    )
}


def arch_for_elf(machine_code: int, elf_class: int) -> str | None:
    """cpualloc's arch name for an ELF's e_machine and class (sparc/mips/ppc share codes)."""
    if machine_code in (EM_SPARC, EM_SPARC32PLUS):
        return "sparc32"
    if machine_code == EM_SPARCV9:
        return "sparc64"
    if machine_code == EM_PPC:
        return "powerpc"
    if machine_code == EM_PPC64:
        return "powerpc64"
    if machine_code == EM_MIPS:
        return "mips64" if elf_class == 64 else "mips"
    if machine_code == EM_RISCV:
        return "riscv" if elf_class == 64 else "riscv32"
    for arch in ARCHES.values():
        if machine_code in arch.elf_machines:
            return arch.name
    return None

"""GNU `size`: Berkeley totals and the `size -A` per-section view (binutils size.c)."""

from __future__ import annotations

from cpualloc_cli.model.bfd import (
    SEC_ALLOC,
    SEC_CODE,
    SEC_HAS_CONTENTS,
    SEC_READONLY,
    bfd_creation_order,
    bfd_section_flags,
    bfd_vma,
    is_bfd_section,
)
from cpualloc_cli.model.image import SHT_SYMTAB, BerkeleyTotals, ElfImage, Section, SysvRow


def bfd_sections(image: ElfImage) -> list[Section]:
    """The sections BFD shows (no symbol/string tables, no reloc sections of a .o)."""
    symtab = next((s.index for s in image.sections if s.type_code == SHT_SYMTAB), None)
    secs = image.sections
    if any(s.index != n for n, s in enumerate(secs)):
        return [s for s in secs if is_bfd_section(s, secs, symtab)]
    return [secs[i] for i in bfd_creation_order(secs) if is_bfd_section(secs[i], secs, symtab)]


def compute_berkeley(image: ElfImage, *, common: bool = False) -> BerkeleyTotals:
    """size.c berkeley_or_gnu_sum: SEC_ALLOC sections only; code or read-only -> text;
    else with contents -> data; else bss. `--common` adds COMMON symbols to bss."""
    text = data = bss = 0
    for sec in bfd_sections(image):
        flags = bfd_section_flags(sec)
        if not flags & SEC_ALLOC:
            continue
        if flags & SEC_CODE or flags & SEC_READONLY:
            text += sec.size_bytes
        elif flags & SEC_HAS_CONTENTS:
            data += sec.size_bytes
        else:
            bss += sec.size_bytes
    if common:
        bss += image.common_bytes
    return BerkeleyTotals(text=text, data=data, bss=bss)


def compute_sysv(image: ElfImage) -> tuple[list[SysvRow], int]:
    """`size -A`: every BFD section with its size and address, and the total of sizes."""
    h = image.header
    rows = [SysvRow(s.name, s.size_bytes, bfd_vma(s.address, h.machine_code, h.elf_class)) for s in bfd_sections(image)]
    return rows, sum(r.size_bytes for r in rows)

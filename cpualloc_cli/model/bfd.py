"""How GNU BFD sees ELF sections: the flags `_bfd_elf_make_section_from_shdr` derives, which
sections it shows at all, and the letter nm prints for a symbol in each. `size` and `nm` sum
and label by these flags, not by section names (a writable `.rodata` counts as data).

Pure functions over model sections (bfd/elf.c, bfd/syms.c in binutils 2.40).
"""

from __future__ import annotations

from collections.abc import Sequence

from cpualloc_cli.model.image import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHT_DYNSYM,
    SHT_NOBITS,
    SHT_REL,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
    ElfImage,
    Section,
)

# BFD's view of a section, enough for nm's letter and size's Berkeley buckets.
SEC_ALLOC, SEC_LOAD, SEC_READONLY, SEC_CODE, SEC_DATA, SEC_HAS_CONTENTS, SEC_DEBUGGING = (
    0x1, 0x2, 0x8, 0x10, 0x20, 0x100, 0x2000)

_DEBUG_PREFIXES = (".debug", ".gnu.linkonce.wi.", ".zdebug", ".line", ".stab", ".gnu.debuglto_.debug_")


def bfd_section_flags(sec: Section) -> int:
    """The BFD flags `_bfd_elf_make_section_from_shdr` derives from an ELF section header."""
    f = 0
    if sec.type_code != SHT_NOBITS:
        f |= SEC_HAS_CONTENTS
    if sec.flags & SHF_ALLOC:
        f |= SEC_ALLOC
        if sec.type_code != SHT_NOBITS:
            f |= SEC_LOAD
    if not sec.flags & SHF_WRITE:
        f |= SEC_READONLY
    if sec.flags & SHF_EXECINSTR:
        f |= SEC_CODE
    elif f & SEC_LOAD:
        f |= SEC_DATA
    if not f & SEC_ALLOC and sec.name.startswith(_DEBUG_PREFIXES):
        f |= SEC_DEBUGGING
    return f


def section_letter(sec: Section) -> str:
    """bfd/syms.c decode_section_type (lower case)."""
    f = bfd_section_flags(sec)
    if sec.name == ".sbss" or sec.name.startswith(".sbss."):
        return "s"
    if sec.name == ".sdata" or sec.name.startswith(".sdata."):
        return "g"
    if f & SEC_CODE:
        return "t"
    if f & SEC_DATA:
        return "r" if f & SEC_READONLY else "d"
    if not f & SEC_HAS_CONTENTS:
        return "b"
    if f & SEC_DEBUGGING:
        return "N"
    if f & SEC_HAS_CONTENTS and f & SEC_READONLY:
        return "n"
    return "?"


def is_bfd_section(sec: Section, sections: list[Section] | tuple[Section, ...], symtab_index: int | None,
                   shstrndx: int | None = None) -> bool:
    """Whether BFD (and so `size -A`, `objdump -h`) shows this ELF section as a section."""
    if sec.index == 0:
        return False
    if sec.type_code in (SHT_SYMTAB, SHT_SYMTAB_SHNDX):
        return False
    if sec.type_code == SHT_STRTAB:
        if symtab_index is not None and sections[symtab_index].link == sec.index:
            return False
        if shstrndx is not None and sec.index == shstrndx:
            return False
        if sec.name == ".shstrtab":
            return False
        return True
    if sec.type_code in (SHT_REL, SHT_RELA):
        n = len(sections)
        target_ok = 0 < sec.info < n and sections[sec.info].type_code not in (SHT_REL, SHT_RELA)
        if sec.flags & SHF_ALLOC or sec.link == 0 or sec.link != symtab_index or not target_ok:
            return True
        return False
    return True




EM_MIPS = 8


def sign_extends_vma(machine_code: int, elf_class: int) -> bool:
    """BFD sign-extends 32-bit MIPS addresses into its 64-bit bfd_vma
    (elf_backend_sign_extend_vma in elf32-mips.c), so nm and size print them that way."""
    return machine_code == EM_MIPS and elf_class == 32


def bfd_vma(value: int, machine_code: int, elf_class: int) -> int:
    if sign_extends_vma(machine_code, elf_class) and value & 0x80000000:
        return value | 0xFFFFFFFF00000000
    return value


def nm_width(machine_code: int, elf_class: int) -> int:
    """Minimum hex digits nm prints (`%08` or `%016` PRIx64 by ELF class); a sign-extended
    MIPS32 address simply prints all 16 of its digits."""
    return 16 if elf_class == 64 else 8


def nm_values(image: ElfImage) -> list[int]:
    """The value nm prints per symbol: BFD keeps a COMMON symbol's size in its value
    (elfcode.h elf_slurp_symbol_table), and sign-extends MIPS32 addresses."""
    s = image.symbols
    if s is None:
        return []
    h = image.header
    values = s.values.tolist()
    i = s.nm_types.find("C")
    while i >= 0:
        values[i] = s.sizes[i]
        i = s.nm_types.find("C", i + 1)
    if sign_extends_vma(h.machine_code, h.elf_class):
        values = [bfd_vma(v, h.machine_code, h.elf_class) for v in values]
    return values


def bfd_creation_order(sections: Sequence[Section]) -> list[int]:
    """The order in which BFD creates sections (so `size -A` and objdump list them), as
    section indices. It walks the section headers in index order (elfcode.h elf_object_p), but
    bfd/elf.c bfd_section_from_shdr, meeting a string table before both the symbol table and
    the dynamic symbol table are known, first creates every section that links to it (in index
    order, stopping at the one that turns out to be the .symtab or .dynsym), and only then the
    string table. So a .dynstr placed before .dynamic and .dynsym (the s390x vmlinux) is listed
    after them. `sections` must be indexed by section number."""
    done: set[int] = set()
    order: list[int] = []
    tables = {"symtab": 0, "dynsym": 0}

    def create(i: int) -> None:
        if i in done:
            return
        s = sections[i]
        if s.type_code == SHT_SYMTAB:
            if not tables["symtab"]:
                tables["symtab"] = i
            done.add(i)
            order.append(i)
            return
        if s.type_code == SHT_DYNSYM and not tables["dynsym"]:
            tables["dynsym"] = i
        if s.type_code == SHT_STRTAB:
            symtab, dynsym = tables["symtab"], tables["dynsym"]
            if not (symtab and sections[symtab].link == i) and not (dynsym and sections[dynsym].link == i) \
                    and (not symtab or not dynsym):
                done.add(i)  # BFD's guard against a table linking to itself
                for j in range(1, len(sections)):
                    if j != i and sections[j].link == i and j not in done:
                        create(j)
                        if j in (tables["symtab"], tables["dynsym"]):
                            break
        done.add(i)
        order.append(i)

    for i in range(1, len(sections)):
        create(i)
    return order

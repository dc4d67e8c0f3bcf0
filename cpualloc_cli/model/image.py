"""What cpualloc knows about one kernel image: header, sections, segments, symbols.

Symbols are held in columns (one array per field), never one object per symbol: a
distribution vmlinux has 130k of them.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

# sh_flags bits (ELF gABI)
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHF_MERGE = 0x10
SHF_STRINGS = 0x20
SHF_INFO_LINK = 0x40
SHF_LINK_ORDER = 0x80
SHF_OS_NONCONFORMING = 0x100
SHF_GROUP = 0x200
SHF_TLS = 0x400
SHF_COMPRESSED = 0x800
SHF_EXCLUDE = 0x80000000

SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_RELA = 4
SHT_NOBITS = 8
SHT_REL = 9
SHT_DYNSYM = 11
SHT_GROUP = 17
SHT_SYMTAB_SHNDX = 18

PF_X = 0x1
PF_W = 0x2
PF_R = 0x4


def readelf_flag_letters(flags: int, machine_code: int = 0) -> str:
    """The `Flg` column of `readelf -S -W` for these sh_flags."""
    out = []
    table = [
        (SHF_WRITE, "W"), (SHF_ALLOC, "A"), (SHF_EXECINSTR, "X"), (SHF_MERGE, "M"),
        (SHF_STRINGS, "S"), (SHF_INFO_LINK, "I"), (SHF_LINK_ORDER, "L"),
        (SHF_OS_NONCONFORMING, "O"), (SHF_GROUP, "G"), (SHF_TLS, "T"), (SHF_COMPRESSED, "C"),
    ]
    known = 0
    for bit, letter in table:
        known |= bit
        if flags & bit:
            out.append(letter)
    if flags & SHF_EXCLUDE:
        out.append("E")
        known |= SHF_EXCLUDE
    rest = flags & ~known
    if rest & 0x0FF00000:
        out.append("o")
    if rest & 0x70000000:
        out.append("p")
    if rest & ~(0x0FF00000 | 0x70000000) & 0xFFFFFFFFFFFFFFFF:
        out.append("x")
    return "".join(out)


def segment_flag_letters(flags: int) -> str:
    """The `Flg` column of `readelf -l` (R, W, E), blank-padded like readelf."""
    return ("R" if flags & PF_R else " ") + ("W" if flags & PF_W else " ") + ("E" if flags & PF_X else " ")


@dataclass(frozen=True, slots=True)
class ElfHeader:
    elf_class: int  # 32 or 64
    endian: str  # "little" or "big"
    machine: str  # readelf's name, e.g. "Sparc v9", "Advanced Micro Devices X86-64"
    machine_code: int  # e_machine
    arch: str  # cpualloc's arch name: sparc64, x86_64, i386, ...
    file_type: str  # "EXEC", "REL", "DYN", "CORE"
    entry: int
    flags: int
    section_count: int
    segment_count: int


@dataclass(frozen=True, slots=True)
class Section:
    index: int
    name: str
    type: str  # readelf's spelling: PROGBITS, NOBITS, ...
    type_code: int
    flags: int
    address: int
    offset: int
    size_bytes: int
    entsize: int
    link: int
    info: int
    alignment: int

    @property
    def is_alloc(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def is_nobits(self) -> bool:
        return self.type_code == SHT_NOBITS

    @property
    def end(self) -> int:
        return self.address + self.size_bytes


@dataclass(frozen=True, slots=True)
class Segment:
    type: str  # LOAD, NOTE, ...
    type_code: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    flags: int
    alignment: int


@dataclass(frozen=True)
class SymbolTable:
    """The whole `.symtab` in columns. Index i across every column is one symbol.

    `nm_types` holds the letter GNU nm prints for each symbol (one character each).
    """

    names: tuple[str, ...]
    values: array[int]  # Q
    sizes: array[int]  # Q
    shndx: array[int]  # L section index (SHN_* values kept as-is)
    nm_types: str
    elf_types: bytes  # STT_* per symbol
    binds: bytes  # STB_* per symbol

    def __len__(self) -> int:
        return len(self.names)

    def find(self, name: str) -> int | None:
        """Address of the first global-or-any symbol named `name`, or None."""
        try:
            i = self.names.index(name)
        except ValueError:
            return None
        return int(self.values[i])


@dataclass(frozen=True, slots=True)
class BerkeleyTotals:
    """GNU `size` (Berkeley format): sections summed by flags, not by name."""

    text: int
    data: int
    bss: int

    @property
    def dec(self) -> int:
        return self.text + self.data + self.bss

    @property
    def hex(self) -> str:
        return format(self.dec, "x")


@dataclass(frozen=True, slots=True)
class SysvRow:
    """One row of `size -A`: a section as BFD sees it."""

    name: str
    size_bytes: int
    address: int


@dataclass(frozen=True, slots=True)
class ImageExtent:
    """What a loader maps, from a stated start to the end of BSS."""

    label: str  # short id: "loader", "text_to_end", "segments"
    start_name: str  # "KERNBASE", "LOAD_OFFSET", "_text", "lowest PT_LOAD", ...
    start: int
    end_name: str  # "_end", "highest PT_LOAD end"
    end: int
    bss_bytes: int
    note: str = ""

    @property
    def size_bytes(self) -> int:
        return self.end - self.start

    @property
    def bss_share(self) -> float:
        return self.bss_bytes / self.size_bytes if self.size_bytes else 0.0


@dataclass(frozen=True)
class ElfImage:
    """One ELF file as read by the ELF adapter."""

    path: str
    file_size: int
    header: ElfHeader
    sections: tuple[Section, ...]
    segments: tuple[Segment, ...]
    symbols: SymbolTable | None  # None: no .symtab (stripped)
    common_bytes: int = 0  # sum of SHN_COMMON symbol sizes (size --common)
    banner: str | None = None  # "Linux version ..." if found in the image
    notes: tuple[str, ...] = field(default_factory=tuple)

    def section(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None

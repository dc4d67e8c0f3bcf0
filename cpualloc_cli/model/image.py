"""What cpualloc knows about one kernel image: header, sections, segments, symbols.

Symbols are held in columns (one array per field), never one object per symbol: a
distribution vmlinux has 130k of them.
"""

from __future__ import annotations

import operator
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

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


ELFOSABI_GNU, ELFOSABI_FREEBSD = 3, 9
SHF_GNU_RETAIN = 0x200000


def readelf_flag_letters(flags: int, machine_code: int = 0, osabi: int = 0) -> str:
    """The `Flg` column of `readelf -S -W` for these sh_flags. readelf (binutils 2.40) names
    SHF_GNU_RETAIN `R` in GNU and FreeBSD objects (gas sets EI_OSABI to GNU when it emits the
    flag: tests/fixtures/userspace); elsewhere the bit is one more OS-specific `o`."""
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
    if flags & SHF_GNU_RETAIN and osabi in (ELFOSABI_GNU, ELFOSABI_FREEBSD):
        out.append("R")
        known |= SHF_GNU_RETAIN
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
    osabi: int = 0  # e_ident[EI_OSABI]: readelf reads OS-specific section flags by it


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


SIZE_SYMTAB = "symtab"
SIZE_DERIVED = "derived"
SIZE_UNBOUNDED = "unbounded"
#: one byte per symbol in SymbolTable.size_sources
SIZE_SOURCE_CODES = {SIZE_SYMTAB: ord("s"), SIZE_DERIVED: ord("d"), SIZE_UNBOUNDED: ord("u")}
SIZE_SOURCE_NAMES = {code: name for name, code in SIZE_SOURCE_CODES.items()}


class SymbolTable:
    """The whole `.symtab` in columns. Index i across every column is one symbol.

    `nm_types` holds the letter GNU nm prints for each symbol (one character each).

    Names are either given (a sequence of str) or kept as the raw string table plus one
    offset per symbol and decoded only when asked for: a distribution vmlinux has 130k
    symbols, and most commands need a few names, or the names of the sized symbols only.
    """

    __slots__ = ("values", "sizes", "shndx", "nm_types", "elf_types", "binds", "size_sources",
                 "_names", "_strtab", "_offsets", "_text", "_ascii", "_offset_set", "_offset_bytes", "_memo")

    def __init__(self, names: Sequence[str] | None, values: array[int], sizes: array[int], shndx: array[int],
                 nm_types: str, elf_types: bytes, binds: bytes, *, strtab: bytes = b"",
                 name_offsets: array[int] | None = None, size_sources: bytes | None = None) -> None:
        if names is None and name_offsets is None:
            raise ValueError("SymbolTable needs names or a string table with name offsets")
        self.values = values  # address per symbol (st_value)
        self.sizes = sizes  # st_size
        # section index: SHN_* values as-is; in a table with SHN_XINDEX, resolved, and the other
        # reserved values moved up by 0xffff0000 as BFD does (extended indices 0xff00.. are real)
        self.shndx = shndx
        self.nm_types = nm_types
        self.elf_types = elf_types  # STT_* per symbol
        self.binds = binds  # STB_* per symbol
        # where each size comes from, one code byte per symbol (SIZE_SOURCE_CODES); None: every
        # size is st_size from a .symtab
        self.size_sources = size_sources
        self._names: tuple[str, ...] | None = tuple(names) if names is not None else None
        self._strtab = strtab
        self._offsets = name_offsets
        self._text: str | None = None
        self._ascii = strtab.isascii()
        self._offset_set: set[int] | None = None
        self._offset_bytes: bytes | None = None
        self._memo: tuple[Sequence[int], list[str]] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def size_source(self, i: int) -> str:
        """"symtab" (st_size), "derived" (the distance to the next symbol in its range, from
        kallsyms or a symbol list) or "unbounded" (no next symbol or range end bounds it)."""
        if self.size_sources is None:
            return SIZE_SYMTAB
        return SIZE_SOURCE_NAMES[self.size_sources[i]]

    @property
    def sizes_derived(self) -> bool:
        """True when the sizes are not the symbol table's own (see size_source)."""
        return self.size_sources is not None and bool(self.size_sources.strip(b"s"))

    # -- names ---------------------------------------------------------------------------------

    def _latin(self) -> str:
        # latin-1 maps byte b to code point b, so str order is strcmp order and one decode
        # gives character offsets equal to byte offsets.
        if self._text is None:
            self._text = self._strtab.decode("latin-1")
        return self._text

    def _raw_names(self, indices: Iterable[int]) -> list[str]:
        """latin-1 strings of the names at `indices` (string-table mode only)."""
        assert self._offsets is not None
        text = self._latin()
        offs = list(map(self._offsets.__getitem__, indices))
        ends = map(text.find, repeat("\0"), offs)
        return list(map(text.__getitem__, map(slice, offs, ends)))

    def _display(self, raw: list[str]) -> list[str]:
        if self._ascii:
            return raw
        return [r.encode("latin-1").decode("utf-8", "surrogateescape") for r in raw]

    @property
    def names(self) -> tuple[str, ...]:
        """Every name, decoded (UTF-8; undecodable bytes kept as surrogate escapes)."""
        if self._names is None:
            self._names = tuple(self._display(self._raw_names(range(len(self)))))
        return self._names

    def name(self, i: int) -> str:
        if self._names is not None:
            return self._names[i]
        return self._display(self._raw_names((i,)))[0]

    def names_at(self, indices: Sequence[int]) -> list[str]:
        """The names of the symbols at `indices`, in that order. (Do not modify the list.)"""
        memo = self._memo
        if memo is not None and len(memo[0]) == len(indices) and all(map(operator.eq, memo[0], indices)):
            return memo[1]
        if self._names is not None:
            return list(map(self._names.__getitem__, indices))
        return self._display(self._raw_names(indices))

    def remember_names(self, indices: Sequence[int], keys: list[str]) -> None:
        """Keep the names of `indices`, given as :meth:`sort_keys_at` returned them (in the same
        order), for the next :meth:`names_at` of the same indices: a sorter has decoded them."""
        self._memo = (indices, self._display(keys) if self._names is None else self.names_at(indices))

    def sort_keys_at(self, indices: Sequence[int]) -> list[str]:
        """Strings whose Python order is C strcmp order of the names at `indices`."""
        if self._names is not None:
            return [n.encode("utf-8", "surrogateescape").decode("latin-1") for n in map(self._names.__getitem__, indices)]
        return self._raw_names(indices)

    def string_table(self) -> tuple[bytes, array[int]] | None:
        """(string table, name offset per symbol) when names are read from a string table, else
        None (names were given). For bulk readers of the names (the compiled symbol path)."""
        if self._names is not None or self._offsets is None:
            return None
        return self._strtab, self._offsets

    def json_safe_names(self) -> bool:
        """True when every name can go into JSON between quotes as it is (ASCII, no quote,
        backslash or control character)."""
        if self._names is not None:
            return all(n.isascii() and n.isprintable() and '"' not in n and "\\" not in n for n in self._names)
        return self._ascii and not self._strtab.translate(None, _JSON_PLAIN)

    def index(self, name: str) -> int | None:
        """Index of the first symbol named `name`, or None."""
        if self._names is not None:
            try:
                return self._names.index(name)
            except ValueError:
                return None
        assert self._offsets is not None
        want = name.encode("utf-8", "surrogateescape") + b"\0"
        strtab = self._strtab
        # The offsets where `name` is a whole string: at a string start, or a merged suffix.
        candidates = []
        at = strtab.find(want)
        while at >= 0:
            candidates.append(at)
            at = strtab.find(want, at + 1)
        if not candidates:
            return None
        if self._offset_set is None:
            self._offset_set = set(self._offsets)
        used = [o for o in candidates if o in self._offset_set]
        return min(map(self._first_with_offset, used), default=None)

    def _first_with_offset(self, offset: int) -> int:
        """The first symbol whose name offset is `offset` (one that is in use): a memmem over
        the offset column, skipping hits that straddle two entries."""
        assert self._offsets is not None
        if self._offset_bytes is None:
            self._offset_bytes = self._offsets.tobytes()
        table, width = self._offset_bytes, self._offsets.itemsize
        needle = offset.to_bytes(width, sys.byteorder)
        at = table.find(needle)
        while at >= 0 and at % width:
            at = table.find(needle, at + 1)
        return at // width if at >= 0 else self._offsets.index(offset)

    def find(self, name: str) -> int | None:
        """Address of the first symbol named `name`, or None."""
        i = self.index(name)
        return None if i is None else int(self.values[i])


# Bytes a name may hold and still go between JSON quotes as it is (NUL ends names).
_JSON_PLAIN = bytes([0, *(c for c in range(0x20, 0x7F) if c not in b'"\\')])


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
    #: where `symbols` came from: None for the file's own .symtab, else e.g. "kallsyms" or
    #: "System.map FILE" (their sizes are derived: SymbolTable.size_source)
    symbols_from: str | None = None
    #: None: the sections are the file's section headers; else what stood in for them (a raw
    #: payload's ranges named by kallsyms's bound symbols): their totals are spans, not GNU size
    sections_from: str | None = None

    def size_label(self) -> str:
        """What the size totals of this image are, for the source column of a report."""
        if self.sections_from is None:
            return "GNU size (Berkeley)"
        return f"spans between {self.sections_from} (no section headers; not GNU size)"

    def section(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None

"""The ELF adapter: the only module that touches pyelftools.

Section and segment headers come through pyelftools; the symbol table is decoded in bulk
field by field over the mapped file (strided memoryview copies: no per-symbol objects), into the columnar
:class:`~cpualloc_cli.model.image.SymbolTable`.

Every extent read from the file is checked against the file's real size before anything is
read or allocated. pyelftools raises more than ``ELFError`` on malformed input (KeyError,
struct.error, OverflowError, MemoryError, construct errors, UnicodeDecodeError...); the fence
in :func:`_fenced` names the ones we expect and turns them into :class:`ElfFormatError`.
Anything else is a bug in cpualloc and stays one (exit 4).
"""

from __future__ import annotations

import heapq
import mmap
import operator
import os
import stat
import struct
import sys
from array import array
from collections.abc import Callable, Hashable, Iterator, Sequence, Set
from contextlib import contextmanager
from itertools import compress
from typing import Any, BinaryIO, Literal, NamedTuple, TypeVar

from cpualloc_cli import speedups
from cpualloc_cli.errors import ElfFormatError, InputError
from cpualloc_cli.model.arches import arch_for_elf
from cpualloc_cli.model.bfd import bfd_vma, section_letter
from cpualloc_cli.model.image import (
    SHT_NOBITS,
    SHT_STRTAB,
    SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
    ElfHeader,
    ElfImage,
    Section,
    Segment,
    SymbolTable,
)

T = TypeVar("T")

ELF_MAGIC = b"\x7fELF"
SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF
# BFD keeps reserved indices as 32-bit values (include/elf/common.h: SHN_ABS is 0xFFFFFFF1):
# a 16-bit st_shndx >= SHN_LORESERVE plus this, unless it was SHN_XINDEX (elfcode.h).
WIDE_RESERVED = 0xFFFF0000
PN_XNUM = 0xFFFF
SHF_COMPRESSED = 0x800

STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE, STT_COMMON, STT_TLS, STT_GNU_IFUNC = 1, 2, 3, 4, 5, 6, 10
STB_LOCAL, STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 0, 1, 2, 10

# The most section headers a file could hold is bounded by its size; this is the absolute
# ceiling on top of that (ELF allows 2^32).
MAX_SECTIONS = 1 << 22
# Work budgets (exit 3 past them): kernels have tens of sections, modules and objects up to tens
# of thousands (tests/fixtures/elf/x86_64-manysections-o has 66,008). No toolchain writes more than
# a few SHT_NULL headers past [0]: a file of them is only work for the reader.
SECTION_BUDGET = 1 << 17
NULL_SECTION_BUDGET = 4096

# readelf -h's spelling of the machines kernels are built for (binutils readelf.c get_machine_name).
READELF_MACHINES = {
    2: "Sparc", 3: "Intel 80386", 8: "MIPS R3000", 18: "Sparc v8+", 20: "PowerPC", 21: "PowerPC64",
    22: "IBM S/390", 40: "ARM", 43: "Sparc v9", 50: "Intel IA-64", 62: "Advanced Micro Devices X86-64",
    183: "AArch64", 243: "RISC-V", 258: "LoongArch",
}

# readelf -S spellings pyelftools describes differently.
READELF_SH_TYPES = {18: "SYMTAB SECTION INDICES"}

_TYPE_NAMES = {
    "EXEC": "EXEC", "REL": "REL", "DYN": "DYN", "CORE": "CORE", "NONE": "NONE",
}


def _exceptions() -> tuple[type[BaseException], ...]:
    """What pyelftools raises on malformed files (pyelftools #612 lists most of these)."""
    from elftools.common.exceptions import ELFError
    from elftools.construct.core import ConstructError

    return (ELFError, ConstructError, KeyError, IndexError, struct.error, OverflowError, MemoryError,
            UnicodeDecodeError, ValueError, AssertionError, TypeError, AttributeError, EOFError)


@contextmanager
def _fenced(path: str, what: str) -> Iterator[None]:
    try:
        yield
    except ElfFormatError:
        raise
    except _exceptions() as exc:
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ElfFormatError(f"malformed ELF ({what}): {detail}", path=path,
                             hint="the file is corrupt or truncated") from exc


def _describe_mode(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def open_regular(path: str) -> BinaryIO:
    """Open `path` for reading only if it is a regular file. FIFOs, devices and sockets are
    refused (exit 3) before anything is read or allocated: /dev/zero would otherwise be read
    up to the cap, and opening a FIFO blocks, so the open itself is non-blocking (O_NONBLOCK)
    and the type comes from fstat on the opened descriptor. Raises OSError for a missing or
    unreadable file (callers word it), InputError for anything that is not a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError("is a directory, not a kernel image", path=path)
        if not stat.S_ISREG(mode):
            raise InputError(f"is a {_describe_mode(mode)}, not a regular file", path=path,
                             hint="give the image file itself; devices and pipes are not read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_buffer(path: str) -> tuple[Any, int, Callable[[], None]]:
    """Map the (regular) file read-only. Errors are bad input (exit 3)."""
    try:
        fh = open_regular(path)  # noqa: SIM115 - closed by the returned closer
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    size = os.fstat(fh.fileno()).st_size
    if size == 0:
        fh.close()
        raise ElfFormatError("empty file, not an ELF image", path=path)
    try:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        # Not mappable (rare for a regular file): read it, no more than its size.
        data = fh.read(size)
        fh.close()
        return data, len(data), lambda: None

    def close() -> None:
        try:
            mm.close()
        except BufferError:
            # views of the map are still alive (e.g. in a traceback being raised):
            # the map is released when they are collected.
            pass
        fh.close()

    return mm, size, close


def is_elf_file(path: str) -> bool:
    try:
        with open_regular(path) as fh:
            return fh.read(4) == ELF_MAGIC
    except (OSError, InputError):
        return False


def read_elf(path: str) -> ElfImage:
    """Read an ELF file (vmlinux, .o, .ko, ET_DYN) into an :class:`ElfImage`."""
    buf, size, close = _open_buffer(path)
    try:
        return _read(buf, size, path)
    finally:
        close()


def read_elf_bytes(data: bytes | mmap.mmap, name: str) -> ElfImage:
    """Read an ELF held in memory or mapped (e.g. a decompressed bzImage payload)."""
    if not data:
        raise ElfFormatError("empty payload, not an ELF image", path=name)
    return _read(data, len(data), name)


# --- header pre-validation (our own reads, bounded by the file size) -------------------------

class _Ident:
    __slots__ = ("bits", "endian", "fmt")

    def __init__(self, bits: int, endian: str) -> None:
        self.bits = bits
        self.endian = endian
        self.fmt = "<" if endian == "little" else ">"


def _ident(buf: Any, size: int, path: str) -> _Ident:
    if size < 4 or bytes(buf[:4]) != ELF_MAGIC:
        raise ElfFormatError("not an ELF file (no \\x7fELF magic)", path=path,
                             hint="give a vmlinux, .o, .ko, or a compressed kernel image")
    if size < 16:
        raise ElfFormatError(f"truncated ELF header ({size} bytes)", path=path)
    ei_class, ei_data = buf[4], buf[5]
    if ei_class not in (1, 2):
        raise ElfFormatError(f"bad ELF class {ei_class}", path=path)
    if ei_data not in (1, 2):
        raise ElfFormatError(f"bad ELF data encoding {ei_data}", path=path)
    ident = _Ident(32 if ei_class == 1 else 64, "little" if ei_data == 1 else "big")
    need = 52 if ident.bits == 32 else 64
    if size < need:
        raise ElfFormatError(f"truncated ELF header ({size} of {need} bytes)", path=path)
    return ident


def _raw_header(buf: Any, ident: _Ident) -> dict[str, int]:
    if ident.bits == 32:
        fields = struct.unpack_from(ident.fmt + "HHIIIIIHHHHHH", buf, 16)
    else:
        fields = struct.unpack_from(ident.fmt + "HHIQQQIHHHHHH", buf, 16)
    names = ("e_type", "e_machine", "e_version", "e_entry", "e_phoff", "e_shoff", "e_flags",
             "e_ehsize", "e_phentsize", "e_phnum", "e_shentsize", "e_shnum", "e_shstrndx")
    return dict(zip(names, fields, strict=True))


def _section_counts(buf: Any, size: int, ident: _Ident, h: dict[str, int], path: str) -> tuple[int, int]:
    """(shnum, shstrndx) after the SHN_XINDEX escapes, checked against the file size."""
    shoff, shnum, shentsize, shstrndx = h["e_shoff"], h["e_shnum"], h["e_shentsize"], h["e_shstrndx"]
    if shoff == 0:
        return 0, 0
    want = 40 if ident.bits == 32 else 64
    if shentsize != want:
        raise ElfFormatError(f"section header entry size {shentsize}, expected {want}", path=path)
    if shoff > size or shoff + want > size:
        raise ElfFormatError(f"section header table at offset {shoff} is beyond the end of the file "
                             f"({size} bytes)", path=path, hint="the file is truncated")
    if shnum == 0 or shstrndx == SHN_XINDEX:
        # Section 0 holds the real count (sh_size) and string-table index (sh_link).
        if ident.bits == 32:
            _n, _t, _f, _a, _o, sh_size, sh_link = struct.unpack_from(ident.fmt + "IIIIIII", buf, shoff)
        else:
            _n, _t, _f, _a, _o, sh_size, sh_link = struct.unpack_from(ident.fmt + "IIQQQQI", buf, shoff)
        if shnum == 0:
            shnum = sh_size
        if shstrndx == SHN_XINDEX:
            shstrndx = sh_link
    if shnum > MAX_SECTIONS or shoff + shnum * want > size:
        raise ElfFormatError(f"{shnum} section headers at offset {shoff} do not fit in the file "
                             f"({size} bytes)", path=path, hint="e_shnum or e_shoff is corrupt")
    if shnum > SECTION_BUDGET:
        raise ElfFormatError(f"{shnum} section headers, more than cpualloc's work budget of {SECTION_BUDGET}",
                             path=path, hint="not a kernel image or module; e_shnum may be corrupt")
    if shnum and shstrndx >= shnum:
        raise ElfFormatError(f"section name table index {shstrndx} is out of range ({shnum} sections)",
                             path=path, hint="e_shstrndx is corrupt")
    if shnum > NULL_SECTION_BUDGET:
        with memoryview(buf) as whole, whole[shoff:shoff + shnum * want] as table, table.cast("I") as words:
            nulls = words[1::want // 4].tolist().count(0) - 1  # sh_type == 0, in either byte order
        if nulls > NULL_SECTION_BUDGET:
            raise ElfFormatError(f"{nulls} SHT_NULL section headers besides [0], more than cpualloc's work budget "
                                 f"of {NULL_SECTION_BUDGET}", path=path,
                                 hint="no toolchain writes these; the file is corrupt or hostile")
    return shnum, shstrndx


def _check_section_names(buf: Any, size: int, ident: _Ident, shoff: int, shnum: int, shstrndx: int,
                         path: str) -> None:
    """Every sh_name must fall inside the section name table, which must lie inside the file:
    pyelftools would otherwise seek past the end while reading a name (found by fuzz/run.py)."""
    if shnum == 0:
        return
    want = 40 if ident.bits == 32 else 64
    off_fmt = ident.fmt + ("II" if ident.bits == 32 else "QQ")
    off_pos = 16 if ident.bits == 32 else 24
    str_off, str_size = struct.unpack_from(off_fmt, buf, shoff + shstrndx * want + off_pos)
    if shstrndx and (str_off > size or str_off + str_size > size):
        raise ElfFormatError(f"section name table [{shstrndx}] (offset {str_off}, size {str_size}) extends beyond "
                             f"the end of the file ({size} bytes)", path=path, hint="the file is truncated or corrupt")
    limit = str_size if shstrndx else 0
    # pyelftools parses some sections as soon as it makes them (hash tables, SHF_COMPRESSED's
    # Elf_Chdr, ...): every extent is checked here, before pyelftools sees the file.
    head_fmt = ident.fmt + ("IIIIII" if ident.bits == 32 else "IIQQQQ")
    chdr_size = 12 if ident.bits == 32 else 24
    for i in range(shnum):
        name, sh_type, sh_flags, _addr, sh_offset, sh_size = struct.unpack_from(head_fmt, buf, shoff + i * want)
        if name and name >= limit:
            raise ElfFormatError(f"section [{i}] name offset {name} is beyond the section name table "
                                 f"({limit} bytes)", path=path, hint="sh_name or e_shstrndx is corrupt")
        if i and sh_type != SHT_NOBITS and sh_size and (sh_offset > size or sh_offset + sh_size > size):
            end = bytes(buf[str_off + name:str_off + str_size]).split(b"\0", 1)[0] if name else b""
            label = end.decode("utf-8", "replace") or "?"
            raise ElfFormatError(
                f"section [{i}] {label} (offset {sh_offset}, size {sh_size}) extends beyond the "
                f"end of the file ({size} bytes)", path=path, hint="the file is truncated or corrupt")
        if sh_flags & SHF_COMPRESSED and sh_offset + chdr_size > size:
            raise ElfFormatError(f"section [{i}] is SHF_COMPRESSED but its compression header (offset {sh_offset}) "
                                 f"is beyond the end of the file ({size} bytes)", path=path,
                                 hint="the file is truncated or corrupt")


def _check_segments(size: int, ident: _Ident, h: dict[str, int], path: str) -> None:
    phoff, phnum, phentsize = h["e_phoff"], h["e_phnum"], h["e_phentsize"]
    if phnum == 0 or phoff == 0:
        return
    want = 32 if ident.bits == 32 else 56
    if phentsize != want:
        raise ElfFormatError(f"program header entry size {phentsize}, expected {want}", path=path)
    if phoff > size or phoff + phnum * want > size:
        raise ElfFormatError(f"{phnum} program headers at offset {phoff} do not fit in the file "
                             f"({size} bytes)", path=path, hint="e_phnum or e_phoff is corrupt")


# --- names of header fields ------------------------------------------------------------------

# Set to False (tests) to name every field through pyelftools, as before these tables.
USE_TABLES = True

# The spellings the pyelftools path gives for the generic codes (ENUM_E_TYPE, ENUM_SH_TYPE_BASE
# with descriptions.describe_sh_type, ENUM_P_TYPE_BASE with the PT_ prefix dropped), the same
# for every machine: machine-specific codes are all >= 0x70000000 and go through pyelftools.
# tests/test_elf_tables.py checks these against pyelftools itself.
_E_TYPE_NAMES = {0: "NONE", 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE"}
_SH_TYPE_NAMES = {
    0: "NULL", 1: "PROGBITS", 2: "SYMTAB", 3: "STRTAB", 4: "RELA", 5: "HASH", 6: "DYNAMIC", 7: "NOTE",
    8: "NOBITS", 9: "REL", 10: "SHLIB", 11: "DYNSYM", 14: "INIT_ARRAY", 15: "FINI_ARRAY", 16: "PREINIT_ARRAY",
    17: "GROUP", 19: "RELR", 0x6FFFFFF5: "GNU_ATTRIBUTES", 0x6FFFFFF6: "GNU_HASH", 0x6FFFFFF7: "GNU_LIBLIST",
    0x6FFFFFFD: "VERDEF", 0x6FFFFFFE: "VERNEED", 0x6FFFFFFF: "VERSYM",
}
_P_TYPE_NAMES = {
    0: "NULL", 1: "LOAD", 2: "DYNAMIC", 3: "INTERP", 4: "NOTE", 5: "SHLIB", 6: "PHDR", 7: "TLS",
    0x6474E550: "GNU_EH_FRAME", 0x6474E551: "GNU_STACK", 0x6474E552: "GNU_RELRO", 0x6474E553: "GNU_PROPERTY",
}
# Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align;
# Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz, memsz, align.
_PHDR_FORMATS = {32: "IIIIIIII", 64: "IIQQQQQQ"}


class _Structs:
    """pyelftools' ELF structs for one file, made on first use (fenced: exit 3 on what it raises)."""

    def __init__(self, buf: Any, ident: _Ident, path: str) -> None:
        self._buf, self._ident, self._path = buf, ident, path
        self._structs: Any = None
        self._ehdr: Any = None

    def get(self) -> Any:
        if self._structs is None:
            from elftools.elf.structs import ELFStructs

            with _fenced(self._path, "headers"):
                structs = ELFStructs(little_endian=self._ident.endian == "little", elfclass=self._ident.bits)
                structs.create_basic_structs()
                ehdr = structs.Elf_Ehdr.parse(bytes(self._buf[:structs.Elf_Ehdr.sizeof()]))
                structs.create_advanced_structs(ehdr["e_type"], ehdr["e_machine"], ehdr["e_ident"]["EI_OSABI"])
            self._structs, self._ehdr = structs, ehdr
        return self._structs

    def ehdr(self) -> Any:
        self.get()
        return self._ehdr


# --- the reader ---------------------------------------------------------------------------

def _read(buf: Any, size: int, path: str) -> ElfImage:
    ident = _ident(buf, size, path)
    raw = _raw_header(buf, ident)
    shnum, shstrndx = _section_counts(buf, size, ident, raw, path)
    _check_section_names(buf, size, ident, raw["e_shoff"], shnum, shstrndx, path)
    _check_segments(size, ident, raw, path)

    # pyelftools' struct definitions name what cpualloc's tables do not (an e_type, machine,
    # sh_type or p_type outside them); most files need none, and then pyelftools is not even
    # imported (issue 14). ELFFile itself is never needed (its import pulls in the DWARF and
    # EHABI readers).
    structs = _Structs(buf, ident, path)
    machine_code = raw["e_machine"]
    file_type = _E_TYPE_NAMES.get(raw["e_type"]) if USE_TABLES else None
    if file_type is None:
        file_type = str(structs.ehdr()["e_type"]).removeprefix("ET_")
    machine = READELF_MACHINES.get(machine_code) or _describe_machine(structs.ehdr()["e_machine"], path)
    if machine.startswith("<unknown"):
        machine = f"<unknown>: {machine_code:#x}"
    phdr_size = 32 if ident.bits == 32 else 56
    sections = _read_sections(buf, structs, raw["e_shoff"], shnum, shstrndx, size, path, ident.fmt)
    phnum = raw["e_phnum"]
    if phnum == PN_XNUM and sections:
        phnum = sections[0].info  # the real count, as pyelftools and readelf take it
        if raw["e_phoff"] + phnum * phdr_size > size:
            raise ElfFormatError(f"{phnum} program headers at offset {raw['e_phoff']} do not fit in the "
                                 f"file ({size} bytes)", path=path, hint="e_phnum or e_phoff is corrupt")
    segments = _read_segments(buf, structs, raw["e_phoff"], phnum, machine_code, path, ident.fmt)

    header = ElfHeader(
        elf_class=ident.bits,
        endian=ident.endian,
        machine=machine,
        machine_code=machine_code,
        arch=arch_for_elf(machine_code, ident.bits) or "unknown",
        file_type=_TYPE_NAMES.get(file_type, file_type),
        entry=raw["e_entry"],
        flags=raw["e_flags"],
        section_count=shnum,
        segment_count=len(segments),
        osabi=int(buf[7]),
    )
    del shstrndx

    notes: list[str] = []
    symtab_sec = next((s for s in sections if s.type_code == SHT_SYMTAB), None)
    symbols: SymbolTable | None = None
    common = 0
    if symtab_sec is None:
        notes.append("no .symtab (stripped image): symbol figures and _text/_end are unavailable; "
                     "extent derived from PT_LOAD segments and SHF_ALLOC sections")
    else:
        # cpualloc's own decoder (no library call): every extent was checked in _read_sections
        symbols = _read_symbols(buf, size, ident, sections, symtab_sec, path)
        common = _common_bytes(symbols)
    return ElfImage(
        path=path,
        file_size=size,
        header=header,
        sections=tuple(sections),
        segments=tuple(segments),
        symbols=symbols,
        common_bytes=common,
        banner=None,
        notes=tuple(notes),
    )


def _describe_machine(name: Any, path: str) -> str:
    from elftools.elf.descriptions import describe_e_machine

    with _fenced(path, "headers"):
        return str(describe_e_machine(name))


# Elf32_Shdr / Elf64_Shdr (gABI): name, type, flags, addr, offset, size, link, info, addralign, entsize
_SHDR_FORMATS = {32: "IIIIIIIIII", 64: "IIQQQQIIQQ"}


def _read_sections(buf: Any, structs: _Structs, shoff: int, shnum: int, shstrndx: int, size: int,
                   path: str, fmt: str) -> list[Section]:
    """Section headers, decoded in bulk with struct (a construct parse per header took ~0.2 ms:
    a file of many null sections made that minutes); each distinct sh_type is named once, from
    the table or by pyelftools."""
    bits = 64 if structs._ident.bits == 64 else 32
    want = 40 if bits == 32 else 64
    with memoryview(buf) as whole, whole[shoff:shoff + shnum * want] as table:
        headers = list(struct.iter_unpack(fmt + _SHDR_FORMATS[bits], table))
    type_names: dict[int, str] = {}
    for i, h in enumerate(headers):
        type_code = h[1]
        if type_code in type_names:
            continue
        type_name = READELF_SH_TYPES.get(type_code) or (_SH_TYPE_NAMES.get(type_code) if USE_TABLES else None)
        if type_name is None:
            from elftools.elf.descriptions import describe_sh_type

            shdr = structs.get().Elf_Shdr
            with _fenced(path, "section headers"):
                sh_type = shdr.parse(bytes(buf[shoff + i * want:shoff + (i + 1) * want]))["sh_type"]
                type_name = str(describe_sh_type(sh_type))
            if isinstance(sh_type, int) or type_name.startswith("<unknown"):
                type_name = _unknown_sh_type(type_code)
        type_names[type_code] = type_name
    if shnum and shstrndx:
        names_at, names_end = headers[shstrndx][4], headers[shstrndx][4] + headers[shstrndx][5]
    else:
        names_at = names_end = 0
    out: list[Section] = []
    for i, (sh_name, type_code, flags, addr, sh_offset, sh_size, link, info, align, entsize) in enumerate(headers):
        name = ""
        if names_end and sh_name:
            # (sh_name and the name table were checked against the file in _check_section_names)
            start = names_at + sh_name
            stop = buf.find(b"\0", start, names_end)
            raw_name = bytes(buf[start:stop if stop >= 0 else names_end])
            name = raw_name.decode("utf-8", errors="replace")
        if type_code != SHT_NOBITS and i != 0 and sh_size and (sh_offset > size or sh_offset + sh_size > size):
            raise ElfFormatError(
                f"section [{i}] {name or '?'} (offset {sh_offset}, size {sh_size}) extends beyond the "
                f"end of the file ({size} bytes)", path=path, hint="the file is truncated or corrupt")
        out.append(Section(
            index=i,
            name=name,
            type=type_names[type_code],
            type_code=type_code,
            flags=flags,
            address=addr,
            offset=sh_offset,
            size_bytes=sh_size,
            entsize=entsize,
            link=link,
            info=info,
            alignment=align,
        ))
    return out


def _unknown_sh_type(code: int) -> str:
    if 0x70000000 <= code <= 0x7FFFFFFF:
        return f"LOPROC+{code - 0x70000000:#x}"
    if 0x60000000 <= code <= 0x6FFFFFFF:
        return f"LOOS+{code - 0x60000000:#x}"
    return f"{code:#010x}"


# readelf's names for processor-specific segment types pyelftools leaves as numbers.
_PT_PROC = {
    8: {0x70000000: "REGINFO", 0x70000001: "RTPROC", 0x70000002: "OPTIONS", 0x70000003: "ABIFLAGS"},
    40: {0x70000001: "EXIDX"},
    243: {0x70000003: "RISCV_ATTRIBUTES"},
}


def _read_segments(buf: Any, structs: _Structs, phoff: int, phnum: int, machine_code: int, path: str,
                   fmt: str) -> list[Segment]:
    out: list[Segment] = []
    if phnum == 0 or phoff == 0:
        return out
    bits = structs._ident.bits
    want = 32 if bits == 32 else 56
    # (phoff + phnum * want was checked against the file size in _check_segments or _read)
    with memoryview(buf) as whole, whole[phoff:phoff + phnum * want] as table:
        rows = list(struct.iter_unpack(fmt + _PHDR_FORMATS[bits], table))
    for i, row in enumerate(rows):
        if bits == 32:
            type_code, offset, vaddr, paddr, filesz, memsz, flags, align = row
        else:
            type_code, flags, offset, vaddr, paddr, filesz, memsz, align = row
        name = _P_TYPE_NAMES.get(type_code) if USE_TABLES else None
        if name is None:
            phdr = structs.get().Elf_Phdr
            with _fenced(path, "program headers"):
                ptype = phdr.parse(bytes(buf[phoff + i * want:phoff + (i + 1) * want]))["p_type"]
            # readelf's spelling: PT_ prefix dropped, and MIPS/ARM ones without the arch prefix.
            if isinstance(ptype, str):
                name = ptype.removeprefix("PT_").removeprefix("MIPS_").removeprefix("ARM_")
            else:
                name = _PT_PROC.get(machine_code, {}).get(ptype) or f"{ptype:#x}"
        out.append(Segment(
            type=name, type_code=type_code, offset=offset, vaddr=vaddr, paddr=paddr, filesz=filesz,
            memsz=memsz, flags=flags, alignment=align,
        ))
    return out


# --- symbols --------------------------------------------------------------------------------

def _column(view: memoryview, typecode: Literal["H", "I", "Q"], start: int, step: int, swap: bool) -> array[int]:
    """One field of every record: a strided copy of `view` cast to `typecode`, in host order."""
    col = array(typecode)
    col.frombytes(view.cast(typecode)[start::step].tobytes())
    if swap:
        col.byteswap()
    return col


class _SymLayout(NamedTuple):
    """Where each field of one symbol lies, as (index, stride) in units of its own width."""

    word: Literal["I", "Q"]  # st_value and st_size
    name: tuple[int, int]
    value: tuple[int, int]
    size: tuple[int, int]
    shndx: tuple[int, int]
    info: int  # byte offset of st_info
    key: tuple[int, int]  # the u32 holding st_info, st_other, st_shndx


_SYM_LAYOUT = {
    # Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64, st_size u64
    64: _SymLayout("Q", name=(0, 6), value=(1, 3), size=(2, 3), shndx=(3, 12), info=4, key=(1, 6)),
    # Elf32_Sym: st_name u32, st_value u32, st_size u32, st_info u8, st_other u8, st_shndx u16
    32: _SymLayout("I", name=(0, 4), value=(1, 4), size=(2, 4), shndx=(7, 8), info=12, key=(3, 4)),
}


# info byte -> STT_* and STB_*, for bytes.translate over the whole column at once.
_STT_OF_INFO = bytes(i & 0xF for i in range(256))
_STB_OF_INFO = bytes(i >> 4 for i in range(256))


def _read_symbols(buf: Any, size: int, ident: _Ident, sections: list[Section], symtab: Section,
                  path: str) -> SymbolTable:
    want = 16 if ident.bits == 32 else 24
    if symtab.entsize != want:
        raise ElfFormatError(f"symbol table entry size {symtab.entsize}, expected {want}", path=path)
    if symtab.link == 0 or symtab.link >= len(sections):
        raise ElfFormatError(f"symbol table's string table index {symtab.link} is out of range", path=path)
    strsec = sections[symtab.link]
    if strsec.type_code != SHT_STRTAB:
        raise ElfFormatError(f"symbol table's string table [{strsec.index}] {strsec.name} is not a STRTAB",
                             path=path)
    count = symtab.size_bytes // want
    # (offsets and sizes were checked against the file size in _read_sections)
    strtab = bytes(buf[strsec.offset:strsec.offset + strsec.size_bytes])
    if strtab and strtab[-1] != 0:
        raise ElfFormatError(f"string table {strsec.name} does not end with a NUL", path=path,
                             hint="the file is corrupt")
    swap = ident.endian != sys.byteorder
    # Columns are copied out of the map field by field (C loops, no per-symbol objects).
    lay = _SYM_LAYOUT[ident.bits]
    with memoryview(buf) as whole, whole[symtab.offset:symtab.offset + count * want] as raw:
        name_off = _column(raw, "I", *lay.name, swap)
        values = _column(raw, lay.word, *lay.value, swap)
        sizes = _column(raw, lay.word, *lay.size, swap)
        shndx = _column(raw, "H", *lay.shndx, swap)
        info = raw[lay.info::want].tobytes()
        keys = raw.cast("I")[lay.key[0]::lay.key[1]].tolist()  # st_info, st_other, st_shndx as one number
    if count and max(name_off) >= max(len(strtab), 1):
        bad = next(i for i, off in enumerate(name_off) if off >= len(strtab))
        raise ElfFormatError(f"symbol {bad} name offset {name_off[bad]} is beyond {strsec.name} "
                             f"({len(strtab)} bytes)", path=path, hint="the file is corrupt")

    stt = info.translate(_STT_OF_INFO)
    stb = info.translate(_STB_OF_INFO)
    if SHN_XINDEX in shndx:
        shndx_sec = next((s for s in sections if s.type_code == SHT_SYMTAB_SHNDX and s.link == symtab.index), None)
        if shndx_sec is None or shndx_sec.size_bytes < count * 4:
            raise ElfFormatError("symbols use SHN_XINDEX but there is no usable .symtab_shndx", path=path)
        with memoryview(buf) as whole, whole[shndx_sec.offset:shndx_sec.offset + count * 4] as raw:
            ext = _column(raw, "I", 0, 1, swap)
        # bfd/elfcode.h elf_swap_symbol_in: SHN_XINDEX takes the index from .symtab_shndx, and
        # every other reserved 16-bit value is moved up to BFD's 32-bit range (SHN_ABS becomes
        # 0xfffffff1), so that extended indices 0xff00..0xffff name real sections.
        wide = array("I", shndx)
        for i, v in enumerate(shndx):
            if v == SHN_XINDEX:
                wide[i] = ext[i]
            elif v >= SHN_LORESERVE:
                wide[i] = v + WIDE_RESERVED
        shndx = wide
        letters = _nm_letters(sections, list(zip(info, shndx, strict=True)), lambda key: key)
    else:
        letters = _nm_letters(sections, keys, _raw_key_decoder(ident.endian))
    return SymbolTable(None, values, sizes, shndx, letters, stt, stb, strtab=strtab, name_offsets=name_off)


def _letter(stt: int, stb: int, ndx: int, table: str) -> str:
    """GNU nm's letter for one symbol: bfd/syms.c bfd_decode_symclass over the symbol BFD's
    elf_slurp_symbol_table makes (SHN_UNDEF, SHN_ABS and SHN_COMMON are special; any other
    index names a section when it is below e_shnum, else BFD takes the absolute section).
    `ndx` is BFD's 32-bit index: reserved values (SHN_ABS, SHN_COMMON...) plus WIDE_RESERVED."""
    # BSF_OBJECT, which tells v/V from w/W, comes from STT_OBJECT and STT_COMMON only
    # (elfcode.h elf_slurp_symbol_table): STT_TLS gives BSF_THREAD_LOCAL, so a weak TLS symbol is w/W.
    if ndx == SHN_UNDEF:
        if stb == STB_WEAK:
            return "v" if stt in (STT_OBJECT, STT_COMMON) else "w"
        return "U"
    if ndx == SHN_COMMON + WIDE_RESERVED:
        return "C"
    letter = table[ndx] if ndx < len(table) else "a"  # SHN_ABS (wide) is never below e_shnum
    if stb in (STB_GLOBAL, STB_GNU_UNIQUE) and letter.islower():
        letter = letter.upper()
    if stt == STT_GNU_IFUNC:
        return "i"  # bfd_decode_symclass tests BSF_GNU_INDIRECT_FUNCTION before BSF_WEAK: weak IFUNC is i
    if stb == STB_WEAK:
        return "V" if stt in (STT_OBJECT, STT_COMMON) else "W"
    if stb == STB_GNU_UNIQUE:
        return "u"
    if stb not in (STB_LOCAL, STB_GLOBAL):
        return "?"
    return letter


def _nm_letters(sections: list[Section], keys: Sequence[Hashable], decode: Callable[[Any], tuple[int, int]]) -> str:
    """GNU nm's letter for every symbol. A kernel's 130k symbols have a few hundred distinct
    keys (each key fixes st_info and the section index; `decode` gives those two): each key
    is classified once, then looked up."""
    table = "".join(section_letter(s) for s in sections)
    lut = {}
    for key in set(keys):
        info, ndx = decode(key)
        lut[key] = ord(_letter(info & 0xF, info >> 4, ndx, table))
    return bytes(map(lut.__getitem__, keys)).decode("ascii")


def _raw_key_decoder(endian: str) -> Callable[[int], tuple[int, int]]:
    """(st_info, st_shndx) from the raw 4 bytes st_info, st_other, st_shndx read as one
    host-order number (a key with no tuple per symbol)."""
    order: Literal["little", "big"] = "little" if endian == "little" else "big"

    def decode(key: int) -> tuple[int, int]:
        raw = key.to_bytes(4, sys.byteorder)
        ndx = int.from_bytes(raw[2:4], order)
        return raw[0], ndx + WIDE_RESERVED if ndx >= SHN_LORESERVE else ndx

    return decode


def _common_bytes(symbols: SymbolTable) -> int:
    if "C" not in symbols.nm_types:
        return 0
    total = 0
    i = symbols.nm_types.find("C")
    while i >= 0:
        total += symbols.sizes[i]
        i = symbols.nm_types.find("C", i + 1)
    return total


# --- nm --size-sort order ---------------------------------------------------------------

# 1 for what `nm --size-sort` keeps: by nm letter (not undefined, not absolute) and by STT_*
# (not section or file symbols), for bytes.translate over whole columns.
_KEEP_LETTER = bytes(0 if chr(c) in "UwvaA" else 1 for c in range(256))
_KEEP_STT = bytes(0 if c in (STT_SECTION, STT_FILE) else 1 for c in range(256))


def _nonzero_flags(values: array[int]) -> int:
    """One byte per element, 1 where the element is not zero, as a little-endian integer."""
    width = values.itemsize
    nonzero = values.tobytes().translate(_NONZERO)
    flags = 0
    for b in range(width):  # OR the element's bytes together
        flags |= int.from_bytes(nonzero[b::width], "little")
    return flags


_NONZERO = bytes([0] + [1] * 255)


def nm_size_sort_order(image: ElfImage, *, largest: int | None = None,
                       scopes: Sequence[Set[int]] = ()) -> list[int]:
    """Indices of the symbols `nm -S --size-sort` prints, in its order.

    binutils nm.c: filter_symbols drops debugging (section/file), undefined and absolute
    symbols; sort_symbols_by_size keeps st_size != 0, sorted first by value (then section
    VMA, name), then by size and name (strcmp, C locale); glibc's qsort is a stable merge
    sort, so full ties keep symbol-table order. Together that is one order on (size, name,
    value, section VMA, symbol-table index).

    With `largest=N`, only the part of that order a top-N list can reach: in the whole
    table and in each scope (a set of section indices), every symbol at least as large as
    the N-th largest there. Any top-N list read off its tail (largest first, equal sizes in
    nm order) is then the one the full order gives, without sorting 80k names for it.
    """
    symbols = image.symbols
    if symbols is None or len(symbols) == 0:
        return []
    idx = _nm_kept(symbols)
    if largest is not None:
        idx = _reachable_by_top(symbols, idx, largest, scopes)
    if not idx:
        return []
    return _nm_sorted(image, idx)


def _reachable_by_top(symbols: SymbolTable, idx: list[int], count: int, scopes: Sequence[Set[int]]) -> list[int]:
    sizes, shndx = symbols.sizes, symbols.shndx
    reach: set[int] = set()
    for scope in (None, *scopes):
        members = idx if scope is None else list(compress(idx, map(scope.__contains__, map(shndx.__getitem__, idx))))
        if count <= 0 or not members:
            continue
        if len(members) > count:
            floor = heapq.nlargest(count, map(sizes.__getitem__, members))[-1]
            members = list(compress(members, map(floor.__le__, map(sizes.__getitem__, members))))
        reach.update(members)
    return sorted(reach)  # symbol-table order, as _nm_sorted expects


def _nm_kept(symbols: SymbolTable) -> list[int]:
    """The symbols nm --size-sort prints, in symbol-table order."""
    n = len(symbols)
    # keep = letter ok AND type ok, as one big-integer AND over the two 0/1 byte columns.
    keep_letter = int.from_bytes(symbols.nm_types.encode("ascii").translate(_KEEP_LETTER), "little")
    keep_type = int.from_bytes(symbols.elf_types.translate(_KEEP_STT), "little")
    mask = bytearray((keep_letter & keep_type).to_bytes(n, "little"))
    mask[0] = 0  # the null symbol
    sizes = symbols.sizes
    keep = int.from_bytes(mask, "little") & _nonzero_flags(sizes)  # and st_size != 0
    return list(compress(range(n), keep.to_bytes(n, "little")))


def _nm_sorted(image: ElfImage, idx: list[int]) -> list[int]:
    """`idx` (in symbol-table order) in nm --size-sort order."""
    symbols = image.symbols
    assert symbols is not None
    table = symbols.string_table()
    fast = speedups.csymbols
    if fast is not None and table is not None:
        # The compiled path: the same (size, strcmp name, table order) sort over the same columns.
        order, same = fast.size_name_order(idx, symbols.sizes, table[1], table[0])
        return _break_ties(image, order, same)
    order, names_sorted, same = _size_name_sorted(symbols, idx)
    order = _break_ties(image, order, same)
    # (ties are runs of one name: ordering them leaves names_sorted as it is)
    symbols.remember_names(order, names_sorted)
    return order


def _size_name_sorted(symbols: SymbolTable, idx: list[int]) -> tuple[list[int], list[str], list[int]]:
    """The pure-Python sort (the reference for the compiled one): `idx` sorted by size, then
    name (strcmp), then table order; with the names in that order, and the positions k whose
    symbol has the size and name of the one at k - 1."""
    sizes = symbols.sizes
    # By size first (a stable int sort: table order within a size), then names are decoded in
    # that order and sorted within each run of one size. Python compares these str keys
    # (latin-1, one byte per character) as strcmp does. Decoding after the size sort keeps
    # each run's names together in memory, which the sorts and the JSON writer then read.
    size_of = list(map(sizes.__getitem__, idx))
    by_size = sorted(range(len(idx)), key=size_of.__getitem__)
    idx = list(map(idx.__getitem__, by_size))
    size_of = list(map(size_of.__getitem__, by_size))
    name_of = symbols.sort_keys_at(idx)
    m = len(idx)
    pos: list[int] = []
    start = 0
    for end in compress(range(1, m + 1), map(operator.ne, size_of[1:] + [-1], size_of)):
        if end - start > 1:
            pos.extend(sorted(range(start, end), key=name_of.__getitem__))
        else:
            pos.append(start)
        start = end
    names_sorted = list(map(name_of.__getitem__, pos))
    sizes_sorted = list(map(size_of.__getitem__, pos))
    same_name = compress(range(1, len(pos)), map(operator.eq, names_sorted[1:], names_sorted[:-1]))
    same = [k for k in same_name if sizes_sorted[k] == sizes_sorted[k - 1]]
    return list(map(idx.__getitem__, pos)), names_sorted, same


def _break_ties(image: ElfImage, order: list[int], same: list[int]) -> list[int]:
    """Runs of equal (size, name) are in symbol-table order; nm puts them by value, then section
    VMA, then table order. `same` (ascending) holds the positions k of `order` whose symbol ties
    with the one at k - 1."""
    if not same:
        return order
    tie_key = _tie_key(image)
    i = 0
    while i < len(same):
        start = same[i] - 1
        end = same[i] + 1
        i += 1
        while i < len(same) and same[i] == end:
            end += 1
            i += 1
        order[start:end] = sorted(order[start:end], key=tie_key)
    return order


def _tie_key(image: ElfImage) -> Callable[[int], tuple[int, int, int]]:
    """(nm's value, section VMA, index) of symbol i, for ordering symbols of equal size and name."""
    symbols = image.symbols
    assert symbols is not None
    h = image.header
    vma = [bfd_vma(s.address, h.machine_code, h.elf_class) for s in image.sections]

    def key(i: int) -> tuple[int, int, int]:
        value = symbols.sizes[i] if symbols.nm_types[i] == "C" else symbols.values[i]
        ndx = symbols.shndx[i]
        return bfd_vma(value, h.machine_code, h.elf_class), vma[ndx] if ndx < len(vma) else 0, i

    return key


def section_index_by_name(image: ElfImage) -> dict[str, int]:
    return {s.name: s.index for s in image.sections}


__all__ = [
    "read_elf",
    "read_elf_bytes",
    "is_elf_file",
    "nm_size_sort_order",
]

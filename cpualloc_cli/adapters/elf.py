"""The ELF adapter: the only module that touches pyelftools.

Section and segment headers come through pyelftools; the symbol table is decoded in bulk
with numpy over the mapped file (no per-symbol pyelftools objects), into the columnar
:class:`~cpualloc_cli.model.image.SymbolTable`.

Every extent read from the file is checked against the file's real size before anything is
read or allocated. pyelftools raises more than ``ELFError`` on malformed input (KeyError,
struct.error, OverflowError, MemoryError, construct errors, UnicodeDecodeError...); the fence
in :func:`_fenced` names the ones we expect and turns them into :class:`ElfFormatError`.
Anything else is a bug in cpualloc and stays one (exit 4).
"""

from __future__ import annotations

import io
import mmap
import os
import struct
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from cpualloc_cli.errors import ElfFormatError, InputError
from cpualloc_cli.model.arches import arch_for_elf
from cpualloc_cli.model.bfd import bfd_vma, nm_values, section_letter
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
SHF_COMPRESSED = 0x800

STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE, STT_COMMON, STT_TLS, STT_GNU_IFUNC = 1, 2, 3, 4, 5, 6, 10
STB_LOCAL, STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 0, 1, 2, 10

# The most section headers a file could hold is bounded by its size; this is the absolute
# ceiling on top of that (ELF allows 2^32).
MAX_SECTIONS = 1 << 22

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


def _open_buffer(path: str) -> tuple[Any, int, Callable[[], None]]:
    """Map the file read-only. Errors are bad input (exit 3)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    if os.path.isdir(path):
        raise InputError("is a directory, not a kernel image", path=path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the returned closer
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    size = os.fstat(fh.fileno()).st_size
    if size == 0:
        fh.close()
        raise ElfFormatError("empty file, not an ELF image", path=path)
    del st
    try:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        # Not mappable (a pipe, a special file): read it, bounded.
        data = fh.read()
        fh.close()
        return data, len(data), lambda: None

    def close() -> None:
        try:
            mm.close()
        except BufferError:
            # numpy views of the map are still alive (e.g. in a traceback being raised):
            # the map is released when they are collected.
            pass
        fh.close()

    return mm, size, close


def is_elf_file(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == ELF_MAGIC
    except OSError:
        return False


def read_elf(path: str) -> ElfImage:
    """Read an ELF file (vmlinux, .o, .ko, ET_DYN) into an :class:`ElfImage`."""
    buf, size, close = _open_buffer(path)
    try:
        return _read(buf, size, path)
    finally:
        close()


def read_elf_bytes(data: bytes, name: str) -> ElfImage:
    """Read an ELF held in memory (e.g. a decompressed bzImage payload)."""
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
    if shnum and shstrndx >= shnum:
        raise ElfFormatError(f"section name table index {shstrndx} is out of range ({shnum} sections)",
                             path=path, hint="e_shstrndx is corrupt")
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


# --- the reader ---------------------------------------------------------------------------

def _read(buf: Any, size: int, path: str) -> ElfImage:
    ident = _ident(buf, size, path)
    raw = _raw_header(buf, ident)
    shnum, shstrndx = _section_counts(buf, size, ident, raw, path)
    _check_section_names(buf, size, ident, raw["e_shoff"], shnum, shstrndx, path)
    _check_segments(size, ident, raw, path)

    from elftools.elf.elffile import ELFFile

    stream = io.BytesIO(buf) if isinstance(buf, bytes) else buf
    with _fenced(path, "headers"):
        elf = ELFFile(stream)
        file_type = str(elf["e_type"]).removeprefix("ET_")
        machine_code = raw["e_machine"]
        from elftools.elf.descriptions import describe_e_machine

        machine = READELF_MACHINES.get(machine_code) or describe_e_machine(elf["e_machine"])
        if machine.startswith("<unknown"):
            machine = f"<unknown>: {machine_code:#x}"
        sections = _read_sections(elf, shnum, size, path, machine_code)
        segments = _read_segments(elf, raw["e_phnum"], machine_code)

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
        with _fenced(path, "symbol table"):
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


def _read_sections(elf: Any, shnum: int, size: int, path: str, machine_code: int) -> list[Section]:
    from elftools.elf.descriptions import describe_sh_type

    out: list[Section] = []
    for i in range(shnum):
        sec = elf.get_section(i)
        h = sec.header
        type_code = _type_code(h["sh_type"], "SHT")
        sh_size, sh_offset = int(h["sh_size"]), int(h["sh_offset"])
        if type_code != SHT_NOBITS and i != 0 and sh_size and (sh_offset > size or sh_offset + sh_size > size):
            raise ElfFormatError(
                f"section [{i}] {sec.name or '?'} (offset {sh_offset}, size {sh_size}) extends beyond the "
                f"end of the file ({size} bytes)", path=path, hint="the file is truncated or corrupt")
        type_name = READELF_SH_TYPES.get(type_code) or describe_sh_type(h["sh_type"])
        if isinstance(h["sh_type"], int) or type_name.startswith("<unknown"):
            type_name = _unknown_sh_type(type_code)
        out.append(Section(
            index=i,
            name=sec.name,
            type=type_name,
            type_code=type_code,
            flags=int(h["sh_flags"]),
            address=int(h["sh_addr"]),
            offset=sh_offset,
            size_bytes=sh_size,
            entsize=int(h["sh_entsize"]),
            link=int(h["sh_link"]),
            info=int(h["sh_info"]),
            alignment=int(h["sh_addralign"]),
        ))
    return out


def _unknown_sh_type(code: int) -> str:
    if 0x70000000 <= code <= 0x7FFFFFFF:
        return f"LOPROC+{code - 0x70000000:#x}"
    if 0x60000000 <= code <= 0x6FFFFFFF:
        return f"LOOS+{code - 0x60000000:#x}"
    return f"{code:#010x}"


def _type_code(value: Any, prefix: str) -> int:
    """pyelftools gives enum names for known values and ints otherwise."""
    if isinstance(value, int):
        return value
    from elftools.elf import enums

    table = {"SHT": enums.ENUM_SH_TYPE_BASE, "PT": enums.ENUM_P_TYPE_BASE}[prefix]
    code = table.get(value)
    if code is None:
        for extra in ("ENUM_SH_TYPE_SPARC", "ENUM_SH_TYPE_MIPS", "ENUM_SH_TYPE_ARM", "ENUM_SH_TYPE_AARCH64",
                      "ENUM_SH_TYPE_RISCV", "ENUM_SH_TYPE_AMD64", "ENUM_P_TYPE_ARM", "ENUM_P_TYPE_AARCH64",
                      "ENUM_P_TYPE_MIPS", "ENUM_P_TYPE_RISCV"):
            t = getattr(enums, extra, None)
            if t and value in t:
                return int(t[value])
        raise KeyError(f"unknown {prefix} value {value}")
    return int(code)


# readelf's names for processor-specific segment types pyelftools leaves as numbers.
_PT_PROC = {
    8: {0x70000000: "REGINFO", 0x70000001: "RTPROC", 0x70000002: "OPTIONS", 0x70000003: "ABIFLAGS"},
    40: {0x70000001: "EXIDX"},
    243: {0x70000003: "RISCV_ATTRIBUTES"},
}


def _read_segments(elf: Any, phnum: int, machine_code: int = 0) -> list[Segment]:
    out: list[Segment] = []
    if phnum == 0:
        return out
    for i in range(elf.num_segments()):
        h = elf.get_segment(i).header
        ptype = h["p_type"]
        type_code = _type_code(ptype, "PT")
        # readelf's spelling: PT_ prefix dropped, and MIPS/ARM ones without the arch prefix.
        if isinstance(ptype, str):
            name = ptype.removeprefix("PT_").removeprefix("MIPS_").removeprefix("ARM_")
        else:
            name = _PT_PROC.get(machine_code, {}).get(ptype) or f"{ptype:#x}"
        out.append(Segment(
            type=name, type_code=type_code, offset=int(h["p_offset"]), vaddr=int(h["p_vaddr"]),
            paddr=int(h["p_paddr"]), filesz=int(h["p_filesz"]), memsz=int(h["p_memsz"]),
            flags=int(h["p_flags"]), alignment=int(h["p_align"]),
        ))
    return out


# --- symbols --------------------------------------------------------------------------------

def _read_symbols(buf: Any, size: int, ident: _Ident, sections: list[Section], symtab: Section,
                  path: str) -> SymbolTable:
    import numpy as np

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
    e = ident.fmt
    if ident.bits == 64:
        dtype = np.dtype([("name", e + "u4"), ("info", "u1"), ("other", "u1"), ("shndx", e + "u2"),
                          ("value", e + "u8"), ("size", e + "u8")])
    else:
        dtype = np.dtype([("name", e + "u4"), ("value", e + "u4"), ("size", e + "u4"), ("info", "u1"),
                          ("other", "u1"), ("shndx", e + "u2")])
    syms = np.frombuffer(buf, dtype=dtype, count=count, offset=symtab.offset)
    strtab = bytes(buf[strsec.offset:strsec.offset + strsec.size_bytes])
    if strtab and strtab[-1] != 0:
        raise ElfFormatError(f"string table {strsec.name} does not end with a NUL", path=path,
                             hint="the file is corrupt")
    name_off = syms["name"].astype(np.int64)
    if count and int(name_off.max(initial=0)) >= max(len(strtab), 1):
        bad = int(np.argmax(name_off >= len(strtab)))
        raise ElfFormatError(f"symbol {bad} name offset {int(name_off[bad])} is beyond {strsec.name} "
                             f"({len(strtab)} bytes)", path=path, hint="the file is corrupt")
    names = _decode_names(strtab, name_off)

    shndx = syms["shndx"].astype(np.uint32)
    xidx = np.flatnonzero(shndx == SHN_XINDEX)
    if xidx.size:
        shndx_sec = next((s for s in sections if s.type_code == SHT_SYMTAB_SHNDX and s.link == symtab.index), None)
        if shndx_sec is None or shndx_sec.size_bytes < count * 4:
            raise ElfFormatError("symbols use SHN_XINDEX but there is no usable .symtab_shndx", path=path)
        ext = np.frombuffer(buf, dtype=np.dtype(e + "u4"), count=count, offset=shndx_sec.offset)
        shndx[xidx] = ext[xidx]

    info = syms["info"]
    stt = (info & 0xF).astype(np.uint8)
    stb = (info >> 4).astype(np.uint8)
    values = syms["value"].astype(np.uint64)
    sizes = syms["size"].astype(np.uint64)
    letters = _nm_letters(np, sections, shndx, stt, stb)

    return SymbolTable(
        names=tuple(names),
        values=array("Q", values.tobytes()),
        sizes=array("Q", sizes.tobytes()),
        shndx=array("L", shndx.astype(np.dtype("=u" + str(array("L").itemsize))).tobytes()),
        nm_types=letters,
        elf_types=stt.tobytes(),
        binds=stb.tobytes(),
    )


def _decode_names(strtab: bytes, offsets: Any) -> list[str]:
    import numpy as np

    if not strtab:
        return [""] * len(offsets)
    raw = np.frombuffer(strtab, dtype=np.uint8)
    nuls = np.flatnonzero(raw == 0)
    ends = nuls[np.searchsorted(nuls, offsets)].tolist()
    starts = offsets.tolist()
    if strtab.isascii():
        # One decode, then str slices: byte offsets equal character offsets.
        text = strtab.decode("ascii")
        return [text[a:b] for a, b in zip(starts, ends, strict=True)]
    return [strtab[a:b].decode("utf-8", "surrogateescape") for a, b in zip(starts, ends, strict=True)]


def _nm_letters(np: Any, sections: list[Section], shndx: Any, stt: Any, stb: Any) -> str:
    """GNU nm's letter for every symbol (bfd/syms.c bfd_decode_symclass), vectorised."""
    n = len(shndx)
    # Section letter table; index len(sections) is "section BFD does not have" -> abs.
    table = np.frombuffer("".join(section_letter(s) for s in sections).encode("ascii") + b"a",
                          dtype=np.uint8).copy()
    idx = shndx.astype(np.int64)
    in_range = idx < len(sections)
    letter = np.full(n, ord("?"), dtype=np.uint8)
    letter[in_range] = table[idx[in_range]]
    letter[idx == SHN_ABS] = ord("a")
    letter[~in_range & (idx != SHN_ABS)] = ord("a")

    weak = stb == STB_WEAK
    glob = stb == STB_GLOBAL
    unique = stb == STB_GNU_UNIQUE
    obj = (stt == STT_OBJECT) | (stt == STT_COMMON) | (stt == STT_TLS)
    upper = glob | unique
    out = letter.copy()
    out[upper] = np.where((out[upper] >= ord("a")) & (out[upper] <= ord("z")), out[upper] - 32, out[upper])
    out[(stt == STT_GNU_IFUNC)] = ord("i")
    out[weak] = np.where(obj[weak], ord("V"), ord("W"))
    out[unique & ~weak] = ord("u")
    und = idx == SHN_UNDEF
    out[und] = np.where(weak[und], np.where(obj[und], ord("v"), ord("w")), ord("U"))
    out[idx == SHN_COMMON] = ord("C")
    # Locals are BSF_LOCAL and globals BSF_GLOBAL; other bindings are neither -> '?'
    other_bind = ~(glob | weak | unique | (stb == STB_LOCAL)) & ~und & (idx != SHN_COMMON)
    out[other_bind] = ord("?")
    return str(out.tobytes().decode("ascii"))


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

def nm_size_sort_order(image: ElfImage) -> list[int]:
    """Indices of the symbols `nm -S --size-sort` prints, in its order.

    binutils nm.c: filter_symbols drops debugging (section/file), undefined and absolute
    symbols; sort_symbols_by_size keeps st_size != 0, sorted first by value (then section
    VMA, name), then by size and name (strcmp, C locale); glibc's qsort is a stable merge
    sort, so full ties keep symbol-table order.
    """
    import numpy as np

    symbols = image.symbols
    if symbols is None or len(symbols) == 0:
        return []
    sections = image.sections
    n = len(symbols)
    stt = np.frombuffer(symbols.elf_types, dtype=np.uint8)
    shndx = np.frombuffer(symbols.shndx, dtype=np.dtype("=u" + str(symbols.shndx.itemsize)))
    sizes = np.frombuffer(symbols.sizes, dtype=np.uint64)
    values = np.array(nm_values(image), dtype=np.uint64)
    letters = np.frombuffer(symbols.nm_types.encode("ascii"), dtype=np.uint8)
    keep = np.ones(n, dtype=bool)
    keep[0] = False
    keep &= (stt != STT_SECTION) & (stt != STT_FILE)
    keep &= (letters != ord("U")) & (letters != ord("w")) & (letters != ord("v"))
    keep &= (letters != ord("a")) & (letters != ord("A"))
    keep &= sizes != 0
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return []
    secvma = np.zeros(idx.size, dtype=np.uint64)
    sh = shndx[idx].astype(np.int64)
    valid = sh < len(sections)
    h = image.header
    addr_table = np.array([bfd_vma(s.address, h.machine_code, h.elf_class) for s in sections], dtype=np.uint64)
    secvma[valid] = addr_table[sh[valid]]
    all_names = symbols.names
    names = np.array([all_names[i].encode("utf-8", "surrogateescape") for i in idx.tolist()])  # fixed-width bytes
    # nm sorts twice with glibc's stable merge sort: by (value, section vma, name), then by
    # (size, name). Together that is one lexicographic sort on
    # (size, name, value, section vma, symbol-table index); lexsort's last key is primary.
    order = np.lexsort((idx, secvma, values[idx], names, sizes[idx]))
    return [int(i) for i in idx[order].tolist()]


def section_index_by_name(image: ElfImage) -> dict[str, int]:
    return {s.name: s.index for s in image.sections}


__all__ = [
    "read_elf",
    "read_elf_bytes",
    "is_elf_file",
    "nm_size_sort_order",
]

"""Mutators for the cpualloc fuzz harness: structure-aware (ELF headers, section and program
headers, symbol tables, compressed streams and their size trailers, text lines) and random.

Every mutator is a pure function of (data, rng) -> (new data, description). They never read
files or run anything; fuzz/run.py chooses the seeds, calls them and runs the CLI.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

Mutation = tuple[bytes, str]

# --- boundary values ------------------------------------------------------------------------


def boundaries(width_bytes: int, file_size: int) -> list[int]:
    """The issue's boundary values (0, 1, file size, 2^31, 2^63), their neighbours, and the
    all-ones value, masked to a field of `width_bytes`."""
    mask = (1 << (8 * width_bytes)) - 1
    vals = [0, 1, 2, file_size, file_size - 1, file_size + 1, 1 << 31, (1 << 31) - 1, (1 << 32) - 1,
            1 << 63, mask, mask - 1, 0x8000, 0xFF00, 0xFFFF]
    return sorted({v & mask for v in vals if v >= 0})


# --- ELF layout --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElfLayout:
    bits: int
    fmt: str  # "<" or ">"
    size: int
    shoff: int
    shnum: int
    shentsize: int
    phoff: int
    phnum: int
    phentsize: int

    # (offset in the ELF header, width) of each field
    @property
    def header_fields(self) -> dict[str, tuple[int, int]]:
        if self.bits == 64:
            return {"e_type": (16, 2), "e_machine": (18, 2), "e_version": (20, 4), "e_entry": (24, 8),
                    "e_phoff": (32, 8), "e_shoff": (40, 8), "e_flags": (48, 4), "e_ehsize": (52, 2),
                    "e_phentsize": (54, 2), "e_phnum": (56, 2), "e_shentsize": (58, 2), "e_shnum": (60, 2),
                    "e_shstrndx": (62, 2)}
        return {"e_type": (16, 2), "e_machine": (18, 2), "e_version": (20, 4), "e_entry": (24, 4),
                "e_phoff": (28, 4), "e_shoff": (32, 4), "e_flags": (36, 4), "e_ehsize": (40, 2),
                "e_phentsize": (42, 2), "e_phnum": (44, 2), "e_shentsize": (46, 2), "e_shnum": (48, 2),
                "e_shstrndx": (50, 2)}

    @property
    def section_fields(self) -> dict[str, tuple[int, int]]:
        if self.bits == 64:
            return {"sh_name": (0, 4), "sh_type": (4, 4), "sh_flags": (8, 8), "sh_addr": (16, 8),
                    "sh_offset": (24, 8), "sh_size": (32, 8), "sh_link": (40, 4), "sh_info": (44, 4),
                    "sh_addralign": (48, 8), "sh_entsize": (56, 8)}
        return {"sh_name": (0, 4), "sh_type": (4, 4), "sh_flags": (8, 4), "sh_addr": (12, 4),
                "sh_offset": (16, 4), "sh_size": (20, 4), "sh_link": (24, 4), "sh_info": (28, 4),
                "sh_addralign": (32, 4), "sh_entsize": (36, 4)}

    @property
    def segment_fields(self) -> dict[str, tuple[int, int]]:
        if self.bits == 64:
            return {"p_type": (0, 4), "p_flags": (4, 4), "p_offset": (8, 8), "p_vaddr": (16, 8),
                    "p_paddr": (24, 8), "p_filesz": (32, 8), "p_memsz": (40, 8), "p_align": (48, 8)}
        return {"p_type": (0, 4), "p_offset": (4, 4), "p_vaddr": (8, 4), "p_paddr": (12, 4),
                "p_filesz": (16, 4), "p_memsz": (20, 4), "p_flags": (24, 4), "p_align": (28, 4)}

    @property
    def symbol_fields(self) -> dict[str, tuple[int, int]]:
        if self.bits == 64:
            return {"st_name": (0, 4), "st_info": (4, 1), "st_other": (5, 1), "st_shndx": (6, 2),
                    "st_value": (8, 8), "st_size": (16, 8)}
        return {"st_name": (0, 4), "st_value": (4, 4), "st_size": (8, 4), "st_info": (12, 1),
                "st_other": (13, 1), "st_shndx": (14, 2)}


def elf_layout(data: bytes) -> ElfLayout | None:
    if len(data) < 52 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    bits = 32 if data[4] == 1 else 64
    fmt = "<" if data[5] == 1 else ">"
    if bits == 64:
        if len(data) < 64:
            return None
        phoff, shoff = struct.unpack_from(fmt + "QQ", data, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(fmt + "HHHH", data, 54)
    else:
        phoff, shoff = struct.unpack_from(fmt + "II", data, 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(fmt + "HHHH", data, 42)
    return ElfLayout(bits, fmt, len(data), shoff, shnum, shentsize, phoff, phnum, phentsize)


def _put(data: bytearray, offset: int, width: int, value: int, fmt: str) -> bool:
    if offset < 0 or offset + width > len(data):
        return False
    code = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
    struct.pack_into(fmt + code, data, offset, value & ((1 << (8 * width)) - 1))
    return True


def _get(data: bytes, offset: int, width: int, fmt: str) -> int:
    code = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
    return int(struct.unpack_from(fmt + code, data, offset)[0])


def _sections(lay: ElfLayout) -> list[int]:
    """File offsets of the section headers that lie inside the file."""
    if not lay.shoff or lay.shentsize == 0:
        return []
    return [lay.shoff + i * lay.shentsize for i in range(lay.shnum)
            if lay.shoff + (i + 1) * lay.shentsize <= lay.size]


def _section_header(data: bytes, lay: ElfLayout, off: int) -> dict[str, int]:
    return {name: _get(data, off + o, w, lay.fmt) for name, (o, w) in lay.section_fields.items()}


def elf_header_field(data: bytes, rng: random.Random) -> Mutation:
    lay = elf_layout(data)
    if lay is None:
        return byte_flips(data, rng)
    names = ["e_shoff", "e_shnum", "e_shentsize", "e_shstrndx", "e_phnum", "e_phoff", "e_phentsize",
             "e_ehsize", "e_type", "e_machine"]
    name = rng.choice(names)
    off, width = lay.header_fields[name]
    value = rng.choice(boundaries(width, lay.size) + [rng.getrandbits(8 * width)])
    out = bytearray(data)
    _put(out, off, width, value, lay.fmt)
    return bytes(out), f"elf header {name}={value:#x}"


def elf_section_field(data: bytes, rng: random.Random) -> Mutation:
    lay = elf_layout(data)
    secs = _sections(lay) if lay else []
    if lay is None or not secs:
        return elf_header_field(data, rng)
    i = rng.randrange(len(secs))
    name = rng.choice(["sh_size", "sh_offset", "sh_link", "sh_entsize", "sh_size", "sh_offset", "sh_name",
                       "sh_type", "sh_info", "sh_addralign", "sh_flags", "sh_addr"])
    off, width = lay.section_fields[name]
    extra = [rng.getrandbits(8 * width), lay.shnum, lay.shnum - 1, lay.shnum + 1]
    if name == "sh_type":
        extra += [2, 3, 8, 11, 18, 0x6FFFFFF6, 0x70000000]  # SYMTAB STRTAB NOBITS DYNSYM SHNDX ...
    value = rng.choice(boundaries(width, lay.size) + extra)
    out = bytearray(data)
    _put(out, secs[i] + off, width, value, lay.fmt)
    return bytes(out), f"section [{i}] {name}={value:#x}"


def elf_segment_field(data: bytes, rng: random.Random) -> Mutation:
    lay = elf_layout(data)
    if lay is None or not lay.phoff or not lay.phnum or lay.phentsize == 0:
        return elf_section_field(data, rng)
    i = rng.randrange(lay.phnum)
    base = lay.phoff + i * lay.phentsize
    name = rng.choice(list(lay.segment_fields))
    off, width = lay.segment_fields[name]
    value = rng.choice(boundaries(width, lay.size) + [rng.getrandbits(8 * width), 1, 2, 4, 0x6474E550])
    out = bytearray(data)
    if not _put(out, base + off, width, value, lay.fmt):
        return byte_flips(data, rng)
    return bytes(out), f"segment [{i}] {name}={value:#x}"


def elf_compressed_flag(data: bytes, rng: random.Random) -> Mutation:
    """SHF_COMPRESSED on a section, often with a boundary sh_offset/sh_size: pyelftools parses the
    compression header at sh_offset as soon as the section object is made (pyelftools #612)."""
    lay = elf_layout(data)
    secs = _sections(lay) if lay else []
    if lay is None or len(secs) < 2:
        return elf_section_field(data, rng)
    i = rng.randrange(1, len(secs))
    out = bytearray(data)
    foff, fwidth = lay.section_fields["sh_flags"]
    flags = _get(data, secs[i] + foff, fwidth, lay.fmt) | 0x800
    _put(out, secs[i] + foff, fwidth, flags, lay.fmt)
    what = f"section [{i}] sh_flags|=SHF_COMPRESSED"
    if rng.random() < 0.7:
        name = rng.choice(["sh_offset", "sh_size", "sh_type"])
        off, width = lay.section_fields[name]
        value = rng.choice(boundaries(width, lay.size) + [lay.size - 4, lay.size - 12, 0, 1])
        _put(out, secs[i] + off, width, value, lay.fmt)
        what += f", {name}={value:#x}"
    return bytes(out), what


def _symtabs(data: bytes, lay: ElfLayout) -> list[tuple[int, dict[str, int]]]:
    out = []
    for off in _sections(lay):
        h = _section_header(data, lay, off)
        if h["sh_type"] in (2, 11):  # SYMTAB, DYNSYM
            out.append((off, h))
    return out


def elf_symbol(data: bytes, rng: random.Random) -> Mutation:
    """Symbol-table entry size, or one field of one symbol, set to a boundary value."""
    lay = elf_layout(data)
    tabs = _symtabs(data, lay) if lay else []
    if lay is None or not tabs:
        return elf_section_field(data, rng)
    hoff, h = rng.choice(tabs)
    out = bytearray(data)
    if rng.random() < 0.35:
        eoff, ewidth = lay.section_fields["sh_entsize"]
        value = rng.choice([0, 1, 8, 12, 16, 23, 24, 25, 32, 48, 1 << 31, (1 << (8 * ewidth)) - 1])
        _put(out, hoff + eoff, ewidth, value, lay.fmt)
        return bytes(out), f"symtab sh_entsize={value:#x}"
    ent = 24 if lay.bits == 64 else 16
    count = h["sh_size"] // ent
    if count == 0 or h["sh_offset"] + count * ent > lay.size:
        return elf_section_field(data, rng)
    k = rng.randrange(count)
    name = rng.choice(list(lay.symbol_fields))
    off, width = lay.symbol_fields[name]
    extra = [rng.getrandbits(8 * width)]
    if name == "st_shndx":
        extra += [0xFFF1, 0xFFF2, 0xFFFF, 0xFF00, lay.shnum, lay.shnum + 1]
    if name == "st_info":
        extra += [0x10, 0x15, 0x1A, 0x26, 0xA0, 0xF0]
    value = rng.choice(boundaries(width, lay.size) + extra)
    _put(out, h["sh_offset"] + k * ent + off, width, value, lay.fmt)
    return bytes(out), f"symbol {k} {name}={value:#x}"


def elf_strtab(data: bytes, rng: random.Random) -> Mutation:
    """Break a string table: drop its final NUL, or fill it with 0xff / invalid UTF-8."""
    lay = elf_layout(data)
    if lay is None:
        return byte_flips(data, rng)
    tabs = []
    for off in _sections(lay):
        h = _section_header(data, lay, off)
        if h["sh_type"] == 3 and 0 < h["sh_size"] and h["sh_offset"] + h["sh_size"] <= lay.size:
            tabs.append(h)
    if not tabs:
        return elf_section_field(data, rng)
    h = rng.choice(tabs)
    out = bytearray(data)
    start, end = h["sh_offset"], h["sh_offset"] + h["sh_size"]
    how = rng.choice(["no-final-nul", "fill-ff", "no-nuls", "invalid-utf8"])
    if how == "no-final-nul":
        out[end - 1] = 0x41
    elif how == "fill-ff":
        out[start:end] = b"\xff" * (end - start)
    elif how == "no-nuls":
        out[start:end] = bytes(0x41 if b == 0 else b for b in out[start:end])
    else:
        for _ in range(max(1, (end - start) // 16)):
            p = rng.randrange(start, end)
            out[p] = rng.choice([0x80, 0xC0, 0xFE, 0xED])
    return bytes(out), f"string table at {start:#x}: {how}"


def elf_header_boundaries(data: bytes) -> list[int]:
    """Every header boundary of an ELF: ident, header, each program and section header, and the
    start and end of each section's contents."""
    lay = elf_layout(data)
    cuts = {4, 5, 16, 20, 52, 64}
    if lay is None:
        return sorted(c for c in cuts if c < len(data))
    for i in range(min(lay.phnum, 4096)):
        cuts.add(lay.phoff + i * lay.phentsize)
    for i, off in enumerate(_sections(lay)):
        cuts.add(off)
        if i < 4096:
            h = _section_header(data, lay, off)
            cuts.add(h["sh_offset"])
            cuts.add(h["sh_offset"] + h["sh_size"])
    cuts.add(lay.shoff + lay.shnum * lay.shentsize - 1)
    return sorted(c for c in cuts if 0 < c < len(data))


def truncate_at_boundary(data: bytes, rng: random.Random) -> Mutation:
    cuts = elf_header_boundaries(data) if data[:4] == b"\x7fELF" else compressed_boundaries(data)
    if not cuts:
        return truncate_random(data, rng)
    cut = rng.choice(cuts) + rng.choice([0, 0, 0, -1, 1])
    cut = max(0, min(cut, len(data) - 1))
    return data[:cut], f"truncated at {cut} of {len(data)}"


def truncate_random(data: bytes, rng: random.Random) -> Mutation:
    if len(data) < 2:
        return b"", "truncated to 0"
    cut = rng.randrange(0, len(data))
    return data[:cut], f"truncated at {cut} of {len(data)}"


# --- generic bytes ----------------------------------------------------------------------------


def byte_flips(data: bytes, rng: random.Random) -> Mutation:
    if not data:
        return b"\x00", "empty -> one NUL"
    out = bytearray(data)
    n = rng.choice([1, 1, 2, 4, 8, 16, 64])
    head = rng.random() < 0.5  # half the time, aim at the first 4 KiB (headers live there)
    span = min(len(out), 4096) if head else len(out)
    for _ in range(n):
        p = rng.randrange(span)
        out[p] = rng.choice([out[p] ^ (1 << rng.randrange(8)), rng.getrandbits(8), 0, 0xFF])
    return bytes(out), f"{n} byte flips ({'head' if head else 'anywhere'})"


def chunk_ops(data: bytes, rng: random.Random) -> Mutation:
    if len(data) < 8:
        return byte_flips(data, rng)
    a = rng.randrange(len(data))
    n = rng.choice([1, 4, 16, 256, 4096])
    how = rng.choice(["delete", "duplicate", "zero", "ones"])
    if how == "delete":
        return data[:a] + data[a + n:], f"deleted {n} bytes at {a}"
    if how == "duplicate":
        return data[:a] + data[a:a + n] + data[a:], f"duplicated {n} bytes at {a}"
    fill = b"\x00" if how == "zero" else b"\xff"
    end = min(len(data), a + n)
    return data[:a] + fill * (end - a) + data[end:], f"{how} {end - a} bytes at {a}"


# --- compressed images ---------------------------------------------------------------------------

MAGICS: dict[str, bytes] = {
    "gzip": b"\x1f\x8b\x08", "xz": b"\xfd7zXZ\x00", "bzip2": b"BZh", "lzma": b"\x5d\x00\x00",
    "zstd": b"\x28\xb5\x2f\xfd", "lz4": b"\x02\x21\x4c\x18", "lzo": b"\x89LZO", "elf": b"\x7fELF",
}


def _magic_offsets(data: bytes) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for name, magic in MAGICS.items():
        start = 0
        while len(found) < 64:
            i = data.find(magic, start)
            if i < 0:
                break
            found.append((i, name))
            start = i + 1
    return sorted(found)


def compressed_boundaries(data: bytes) -> list[int]:
    cuts = {4, 16, 0x1F1, 0x202, 0x248, 0x250, len(data) - 4, len(data) - 1}
    for off, _ in _magic_offsets(data):
        cuts.update({off, off + 2, off + 10, off + 32})
    return sorted(c for c in cuts if 0 < c < len(data))


def compressed_stream(data: bytes, rng: random.Random) -> Mutation:
    """Corrupt the bytes right after a compression magic (stream headers, block sizes)."""
    found = [(o, n) for o, n in _magic_offsets(data) if n != "elf"]
    if not found:
        return byte_flips(data, rng)
    off, name = rng.choice(found)
    out = bytearray(data)
    n = rng.choice([1, 2, 4, 16])
    for _ in range(n):
        p = min(len(out) - 1, off + rng.randrange(0, 48))
        out[p] = rng.getrandbits(8)
    return bytes(out), f"{n} bytes corrupted in the {name} stream at {off:#x}"


def compressed_trailer(data: bytes, rng: random.Random) -> Mutation:
    """The 4-byte little-endian decompressed-size trailer (gzip ISIZE, Linux's appended size)."""
    if len(data) < 8:
        return byte_flips(data, rng)
    value = rng.choice([0, 1, len(data), 1 << 31, 0xFFFFFFFF, 0x7FFFFFFF, 4 << 20, rng.getrandbits(32)])
    where = rng.choice([len(data) - 4, len(data) - 8])
    out = bytearray(data)
    struct.pack_into("<I", out, where, value)
    return bytes(out), f"size trailer at {where:#x}={value:#x}"


def bzimage_header(data: bytes, rng: random.Random) -> Mutation:
    """x86 boot protocol fields: setup_sects (0x1f1), payload_offset (0x248), payload_length
    (0x24c), init_size (0x260)."""
    if len(data) < 0x270 or data[0x202:0x206] != b"HdrS":
        return compressed_stream(data, rng)
    field, width = rng.choice([(0x1F1, 1), (0x248, 4), (0x24C, 4), (0x260, 4), (0x206, 2)])
    value = rng.choice(boundaries(width, len(data)) + [rng.getrandbits(8 * width)])
    out = bytearray(data)
    _put(out, field, width, value, "<")
    return bytes(out), f"bzImage header field {field:#x}={value:#x}"


def compressed_payload(data: bytes, rng: random.Random) -> Mutation:
    """A standalone gzip/xz/bzip2/lzma stream whose payload is an ELF: decompress, mutate the ELF
    structurally, recompress with the same codec. The ELF is then read from memory
    (read_elf_bytes), a different path from a file on disk."""
    import bz2
    import gzip
    import lzma

    codecs: list[tuple[bytes, Callable[[bytes], bytes], Callable[[bytes], bytes]]] = [
        (MAGICS["gzip"], gzip.decompress, lambda b: gzip.compress(b, mtime=0)),
        (MAGICS["xz"], lzma.decompress, lambda b: lzma.compress(b, check=lzma.CHECK_CRC32)),
        (MAGICS["bzip2"], bz2.decompress, bz2.compress),
        (MAGICS["lzma"], lambda b: lzma.decompress(b, format=lzma.FORMAT_ALONE),
         lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE)),
    ]
    for magic, unpack, pack in codecs:
        if data.startswith(magic):
            try:
                inner = unpack(data)
            except Exception:  # noqa: BLE001 - a stream an earlier mutation broke: mutate its bytes instead
                break
            if inner[:4] != b"\x7fELF" or len(inner) > 16 << 20:
                break
            mutated, notes = mutate(inner, ELF_MUTATORS, rng, rounds=rng.choice([1, 1, 2]))
            return pack(mutated), "payload ELF: " + "; ".join(notes)
    return compressed_stream(data, rng)


def insert_magic(data: bytes, rng: random.Random) -> Mutation:
    name = rng.choice(list(MAGICS))
    p = rng.randrange(len(data) + 1)
    return data[:p] + MAGICS[name] + data[p:], f"inserted {name} magic at {p}"


# --- text inputs -----------------------------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def text_line(data: bytes, rng: random.Random, interesting: list[bytes] | None = None) -> Mutation:
    """Long, binary, NUL, invalid-UTF-8 and boundary-value lines, or a line deleted/duplicated."""
    lines = _lines(data)
    i = rng.randrange(len(lines))
    how = rng.choice(["long", "binary", "nul", "invalid-utf8", "delete", "duplicate", "crlf", "value",
                      "interesting", "interesting", "huge-number", "truncate-line"])
    if how == "long":
        n = rng.choice([4096, 65536, 1 << 20])
        new = [lines[i] + b"A" * n]
    elif how == "binary":
        new = [bytes(rng.getrandbits(8) for _ in range(rng.choice([8, 64, 512])))]
    elif how == "nul":
        ln = lines[i]
        p = rng.randrange(len(ln) + 1)
        new = [ln[:p] + b"\x00" + ln[p:]]
    elif how == "invalid-utf8":
        ln = lines[i]
        p = rng.randrange(len(ln) + 1)
        new = [ln[:p] + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]) + ln[p:]]
    elif how == "delete":
        new = []
    elif how == "duplicate":
        new = [lines[i], lines[i]]
    elif how == "crlf":
        new = [lines[i] + b"\r"]
    elif how == "value":
        ln = lines[i]
        if b"=" in ln:
            key = ln.split(b"=", 1)[0]
            val = rng.choice([b"", b"0", b"-1", b"0x", b"0xffffffffffffffffffff", b"1e9999", b"\"", b"y", b"m",
                              b"n", b"4096", b"\"unterminated", b"nan", b"99999999999999999999999999"])
            new = [key + b"=" + val]
        else:
            new = [ln + b" " + rng.choice([b"=", b"\"", b"(", b"[", b"{", b"#", b"\\"])]
    elif how == "huge-number":
        new = [bytes(0x39 if 0x30 <= c <= 0x39 else c for c in lines[i]) + b"9" * rng.choice([1, 20, 400])]
    elif how == "truncate-line":
        ln = lines[i]
        new = [ln[: rng.randrange(len(ln) + 1)]]
    else:
        new = [rng.choice(interesting or [b"\x00"])]
    out = lines[:i] + new + lines[i + 1:]
    return b"\n".join(out), f"line {i + 1}: {how}"


def text_bytes(data: bytes, rng: random.Random) -> Mutation:
    return byte_flips(data, rng)


# Interesting lines per text kind (inserted by text_line's "interesting" choice).
CONFIG_LINES = [
    b"CONFIG_NR_CPUS=0", b"CONFIG_NR_CPUS=-1", b"CONFIG_NR_CPUS=4294967296", b"CONFIG_NR_CPUS=0x7fffffffffffffff",
    b"CONFIG_NR_CPUS=99999999999999999999999999999999", b"CONFIG_NR_CPUS=", b"CONFIG_NR_CPUS=\"64\"",
    b"CONFIG_CPU_AREA_ORDER=63", b"CONFIG_CPU_AREA_ORDER=4096", b"CONFIG_PAGE_SHIFT=64", b"CONFIG_SMP=maybe",
    b"CONFIG_=y", b"CONFIG_UNKNOWN_SYMBOL_XYZ=y", b"# CONFIG_SMP is not set", b"CONFIG_ARCH_SPARC64=n",
    b"CONFIG_64BIT=n", b"CONFIG_X86_64=y", b"CONFIG_ARCH_SPARC64=y", b"CONFIG_PHYSICAL_START=0xffffffffffffffff",
    b"CONFIG_NODES_SHIFT=63", b"CONFIG_CPU_AREA_ALLOC_ORDER=64", b"CONFIG_NR_CPUS=1e3", b"\x00",
    b"CONFIG_NR_CPUS=64\x00", b"CONFIG_LOCALVERSION=\"" + b"x" * 5000 + b"\"",
]
KCONFIG_LINES = [
    b'source "Kconfig"', b'source "Kconfig.arch"', b'source "../../../../../../etc/passwd"',
    b'source "/etc/hostname"', b'source "nonexistent/Kconfig"', b'osource "$(SRCARCH)/../../x"',
    b"config NR_CPUS", b"\tint \"x\"", b"\trange 1 0", b"\tdefault 99999999999999999999999",
    b"\tdepends on " + b"(" * 3000 + b"SMP" + b")" * 3000,
    b"\tdepends on " + b"!" * 5000 + b"SMP",
    b"\tdepends on " + b" && ".join([b"SMP"] * 3000),
    b"\tdefault $(shell,touch __MARKER__)", b"X := $(shell,touch __MARKER__)", b"$(error,boom)",
    b"if SMP", b"endif", b"choice", b"endchoice", b"menu \"x\"", b"endmenu", b"\thelp", b"config",
    b"\tselect NR_CPUS", b"\timply SMP", b"Y := $(Y)$(Y)", b"Z = $(Z)", b"W = $(W)", b"$(W)",
    b"\tdefault \"" + b"a" * 100000 + b"\"",
]
TOML_LINES = [
    b"[budgets]", b"bss = \"+1%\"", b"bss = \"+99999999999999999999%\"", b"bss = 5", b"fail_on = 3",
    b"fail_on = \"sometimes\"", b"crashkernel = \"-1MiB\"", b"crashkernel = \"999999999999GiB\"",
    b"[[limit]]", b"id = \"x\"", b"measure = \"bss\"", b"measure = \"nonsense\"", b"max = \"8MiB\"",
    b"[[waiver]]", b"rule = \"x86.kernel-image-size\"", b"reason = \"\"", b"expires = 1979-05-27",
    b"expires = \"not-a-date\"", b"expires = 9999-12-31T23:59:59Z", b"source = \"../../../../etc/passwd\"",
    b"path = \"/etc/passwd\"", b"include = \"../../../../etc/shadow\"",
    b"x = " + b"[" * 5000 + b"]" * 5000, b"x = " + b"{a=" * 3000 + b"1" + b"}" * 3000,
    b"load_window = \"0\"", b"[tool.cpualloc]", b"a = \"\\u0000\"",
]
JSON_LINES = [
    b"[" * 5000 + b"]" * 5000, b"{\"a\":" * 5000 + b"1" + b"}" * 5000, b"1e99999", b"NaN",
    b"\"schema_version\": 99999999999999999999999,", b"\"schema_version\": \"x\",", b"null", b"{}", b"[]",
    b"\"tool\": null,", b"\"measures\": {\"bss\": -1},", b"\"measures\": {\"bss\": 1e308},",
    b"\"bss\": 18446744073709551616,", b"\"bss\": \"12\",", b"\"\\ud800\"",
]


# --- kallsyms tables (issue 16 item 4) ----------------------------------------------------------
#
# A kernel image without .symtab carries kallsyms (cpualloc_cli/adapters/kallsyms.py cites the
# layout, 6.1 and 6.12 scripts/kallsyms.c). These corrupt the tables where find_kallsyms found
# them in the unmutated input (its `positions`), one class at a time; the decoder must end in
# "no kallsyms" (None) or a bad-input error, never an exception, a hang or unbounded memory.

KALLSYMS_CORRUPTIONS = (
    "token-index-range",   # kallsyms_token_index entries past the table, equal, descending
    "token-long",          # a consistent token table whose last token is as long as the table allows
    "token-no-nul",        # the token table's NULs gone: the strings run into the index
    "names-expand",        # name entries made long (two-byte ULEB lengths) of the longest token
    "names-length",        # one entry's length byte 0, 0x7f, 0xff 0xff, 0x80 0x00
    "markers-disagree",    # kallsyms_markers[k] off by 1, 256, doubled, all ones, two swapped
    "num-syms-huge",       # kallsyms_num_syms 0, 1, N+-1, N+256, 2^24, 2^31-1, 2^32-1
    "addresses-unsorted",  # two offsets swapped, one set to 0x7fffffff / 0x80000000 / -2
    "addresses-past-end",  # the address array cut off the start or end; an ELF: kallsyms_relative_base near the top
    "seqs",                # kallsyms_seqs_of_names not a permutation
    "truncate",            # the buffer cut inside one table (an ELF: the rest of the tables zeroed)
)


@dataclass(frozen=True)
class KallsymsLayout:
    """Where each table is in a buffer, from find_kallsyms on the unmutated data."""
    n: int
    word: int
    fmt: str  # "<" or ">"
    tables: dict[str, tuple[int, int]]  # name -> (start, length)
    elf: bool
    marker_width: int = 4  # 8: PTR markers (kernels before 4.20 on 64-bit)
    num_syms_width: int = 4  # 8: a PTR num_syms, as above


_LAYOUTS: dict[bytes, KallsymsLayout | None] = {}


def kallsyms_layout(data: bytes) -> KallsymsLayout | None:
    """The table extents in `data` (None if it has no kallsyms). find_kallsyms gives where each
    table starts; the lengths follow from the symbol count (6.1 scripts/kallsyms.c:500-624)."""
    import hashlib

    key = hashlib.sha256(data).digest()
    if key in _LAYOUTS:
        return _LAYOUTS[key]
    from cpualloc_cli.adapters.kallsyms import find_kallsyms
    from cpualloc_cli.errors import InputError

    try:
        k = find_kallsyms(data, "<seed>")
    except InputError:
        k = None
    lay = None
    if k is not None:
        pos = dict(k.positions)
        n, w = len(k), k.word_bytes
        m = (n + 255) // 256
        fmt = "<" if k.endian == "little" else ">"
        # PTR (8-byte) markers and num_syms in older 64-bit kernels: markers[0] is 0, so its high
        # or low half at +4 is 0 where a .long markers[1] is not; a big-endian PTR num_syms has
        # its value in the second half
        mw = 8 if w == 8 and m > 1 and struct.unpack_from(fmt + "I", data, pos["markers"] + 4)[0] == 0 else 4
        nw = 8 if w == 8 and struct.unpack_from(fmt + "I", data, pos["num_syms"])[0] != n else 4

        def al(x: int) -> int:
            return (x + w - 1) // w * w

        t: dict[str, tuple[int, int]] = {
            "token_table": (pos["token_table"], pos["token_index"] - pos["token_table"]),
            "token_index": (pos["token_index"], 512),
            "markers": (pos["markers"], mw * m),
            "names": (pos["names"], pos["markers"] - pos["names"]),
            "num_syms": (pos["num_syms"], nw),
        }
        if k.base_relative:
            t["offsets"] = (pos["addresses"], 4 * n)
            t["relative_base"] = (al(pos["addresses"] + 4 * n), w)
        else:
            t["addresses"] = (pos["addresses"], w * n)
        if k.seqs_of_names:
            if k.layout == "offsets-after-index":
                t["seqs"] = (al(t["relative_base"][0] + w), 3 * n)
            else:
                t["seqs"] = (al(pos["markers"] + mw * m), 3 * n)
        lay = KallsymsLayout(n, w, fmt, t, data[:4] == b"\x7fELF", mw, nw)
    if len(_LAYOUTS) > 16:
        _LAYOUTS.clear()
    _LAYOUTS[key] = lay
    return lay


def kallsyms_table(data: bytes, rng: random.Random, corruption: str | None = None) -> Mutation:
    """Corrupt one kallsyms table of `data` (class `corruption`, else a random one)."""
    lay = kallsyms_layout(data)
    if lay is None:
        return byte_flips(data, rng)
    corruption = corruption or rng.choice(KALLSYMS_CORRUPTIONS)
    out = bytearray(data)
    t, f, n = lay.tables, lay.fmt, lay.n
    tt, tlen = t["token_table"]
    ti = t["token_index"][0]
    mk, mlen = t["markers"]
    nm, nlen = t["names"]

    def u16(i: int, v: int) -> None:
        struct.pack_into(f + "H", out, ti + 2 * i, v & 0xFFFF)

    if corruption == "token-index-range":
        i = rng.randrange(1, 256)
        v = rng.choice([0xFFFF, 0x8000, tlen, tlen + 1, 0, struct.unpack_from(f + "H", data, ti + 2 * i - 2)[0]])
        u16(i, v)
        return bytes(out), f"kallsyms_token_index[{i}] = {v:#x}"
    if corruption == "token-long":
        # 255 one-character tokens (the digits where they were, so the table is still found)
        # and token 255 filling the rest: a table as consistent as the real one, whose token 255
        # expands to tlen - 511 bytes each time a name uses it
        chars = [bytes([0x41 + (c % 26)]) for c in range(255)]
        for c in range(48, 58):
            chars[c] = bytes([c])
        long_len = tlen - 2 * 255 - 1
        if long_len < 1:
            return kallsyms_table(data, rng, "token-no-nul")
        body = b"".join(c + b"\0" for c in chars) + b"x" * long_len + b"\0"
        out[tt:tt + tlen] = body
        for i in range(256):
            u16(i, 2 * i)
        return bytes(out), f"kallsyms_token_table: token 255 is {long_len} bytes long"
    if corruption == "token-no-nul":
        region = out[tt:tt + tlen]
        fill = rng.choice([b"A", b"\x7f", b"\xff"])
        out[tt:tt + tlen] = region.replace(b"\0", fill)
        return bytes(out), f"kallsyms_token_table: every NUL replaced by {fill!r}"
    if corruption == "names-expand":
        # the first entry becomes one long entry (two-byte ULEB length up to 0x3fff) of code 255
        length = min(rng.choice([0x3FFF, 0x2000, 300]), nlen - 2)
        out[nm] = 0x80 | (length & 0x7F)
        out[nm + 1] = length >> 7
        out[nm + 2:nm + 2 + length] = b"\xff" * length
        return bytes(out), f"kallsyms_names[0]: {length} tokens of code 255"
    if corruption == "names-length":
        j = rng.randrange(min(n, 4096))
        p = nm
        for _ in range(j):  # walk to entry j (lengths of 6.1+: ULEB128, one or two bytes)
            ln = out[p]
            if ln & 0x80:
                ln = (ln & 0x7F) | (out[p + 1] << 7)
                p += 1
            p += 1 + ln
        v = rng.choice([b"\0", b"\x7f", b"\xff\xff", b"\x80\x00"])
        out[p:p + len(v)] = v
        return bytes(out), f"kallsyms_names[{j}]: length bytes {v.hex()}"
    if corruption == "markers-disagree":
        mw = lay.marker_width
        code = "I" if mw == 4 else "Q"
        m = mlen // mw
        k = rng.randrange(1, m) if m > 1 else 0
        old = struct.unpack_from(f + code, data, mk + mw * k)[0]
        how = rng.choice(["+1", "-1", "+256", "x2", "ones", "swap"])
        if how == "swap" and k + 1 < m:
            nxt = struct.unpack_from(f + code, data, mk + mw * k + mw)[0]
            struct.pack_into(f + code * 2, out, mk + mw * k, nxt, old)
        else:
            v = {"+1": old + 1, "-1": old - 1, "+256": old + 256, "x2": 2 * old, "ones": -1}.get(how, old + 3)
            struct.pack_into(f + code, out, mk + mw * k, v & ((1 << (8 * mw)) - 1))
        return bytes(out), f"kallsyms_markers[{k}] {how}"
    if corruption == "num-syms-huge":
        v = rng.choice([0, 1, n - 1, n + 1, n + 256, 1 << 24, (1 << 24) + 1, (1 << 31) - 1, (1 << 32) - 1])
        nw = lay.num_syms_width
        struct.pack_into(f + ("I" if nw == 4 else "Q"), out, t["num_syms"][0], v & ((1 << (8 * nw)) - 1))
        return bytes(out), f"kallsyms_num_syms = {v:#x} (was {n})"
    if corruption == "addresses-unsorted":
        if "offsets" in t:
            a, width, code = t["offsets"][0], 4, "i"
        else:
            a, width, code = t["addresses"][0], lay.word, "Q" if lay.word == 8 else "I"
        i = rng.randrange(1, max(2, n - 1))
        how = rng.choice(["swap", "max", "min", "minus2"]) if n > 2 else "max"
        if how == "swap":
            x, y = out[a + width * i:a + width * (i + 1)], out[a + width * (i + 1):a + width * (i + 2)]
            out[a + width * i:a + width * (i + 2)] = bytes(y) + bytes(x)
        else:
            if code == "i":
                v = {"max": 0x7FFFFFFF, "min": -0x80000000, "minus2": -2}[how]
            else:
                v = {"max": (1 << (8 * width)) - 1, "min": 0, "minus2": (1 << (8 * width)) - 2}[how]
            struct.pack_into(f + code, out, a + width * i, v)
        return bytes(out), f"kallsyms address {i} {how}"
    if corruption == "addresses-past-end":
        arr = t.get("offsets") or t.get("addresses")
        if not lay.elf and arr is not None:  # cut the buffer inside the address array
            cut = arr[0] + rng.randrange(1, max(2, arr[1]))
            if arr[0] < nm:  # before the names (6.1 and older): the array runs off the start
                return bytes(out[cut:]), f"the first {cut} bytes cut: the address array runs off the start"
            return bytes(out[:cut]), f"cut inside the address array at +{cut - arr[0]}: it runs past the end"
        if "relative_base" not in t:
            return kallsyms_table(data, rng, "truncate")
        rb, w = t["relative_base"]
        top = (1 << (8 * w)) - 1
        v = rng.choice([top, top - 0xFFFF, top - (1 << 31)])
        struct.pack_into(f + ("Q" if w == 8 else "I"), out, rb, v)
        return bytes(out), f"kallsyms_relative_base = {v:#x}"
    if corruption == "seqs":
        if "seqs" not in t:
            return kallsyms_table(data, rng, "markers-disagree")
        sp = t["seqs"][0]
        i = rng.randrange(n)
        v = rng.choice([b"\xff\xff\xff", bytes(out[sp:sp + 3]), n.to_bytes(3, "big")])
        out[sp + 3 * i:sp + 3 * i + 3] = v
        return bytes(out), f"kallsyms_seqs_of_names[{i}] = {v.hex()}"
    # truncate: inside one table
    name = rng.choice(sorted(t))
    start, length = t[name]
    cut = start + rng.randrange(max(1, length))
    if lay.elf:  # keep the ELF readable: zero from the cut to the end of the last table
        end = max(s + ln for s, ln in t.values())
        out[cut:end] = bytes(end - cut)
        return bytes(out), f"kallsyms {name} zeroed from +{cut - start} to the end of the tables"
    return bytes(out[:cut]), f"cut inside kallsyms {name} at +{cut - start}"


@dataclass(frozen=True)
class Mutator:
    name: str
    fn: Callable[[bytes, random.Random], Mutation]
    weight: int


ELF_MUTATORS: tuple[Mutator, ...] = (
    Mutator("elf-header", elf_header_field, 4),
    Mutator("elf-section", elf_section_field, 8),
    Mutator("elf-segment", elf_segment_field, 2),
    Mutator("elf-symbol", elf_symbol, 4),
    Mutator("elf-strtab", elf_strtab, 2),
    Mutator("elf-compressed-flag", elf_compressed_flag, 2),
    Mutator("truncate-boundary", truncate_at_boundary, 3),
    Mutator("truncate", truncate_random, 1),
    Mutator("byte-flips", byte_flips, 3),
    Mutator("chunks", chunk_ops, 1),
)

# --self-test: the same mutators, weighted toward the ones that reach pyelftools' parsers (the
# ELF adapter checks headers and extents itself before pyelftools sees them).
SELF_TEST_MUTATORS: tuple[Mutator, ...] = tuple(
    Mutator(m.name, m.fn, 16 if m.name == "elf-compressed-flag" else m.weight) for m in ELF_MUTATORS)

COMPRESSED_MUTATORS: tuple[Mutator, ...] = (
    Mutator("payload", compressed_payload, 3),
    Mutator("stream", compressed_stream, 5),
    Mutator("trailer", compressed_trailer, 3),
    Mutator("bzimage-header", bzimage_header, 3),
    Mutator("truncate-boundary", truncate_at_boundary, 2),
    Mutator("truncate", truncate_random, 1),
    Mutator("insert-magic", insert_magic, 1),
    Mutator("byte-flips", byte_flips, 2),
    Mutator("chunks", chunk_ops, 1),
)


def text_mutators(interesting: list[bytes]) -> tuple[Mutator, ...]:
    def line(data: bytes, rng: random.Random) -> Mutation:
        return text_line(data, rng, interesting)

    return (Mutator("text-line", line, 8), Mutator("byte-flips", text_bytes, 1), Mutator("chunks", chunk_ops, 1))


def pick(mutators: tuple[Mutator, ...], rng: random.Random) -> Mutator:
    total = sum(m.weight for m in mutators)
    r = rng.randrange(total)
    for m in mutators:
        r -= m.weight
        if r < 0:
            return m
    return mutators[-1]


def mutate(data: bytes, mutators: tuple[Mutator, ...], rng: random.Random, rounds: int = 0) -> tuple[bytes, list[str]]:
    """Apply 1-3 mutations (or `rounds`), stacked."""
    n = rounds or rng.choice([1, 1, 1, 2, 3])
    notes = []
    for _ in range(n):
        m = pick(mutators, rng)
        data, what = m.fn(data, rng)
        notes.append(f"{m.name}: {what}")
    return data, notes

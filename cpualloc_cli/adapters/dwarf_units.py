"""Compile units of an image's DWARF, decoded in bulk (no DIE walk), for attribution.

What is read, and how:
- every CU header in `.debug_info` (chained by unit_length) and only its first DIE (the
  DW_TAG_compile_unit), decoded with its own abbreviation from `.debug_abbrev`: DW_AT_name
  and DW_AT_comp_dir (forms string, strp, line_strp);
- `.debug_aranges`: the address ranges of each CU (GCC lists the CU's code there, not its
  variables);
- for variables: one regular-expression pass over `.debug_info` for the bytes a
  DW_AT_location of form exprloc/block1 holds when it is a single `DW_OP_addr A`
  (length 1+address size, opcode 0x03, A), kept when A is the address of a sized data or BSS
  symbol; the CU is the one whose byte range holds the hit.

Bounds: section offsets and sizes are clamped to the file; SHF_COMPRESSED sections are
inflated with an output limit (the decompression caps of adapters.decompress) and legacy
`.zdebug_*` is refused (a note, nothing attributed); every loop advances or stops.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import zlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cpualloc_cli.adapters.decompress import DEFAULT_CAP_BYTES, RATIO_FLOOR_BYTES
from cpualloc_cli.adapters.dwarf import DWARF_MAX_RATIO
from cpualloc_cli.errors import DecompressionLimitError, ElfFormatError
from cpualloc_cli.model.image import SHF_COMPRESSED, ElfImage, Section

# DW_FORM_* with a fixed size (None: depends on the offset size or address size)
_FIXED = {0x0B: 1, 0x05: 2, 0x06: 4, 0x07: 8, 0x0C: 1, 0x11: 1, 0x12: 2, 0x13: 4, 0x14: 8, 0x19: 0,
          0x1C: 4, 0x1E: 16, 0x20: 8, 0x21: 0, 0x24: 8, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x29: 1,
          0x2A: 2, 0x2B: 3, 0x2C: 4}
_OFFSET_FORMS = {0x0E, 0x10, 0x17, 0x1D, 0x1F, 0x1F20, 0x1F21}
_ULEB_FORMS = {0x0D, 0x0F, 0x15, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02}
DW_AT_name, DW_AT_comp_dir = 0x03, 0x1B


@dataclass(frozen=True, slots=True)
class DwarfUnits:
    """The CUs (path relative to the source tree where it can tell) and, per symbol index,
    the CU index or -1."""

    paths: tuple[str, ...]
    symbol_unit: tuple[int, ...]
    notes: tuple[str, ...] = ()


def _uleb(b: bytes | mmap.mmap, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while pos < end:
        byte = b[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise ElfFormatError("truncated LEB128 in DWARF", hint="the debug information is malformed")


def _cstr(b: bytes | mmap.mmap, pos: int) -> str:
    if pos < 0 or pos >= len(b):
        return ""
    end = b.find(b"\0", pos)
    if end < 0:
        end = len(b)
    return bytes(b[pos:end]).decode("utf-8", "surrogateescape")


class _Sections:
    def __init__(self, image: ElfImage, fh: object, mm: mmap.mmap | None) -> None:
        self.image = image
        self.mm = mm
        self.inflated = 0

    def get(self, name: str) -> bytes | mmap.mmap | None:
        sec = self.image.section(name)
        if sec is None or sec.is_nobits or sec.size_bytes == 0 or self.mm is None:
            return None
        return self._data(sec)

    def _data(self, sec: Section) -> bytes | mmap.mmap:
        mm = self.mm
        assert mm is not None
        if sec.offset > len(mm) or sec.offset + sec.size_bytes > len(mm):
            raise ElfFormatError(f"section {sec.name} extends beyond the end of the file", path=self.image.path,
                                 hint="the file is truncated or corrupt")
        if not sec.flags & SHF_COMPRESSED:
            if sec.offset == 0:
                return mm
            return mm[sec.offset:sec.offset + sec.size_bytes]
        raw = mm[sec.offset:sec.offset + sec.size_bytes]
        c64 = self.image.header.elf_class == 64
        end = "<" if self.image.header.endian == "little" else ">"
        hdr = 24 if c64 else 12
        if len(raw) < hdr:
            raise ElfFormatError(f"section {sec.name}: short compression header", path=self.image.path)
        ch_type, size = struct.unpack_from(end + ("IxxxxQ" if c64 else "II"), raw)[:2]
        if ch_type != 1:
            raise ElfFormatError(f"section {sec.name}: compression type {ch_type} is not zlib",
                                 path=self.image.path, hint="strip the debug information or decompress it "
                                 "(objcopy --decompress-debug-sections)")
        self.inflated += size
        limit = min(DEFAULT_CAP_BYTES, max(RATIO_FLOOR_BYTES, DWARF_MAX_RATIO * sec.size_bytes))
        if size > limit:
            raise DecompressionLimitError(f"section {sec.name} would inflate to {size} bytes, more than the "
                                          f"{limit}-byte limit", path=self.image.path,
                                          hint="a decompression bomb, or strip the debug information")
        d = zlib.decompressobj()
        try:
            out = d.decompress(raw[hdr:], size + 1)
        except zlib.error as exc:
            raise ElfFormatError(f"section {sec.name}: {exc}", path=self.image.path) from None
        if len(out) != size:
            raise ElfFormatError(f"section {sec.name} does not inflate to the {size} bytes its header states",
                                 path=self.image.path)
        return out


def _abbrev_attrs(abbrev: bytes | mmap.mmap, offset: int, code: int) -> list[tuple[int, int, int]] | None:
    """(attribute, form, implicit_const) of abbreviation `code` in the table at `offset`."""
    pos, end = offset, len(abbrev)
    while pos < end:
        c, pos = _uleb(abbrev, pos, end)
        if c == 0:
            return None
        _tag, pos = _uleb(abbrev, pos, end)
        pos += 1  # has_children
        attrs = []
        while True:
            at, pos = _uleb(abbrev, pos, end)
            form, pos = _uleb(abbrev, pos, end)
            imp = 0
            if form == 0x21:
                imp, pos = _uleb(abbrev, pos, end)  # (signed; the value is not used here)
            if at == 0 and form == 0:
                break
            attrs.append((at, form, imp))
        if c == code:
            return attrs
    return None


def _unit_names(info: bytes | mmap.mmap, abbrev: bytes | mmap.mmap, strs: bytes | mmap.mmap | None,
                line_strs: bytes | mmap.mmap | None, big: bool) -> tuple[list[int], list[int], list[tuple[str, str]]]:
    """CU start offsets, end offsets and (name, comp_dir)."""
    starts: list[int] = []
    ends: list[int] = []
    names: list[tuple[str, str]] = []
    e = ">" if big else "<"
    pos, size = 0, len(info)
    while pos + 11 <= size:
        start = pos
        (length,) = struct.unpack_from(e + "I", info, pos)
        off_size = 4
        pos += 4
        if length == 0xFFFFFFFF:
            (length,) = struct.unpack_from(e + "Q", info, pos)
            pos += 8
            off_size = 8
        end = pos + length
        if length == 0 or end > size:
            break
        (version,) = struct.unpack_from(e + "H", info, pos)
        pos += 2
        if version >= 5:
            unit_type, addr_size = info[pos], info[pos + 1]
            pos += 2
            abbrev_off = int.from_bytes(info[pos:pos + off_size], "big" if big else "little")
            pos += off_size
            if unit_type in (2, 6):  # type / split_type units: signature and type offset
                pos += 8 + off_size
            elif unit_type in (4, 5):  # skeleton / split_compile: dwo id
                pos += 8
        else:
            abbrev_off = int.from_bytes(info[pos:pos + off_size], "big" if big else "little")
            pos += off_size
            addr_size = info[pos]
            pos += 1
        name = comp_dir = ""
        code, pos = _uleb(info, pos, end)
        attrs = _abbrev_attrs(abbrev, abbrev_off, code) if code else None
        for at, form, _imp in attrs or ():
            val: str | None = None
            if form == 0x16:  # indirect
                form, pos = _uleb(info, pos, end)
            if form == 0x08:
                stop = info.find(b"\0", pos, end)
                stop = end if stop < 0 else stop
                val = bytes(info[pos:stop]).decode("utf-8", "surrogateescape")
                pos = stop + 1
            elif form in _OFFSET_FORMS:
                ref = int.from_bytes(info[pos:pos + off_size], "big" if big else "little")
                pos += off_size
                if form == 0x0E and strs is not None:
                    val = _cstr(strs, ref)
                elif form == 0x1F and line_strs is not None:
                    val = _cstr(line_strs, ref)
            elif form == 0x01:
                pos += addr_size
            elif form in _FIXED:
                pos += _FIXED[form]
            elif form in _ULEB_FORMS:
                _, pos = _uleb(info, pos, end)
            elif form in (0x09, 0x18):
                n, pos = _uleb(info, pos, end)
                pos += n
            elif form == 0x0A:
                pos += 1 + info[pos]
            elif form == 0x03:
                pos += 2 + int.from_bytes(info[pos:pos + 2], "big" if big else "little")
            elif form == 0x04:
                pos += 4 + int.from_bytes(info[pos:pos + 4], "big" if big else "little")
            else:
                break  # a form this reader does not know: the rest of this DIE is not read
            if at == DW_AT_name and val is not None:
                name = val
            elif at == DW_AT_comp_dir and val is not None:
                comp_dir = val
        starts.append(start)
        ends.append(end)
        names.append((name, comp_dir))
        pos = end
    return starts, ends, names


def _aranges(data: bytes | mmap.mmap, big: bool) -> list[tuple[int, int, int]]:
    """(address, length, CU offset) from .debug_aranges."""
    out = []
    e = ">" if big else "<"
    pos, size = 0, len(data)
    while pos + 16 <= size:
        set_start = pos
        (length,) = struct.unpack_from(e + "I", data, pos)
        pos += 4
        off_size = 4
        if length == 0xFFFFFFFF:
            (length,) = struct.unpack_from(e + "Q", data, pos)
            pos += 8
            off_size = 8
        end = pos + length
        if length == 0 or end > size:
            break
        pos += 2  # version
        cu = int.from_bytes(data[pos:pos + off_size], "big" if big else "little")
        pos += off_size
        addr_size, seg_size = data[pos], data[pos + 1]
        pos += 2
        if addr_size not in (4, 8) or seg_size:
            pos = end
            continue
        tup = 2 * addr_size
        pos = set_start + ((pos - set_start + tup - 1) // tup) * tup
        fmt = e + ("QQ" if addr_size == 8 else "II")
        while pos + tup <= end:
            a, n = struct.unpack_from(fmt, data, pos)
            pos += tup
            if a == 0 and n == 0:
                break
            if n:
                out.append((a, n, cu))
        pos = end
    return out


def _file_symbols(image: ElfImage) -> dict[int, str]:
    """For each local symbol, the STT_FILE name before it in .symtab (the linker keeps each
    object's FILE symbol ahead of its locals)."""
    s = image.symbols
    out: dict[int, str] = {}
    if s is None:
        return out
    current = ""
    for i in range(len(s)):
        t = s.elf_types[i]
        if t == 4:
            current = s.name(i)
        elif s.binds[i] == 0 and current and s.sizes[i]:
            out[i] = current
    return out


def normalize_paths(names: Sequence[tuple[str, str]]) -> list[str]:
    """Paths relative to the source tree: a relative DW_AT_name is already (Kbuild passes
    srctree-relative names, or the build maps the prefix away); an absolute one loses the
    source-tree prefix, found where an absolute comp_dir ends in another CU's relative
    comp_dir (Debian: /build/.../linux-6.1.176/ + debian/build/build_amd64_none_amd64), or
    its comp_dir."""
    rel_dirs = {d for _, d in names if d and not d.startswith("/")}
    prefixes: set[str] = set()
    for _, d in names:
        if d.startswith("/"):
            for r in rel_dirs:
                if d.endswith("/" + r):
                    prefixes.add(d[:-len(r)])
            prefixes.add(d.rstrip("/") + "/")
    ordered = sorted(prefixes, key=len, reverse=True)
    out = []
    for name, _ in names:
        p = name
        if p.startswith("/"):
            for pre in ordered:
                if p.startswith(pre):
                    p = p[len(pre):]
                    break
        p = os.path.normpath(p) if p else "[unnamed unit]"
        out.append(p[2:] if p.startswith("./") else p)
    return out


def read_dwarf_units(image: ElfImage, text_symbols: Sequence[int], data_symbols: Sequence[int]) -> DwarfUnits:
    """The CU of every symbol in `text_symbols` (by address, through .debug_aranges) and in
    `data_symbols` (by the DW_OP_addr of a variable's location, then aranges)."""
    n = len(image.symbols) if image.symbols is not None else 0
    unit = [-1] * n
    if image.symbols is None or image.section(".debug_info") is None:
        note = "no .debug_info: " + ("legacy .zdebug_info is not read" if image.section(".zdebug_info")
                                     else "the image has no DWARF (CONFIG_DEBUG_INFO)")
        return DwarfUnits((), tuple(unit), (note,))
    try:
        fh = open(image.path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ElfFormatError(f"cannot read DWARF: {exc.strerror}", path=image.path) from None
    with fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return DwarfUnits((), tuple(unit), ("empty file",))
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            return _read(image, mm, unit, text_symbols, data_symbols)
        finally:
            mm.close()


def _read(image: ElfImage, mm: mmap.mmap, unit: list[int], text_symbols: Sequence[int],
          data_symbols: Sequence[int]) -> DwarfUnits:
    assert image.symbols is not None
    secs = _Sections(image, None, mm)
    big = image.header.endian == "big"
    info = secs.get(".debug_info")
    abbrev = secs.get(".debug_abbrev")
    if info is None or abbrev is None:
        return DwarfUnits((), tuple(unit), ("no .debug_info or .debug_abbrev contents",))
    try:
        starts, _ends, names = _unit_names(info, abbrev, secs.get(".debug_str"), secs.get(".debug_line_str"), big)
    except (struct.error, IndexError) as exc:
        raise ElfFormatError(f"malformed DWARF unit header: {exc}", path=image.path) from None
    paths = normalize_paths(names)
    by_offset = {s: i for i, s in enumerate(starts)}
    ar = secs.get(".debug_aranges")
    ranges: list[tuple[int, int, int]] = []
    if ar is not None:
        try:
            ranges = sorted((a, a + ln, by_offset[cu]) for a, ln, cu in _aranges(ar, big) if cu in by_offset)
        except (struct.error, IndexError) as exc:
            raise ElfFormatError(f"malformed .debug_aranges: {exc}", path=image.path) from None
    lows = [r[0] for r in ranges]
    values = image.symbols.values

    def by_range(addr: int) -> int:
        k = bisect_right(lows, addr) - 1
        if k >= 0 and addr < ranges[k][1]:
            return ranges[k][2]
        return -1

    for i in text_symbols:
        unit[i] = by_range(values[i])
    # variables: `len DW_OP_addr ADDR` in .debug_info
    asz = 8 if image.header.elf_class == 64 else 4
    wanted: dict[bytes, list[int]] = {}
    order: Literal["big", "little"] = "big" if big else "little"
    for i in data_symbols:
        if not values[i]:
            continue  # DW_OP_addr 0 is also what a variable in a section the linker discarded gets
        wanted.setdefault(int(values[i]).to_bytes(asz, order), []).append(i)
    pattern = re.compile(re.escape(bytes([1 + asz, 0x03])) + b"(?=(.{%d}))" % asz, re.S)
    hits: dict[bytes, list[int]] = {}
    for m in pattern.finditer(info):
        key = m.group(1)
        at = m.start()
        # DW_TAG_call_site_parameter: DW_AT_location `1 DW_OP_regN` then DW_AT_call_value
        # `len DW_OP_addr A` (a caller passing &var): not the variable's own DIE
        if key in wanted and not (at >= 2 and info[at - 2] == 1 and 0x50 <= info[at - 1] <= 0x6F):
            cu = bisect_right(starts, at) - 1
            units = hits.setdefault(key, [])
            if cu not in units:
                units.append(cu)
                # GCC writes a variable's DW_AT_type (ref4, CU-relative) just before its
                # DW_AT_location: a hit preceded by an in-unit reference goes first
                if len(units) > 1 and at >= 4 and int.from_bytes(info[at - 4:at], order) < _ends[cu] - starts[cu]:
                    units.insert(0, units.pop())
    ambiguous = 0
    files = _file_symbols(image)
    for key, units in hits.items():
        for i in wanted[key]:
            cu = units[0]
            if len(units) > 1:
                ambiguous += 1
                base = files.get(i)
                match = [u for u in units if base and paths[u].rsplit("/", 1)[-1] == base]
                if match:
                    cu = match[0]
            unit[i] = cu
    for i in data_symbols:
        if unit[i] < 0:
            unit[i] = by_range(values[i])
    notes = []
    if ambiguous:
        notes.append(f"{ambiguous} variables have an address that appears as DW_OP_addr in more than one "
                     "compile unit: the STT_FILE of a local symbol, else the unit whose hit follows a type "
                     "reference, decides")
    return DwarfUnits(tuple(paths), tuple(unit), tuple(notes))

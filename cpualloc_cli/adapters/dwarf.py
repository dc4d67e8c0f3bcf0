"""Array bounds of global variables from DWARF (CONFIG_DEBUG_INFO), for `scale`: the only
module that reads .debug_info, through pyelftools.

Each defined variable whose type is an array (of arrays ...) of a base type, pointer,
enum, or a struct/union that wraps a single array (like `struct cpumask`) comes back as
`DwarfArray(element_bytes, dims)`; anything else is left out. Names defined more than
once with different shapes (statics in several files) are left out too.

Bounds on hostile input:
- before pyelftools reads a debug section, what it would inflate (SHF_COMPRESSED sections by
  their Elf_Chdr ch_size, legacy `.zdebug_*` by their "ZLIB" header, NOBITS ones by sh_size)
  is added up and refused past the decompression caps (DEFAULT_CAP_BYTES, and DWARF_MAX_RATIO
  times the compressed bytes once past RATIO_FLOOR_BYTES); `.zdebug_*` is inflated here, with
  an output limit, instead of by pyelftools' unbounded loop;
- children are walked linearly by offset (DW_AT_sibling is never followed, so a sibling that
  points at itself or has an unsupported form cannot loop or fail, and no recursion can run out);
- every DIE visited costs one unit of a work budget proportional to .debug_info's size, and
  type shapes are memoized by offset: past the budget the read stops with exit 3.

Only pyelftools calls are fenced (:func:`_lib`, :func:`_each`); cpualloc's own bugs stay exit 4.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any, TypeVar

from cpualloc_cli.adapters.decompress import DEFAULT_CAP_BYTES, RATIO_FLOOR_BYTES
from cpualloc_cli.errors import DecompressionLimitError, ElfFormatError
from cpualloc_cli.model.scale import DwarfArray

T = TypeVar("T")

_QUALIFIERS = ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type",
               "DW_TAG_atomic_type")
_MAX_DEPTH = 16
# Real zlib-compressed DWARF inflates 3-8 times; past RATIO_FLOOR_BYTES, more than this is a bomb.
DWARF_MAX_RATIO = 20
# DIE visits allowed per byte of .debug_info (each DIE takes at least one byte), plus a floor.
WORK_PER_BYTE = 4
WORK_FLOOR = 1 << 20

# What pyelftools reads in get_dwarf_info (elftools/elf/elffile.py), with the .z names it
# uses when .zdebug_info is present.
_DEBUG_NAMES = (".debug_info", ".debug_aranges", ".debug_abbrev", ".debug_str", ".debug_line", ".debug_frame",
                ".debug_loc", ".debug_ranges", ".debug_pubtypes", ".debug_pubnames", ".debug_addr",
                ".debug_str_offsets", ".debug_line_str", ".debug_loclists", ".debug_rnglists", ".debug_sup",
                ".gnu_debugaltlink", ".debug_types")


def _exceptions() -> tuple[type[BaseException], ...]:
    """What pyelftools raises on malformed DWARF (the ELF adapter's list, plus
    NotImplementedError for forms it does not support and zlib.error from its inflates)."""
    from elftools.common.exceptions import DWARFError, ELFError
    from elftools.construct.core import ConstructError

    return (ELFError, DWARFError, ConstructError, KeyError, IndexError, struct.error, OverflowError,
            UnicodeDecodeError, ValueError, AssertionError, TypeError, AttributeError, EOFError,
            NotImplementedError, zlib.error)


def _malformed(path: str, exc: BaseException) -> ElfFormatError:
    detail = " ".join(str(exc).split())[:160] or type(exc).__name__
    return ElfFormatError(f"malformed DWARF: {detail}", path=path,
                          hint="scale works without it (shapes from sizes only)")


def _lib(path: str, fn: Callable[..., T], *args: Any) -> T:
    """One pyelftools call, its exceptions made bad input (exit 3)."""
    try:
        return fn(*args)
    except _exceptions() as exc:
        raise _malformed(path, exc) from None


def _each(path: str, items: Iterator[T]) -> Iterator[T]:
    """A pyelftools iterator whose `next` is fenced (the loop body, our code, is not)."""
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except _exceptions() as exc:
            raise _malformed(path, exc) from None
        yield item


class _Budget:
    def __init__(self, units: int, path: str) -> None:
        self.left = units
        self.units = units
        self.path = path

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise ElfFormatError(f"DWARF walk stopped after {self.units} DIE visits (its work budget)",
                                 path=self.path, hint="the debug information is malformed or hostile; "
                                 "scale works without it if you strip it (objcopy --strip-debug)")


class _Walker:
    """Children and type shapes of DIEs, walked by offset, within a budget."""

    def __init__(self, path: str, budget: _Budget) -> None:
        self.path = path
        self.budget = budget
        self.shapes: dict[int, tuple[int, tuple[int, ...]] | None] = {}

    def children(self, die: Any) -> Iterator[Any]:
        """The children of `die` in file order, without following DW_AT_sibling: every DIE of
        the subtree is stepped over by its size, nesting is counted, the walk stops at the
        children's null terminator or at the end of the CU."""
        from elftools.dwarf.die import DIE

        if not die.has_children:
            return
        cu = die.cu
        stream = cu.dwarfinfo.debug_info_sec.stream
        end = cu.cu_offset + cu.size
        offset = die.offset + die.size
        depth = 0
        while offset < end:
            self.budget.spend()
            child = _lib(self.path, DIE, cu, stream, offset)
            if child.size <= 0:
                raise ElfFormatError(f"DIE at offset {offset} has size {child.size}", path=self.path,
                                     hint="the debug information is malformed")
            offset += child.size
            if child.tag is None:  # a null entry ends one list of children
                if depth == 0:
                    return
                depth -= 1
                continue
            if depth == 0:
                yield child
            if child.has_children:
                depth += 1

    def ref(self, die: Any, attr: str) -> Any:
        return _lib(self.path, die.get_DIE_from_attribute, attr)

    def flatten(self, die: Any, depth: int = 0) -> tuple[int, tuple[int, ...]] | None:
        """(element_bytes, dims) of a type DIE, or None when it is not an array shape."""
        if die is None or depth > _MAX_DEPTH:
            return None
        if die.offset in self.shapes:
            return self.shapes[die.offset]
        self.budget.spend()
        shape = self._flatten(die, depth)
        self.shapes[die.offset] = shape
        return shape

    def _flatten(self, die: Any, depth: int) -> tuple[int, tuple[int, ...]] | None:
        tag = die.tag
        if tag in _QUALIFIERS:
            return self.flatten(self.ref(die, "DW_AT_type") if "DW_AT_type" in die.attributes else None, depth + 1)
        if tag == "DW_TAG_array_type":
            dims: list[int] = []
            for sub in self.children(die):
                if sub.tag != "DW_TAG_subrange_type":
                    continue
                if "DW_AT_count" in sub.attributes:
                    count = sub.attributes["DW_AT_count"].value
                elif "DW_AT_upper_bound" in sub.attributes:
                    upper = sub.attributes["DW_AT_upper_bound"].value
                    count = upper + 1 if isinstance(upper, int) else None
                else:
                    return None  # flexible array member: no bound
                if not isinstance(count, int) or count < 0:
                    return None
                dims.append(count)
            if "DW_AT_type" not in die.attributes:
                return None
            inner = self.flatten(self.ref(die, "DW_AT_type"), depth + 1)
            if inner is None or not dims:
                return None
            return inner[0], tuple(dims) + inner[1]
        size = die.attributes.get("DW_AT_byte_size")
        if size is None or not isinstance(size.value, int):
            return None
        if tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
            members = [m for m in self.children(die) if m.tag == "DW_TAG_member"]
            if len(members) == 1 and "DW_AT_type" in members[0].attributes:
                inner = self.flatten(self.ref(members[0], "DW_AT_type"), depth + 1)
                if inner is not None and _product(inner) == size.value:
                    return inner  # a wrapper such as struct cpumask { unsigned long bits[...]; }
            return int(size.value), ()
        if tag in ("DW_TAG_base_type", "DW_TAG_pointer_type", "DW_TAG_enumeration_type"):
            return int(size.value), ()
        return None


def _product(shape: tuple[int, tuple[int, ...]]) -> int:
    total = shape[0]
    for d in shape[1]:
        total *= d
    return total


def _check_inflation(elf: Any, path: str, file_size: int) -> tuple[bool, int]:
    """Refuse debug sections that would inflate past the caps, before pyelftools reads them.
    Returns (legacy .zdebug_* in use, the bytes pyelftools may inflate)."""
    zdebug = _lib(path, elf.has_section, ".zdebug_info")
    names = [f".z{n[1:]}" for n in _DEBUG_NAMES] if zdebug else list(_DEBUG_NAMES)
    inflated = stored = 0
    for name in [*names, ".eh_frame"]:
        sec = _lib(path, elf.get_section_by_name, name)
        if sec is None:
            continue
        sh_type, sh_offset, sh_size = sec["sh_type"], int(sec["sh_offset"]), int(sec["sh_size"])
        if sh_type == "SHT_NOBITS":
            inflated += sh_size  # pyelftools makes sh_size zero bytes for it
            continue
        if sh_offset > file_size or sh_offset + sh_size > file_size:
            raise ElfFormatError(f"section {name} (offset {sh_offset}, size {sh_size}) extends beyond the end "
                                 f"of the file ({file_size} bytes)", path=path, hint="the file is truncated or corrupt")
        if sec.compressed:
            inflated += int(sec.data_size)  # Elf_Chdr ch_size: pyelftools inflates at most this much
            stored += sh_size
        elif zdebug and name.startswith(".zdebug"):
            head = _lib(path, _read_at, elf.stream, sh_offset, min(12, sh_size))
            if len(head) < 12 or head[:4] != b"ZLIB":
                raise ElfFormatError(f"section {name} has no ZLIB header", path=path,
                                     hint="the debug information is malformed")
            inflated += struct.unpack(">Q", head[4:])[0]
            stored += sh_size
    limit = min(DEFAULT_CAP_BYTES, max(RATIO_FLOOR_BYTES, DWARF_MAX_RATIO * stored))
    if inflated > limit:
        raise DecompressionLimitError(
            f"debug sections would inflate to {inflated} bytes from {stored} stored bytes, more than the "
            f"{limit}-byte limit (at most {DWARF_MAX_RATIO}:1 past {RATIO_FLOOR_BYTES >> 20} MiB, "
            f"{DEFAULT_CAP_BYTES >> 30} GiB in all)", path=path,
            hint="a decompression bomb, or strip the debug information (objcopy --strip-debug)")
    return zdebug, inflated


def _read_at(stream: Any, offset: int, n: int) -> bytes:
    stream.seek(offset)
    return bytes(stream.read(n))


def _bounded_zdebug(path: str) -> Callable[[Any], Any]:
    """A replacement for ELFFile._decompress_dwarf_section that inflates at most the size the
    "ZLIB" header states (already checked against the caps) and refuses a stream that says less."""

    def decompress(section: Any) -> Any:
        raw = section.stream.getvalue()
        if len(raw) < 12 or raw[:4] != b"ZLIB":
            raise ElfFormatError(f"section {section.name} has no ZLIB header", path=path)
        (size,) = struct.unpack(">Q", raw[4:12])
        d = zlib.decompressobj()
        try:
            data = d.decompress(raw[12:], size + 1)
        except zlib.error as exc:
            raise _malformed(path, exc) from None
        if len(data) != size or not d.eof:
            raise ElfFormatError(f"section {section.name} does not inflate to the {size} bytes its header states",
                                 path=path, hint="the debug information is malformed or a decompression bomb")
        return section._replace(stream=BytesIO(data), size=size)

    return decompress


def read_dwarf_arrays(path: str) -> dict[str, DwarfArray]:
    """Defined variables with an array shape, by name. Empty when the file has no DWARF."""
    from elftools.elf.elffile import ELFFile

    found: dict[str, DwarfArray | None] = {}
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ElfFormatError(f"cannot read DWARF: {exc.strerror}", path=path) from None
    with fh:
        file_size = os.fstat(fh.fileno()).st_size
        elf = _lib(path, ELFFile, fh)
        if not _lib(path, elf.has_dwarf_info):
            return {}
        zdebug, _ = _check_inflation(elf, path, file_size)
        if zdebug:
            setattr(elf, "_decompress_dwarf_section", _bounded_zdebug(path))  # noqa: B010 - an instance override
        dwarf = _lib(path, elf.get_dwarf_info)
        info = dwarf.debug_info_sec
        budget = _Budget(WORK_PER_BYTE * (info.size if info is not None else 0) + WORK_FLOOR, path)
        walker = _Walker(path, budget)
        for cu in _each(path, _lib(path, dwarf.iter_CUs)):
            for die in _each(path, _lib(path, cu.iter_DIEs)):
                budget.spend()
                if die.tag != "DW_TAG_variable" or "DW_AT_declaration" in die.attributes:
                    continue
                if "DW_AT_location" not in die.attributes:
                    continue
                decl = die
                if "DW_AT_specification" in die.attributes:
                    decl = walker.ref(die, "DW_AT_specification")
                name_attr = decl.attributes.get("DW_AT_name") or die.attributes.get("DW_AT_name")
                type_die = None
                for d in (die, decl):
                    if "DW_AT_type" in d.attributes:
                        type_die = walker.ref(d, "DW_AT_type")
                        break
                if name_attr is None or type_die is None:
                    continue
                name = name_attr.value.decode("utf-8", "replace") if isinstance(name_attr.value, bytes) \
                    else str(name_attr.value)
                shape = walker.flatten(type_die)
                arr = DwarfArray(shape[0], shape[1]) if shape is not None and shape[1] else None
                if name in found and found[name] != arr:
                    found[name] = None  # several definitions that disagree
                else:
                    found[name] = arr
    return {k: v for k, v in found.items() if v is not None}

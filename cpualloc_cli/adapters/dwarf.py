"""Array bounds of global variables from DWARF (CONFIG_DEBUG_INFO), for `scale`: the only
module that reads .debug_info, through pyelftools.

Each defined variable whose type is an array (of arrays ...) of a base type, pointer,
enum, or a struct/union that wraps a single array (like `struct cpumask`) comes back as
`DwarfArray(element_bytes, dims)`; anything else is left out. Names defined more than
once with different shapes (statics in several files) are left out too.
"""

from __future__ import annotations

import struct
from typing import Any

from cpualloc_cli.errors import ElfFormatError
from cpualloc_cli.model.scale import DwarfArray

_QUALIFIERS = ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type",
               "DW_TAG_atomic_type")
_MAX_DEPTH = 16


def _exceptions() -> tuple[type[BaseException], ...]:
    """What pyelftools raises on malformed DWARF (the same list as the ELF adapter's fence)."""
    from elftools.common.exceptions import DWARFError, ELFError
    from elftools.construct.core import ConstructError

    return (ELFError, DWARFError, ConstructError, KeyError, IndexError, struct.error, OverflowError,
            UnicodeDecodeError, ValueError, AssertionError, TypeError, AttributeError, EOFError)


def _flatten(die: Any, depth: int = 0) -> tuple[int, tuple[int, ...]] | None:
    """(element_bytes, dims) of a type DIE, or None when it is not an array shape."""
    if die is None or depth > _MAX_DEPTH:
        return None
    tag = die.tag
    if tag in _QUALIFIERS:
        return _flatten(die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None,
                        depth + 1)
    if tag == "DW_TAG_array_type":
        dims: list[int] = []
        for sub in die.iter_children():
            if sub.tag != "DW_TAG_subrange_type":
                continue
            if "DW_AT_count" in sub.attributes:
                count = sub.attributes["DW_AT_count"].value
            elif "DW_AT_upper_bound" in sub.attributes:
                count = sub.attributes["DW_AT_upper_bound"].value + 1
            else:
                return None  # flexible array member: no bound
            if not isinstance(count, int) or count < 0:
                return None
            dims.append(count)
        inner = _flatten(die.get_DIE_from_attribute("DW_AT_type"), depth + 1)
        if inner is None or not dims:
            return None
        return inner[0], tuple(dims) + inner[1]
    size = die.attributes.get("DW_AT_byte_size")
    if size is None or not isinstance(size.value, int):
        return None
    if tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
        members = [m for m in die.iter_children() if m.tag == "DW_TAG_member"]
        if len(members) == 1 and "DW_AT_type" in members[0].attributes:
            inner = _flatten(members[0].get_DIE_from_attribute("DW_AT_type"), depth + 1)
            if inner is not None and _product(inner) == size.value:
                return inner  # a wrapper such as struct cpumask { unsigned long bits[...]; }
        return size.value, ()
    if tag in ("DW_TAG_base_type", "DW_TAG_pointer_type", "DW_TAG_enumeration_type"):
        return size.value, ()
    return None


def _product(shape: tuple[int, tuple[int, ...]]) -> int:
    total = shape[0]
    for d in shape[1]:
        total *= d
    return total


def read_dwarf_arrays(path: str) -> dict[str, DwarfArray]:
    """Defined variables with an array shape, by name. Empty when the file has no DWARF."""
    from elftools.elf.elffile import ELFFile

    found: dict[str, DwarfArray | None] = {}
    try:
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            if not elf.has_dwarf_info():
                return {}
            dwarf = elf.get_dwarf_info()
            for cu in dwarf.iter_CUs():
                for die in cu.iter_DIEs():
                    if die.tag != "DW_TAG_variable" or "DW_AT_declaration" in die.attributes:
                        continue
                    if "DW_AT_location" not in die.attributes:
                        continue
                    decl = die
                    if "DW_AT_specification" in die.attributes:
                        decl = die.get_DIE_from_attribute("DW_AT_specification")
                    name_attr = decl.attributes.get("DW_AT_name") or die.attributes.get("DW_AT_name")
                    type_die = None
                    for d in (die, decl):
                        if "DW_AT_type" in d.attributes:
                            type_die = d.get_DIE_from_attribute("DW_AT_type")
                            break
                    if name_attr is None or type_die is None:
                        continue
                    name = name_attr.value.decode("utf-8", "replace") if isinstance(name_attr.value, bytes) \
                        else str(name_attr.value)
                    shape = _flatten(type_die)
                    arr = DwarfArray(shape[0], shape[1]) if shape is not None and shape[1] else None
                    if name in found and found[name] != arr:
                        found[name] = None  # several definitions that disagree
                    else:
                        found[name] = arr
    except OSError as exc:
        raise ElfFormatError(f"cannot read DWARF: {exc.strerror}", path=path) from None
    except _exceptions() as exc:
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ElfFormatError(f"malformed DWARF: {detail}", path=path,
                             hint="scale works without it (shapes from sizes only)") from None
    return {k: v for k, v in found.items() if v is not None}

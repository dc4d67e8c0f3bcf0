"""`inspect --format json`. The symbol table is written as rows without per-symbol dicts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from cpualloc_cli import speedups
from cpualloc_cli.model.bfd import bfd_vma, sign_extends_vma
from cpualloc_cli.model.image import SIZE_SYMTAB, SymbolTable, readelf_flag_letters, segment_flag_letters
from cpualloc_cli.model.inspect import InspectReport
from cpualloc_cli.render.jsonout import RawJson, dumps, envelope


def _symbol_rows(symbols: SymbolTable, order: Sequence[int], sign_extend: bool = False) -> RawJson:
    """`[[address, size, "T", "name", "symtab"], ...]` written without a per-symbol dict or list.

    When every name is plain ASCII with nothing JSON escapes (a kernel's are), the rows are
    joined from strings directly; otherwise through the C JSON encoder. Both give the text
    `json.dumps(rows, separators=(",", ":"), ensure_ascii=False)` gives.
    """
    if not order:
        return RawJson("[]")
    table = symbols.string_table()
    fast = speedups.csymbols
    if fast is not None and table is not None:
        # The compiled writer gives the same text, or None when a name needs escaping.
        text = fast.json_rows(order, symbols.values, symbols.sizes, symbols.nm_types, table[1], table[0], sign_extend,
                              symbols.size_sources)
        if text is not None:
            return RawJson(text)
    # (Gathering the columns into lists first is faster than feeding the join lazily.)
    values = list(map(symbols.values.__getitem__, order))
    if sign_extend:  # MIPS32: addresses as nm prints them (see image_dict)
        values = [v | 0xFFFFFFFF00000000 if v & 0x80000000 else v for v in values]
    sizes = list(map(symbols.sizes.__getitem__, order))
    types = list(map(symbols.nm_types.__getitem__, order))
    names = symbols.names_at(order)
    sources = ([SIZE_SYMTAB] * len(order) if symbols.size_sources is None
               else list(map(symbols.size_source, order)))
    if symbols.json_safe_names() and all(t.isalpha() or t == "?" for t in set(types)):
        # %d prints an int as json.dumps does; the names, letters and sources need no escaping.
        body = "],[".join(map('%d,%d,"%s","%s","%s"'.__mod__, zip(values, sizes, types, names, sources, strict=True)))
        return RawJson("[[" + body + "]]")
    rows = list(zip(values, sizes, types, names, sources, strict=True))
    return RawJson(json.dumps(rows, separators=(",", ":"), ensure_ascii=False))


def _sym(symbols: SymbolTable | None, idx: Sequence[int], va: Callable[[int], int]) -> list[dict[str, Any]]:
    if symbols is None:
        return []
    return [{"name": symbols.name(i), "address": va(symbols.values[i]), "size_bytes": symbols.sizes[i],
             "type": symbols.nm_types[i], "size_source": symbols.size_source(i)} for i in idx]


def image_dict(r: InspectReport) -> dict[str, Any]:
    """One image's JSON. Types (schemas/inspect.schema.json): sizes, offsets and counts are integer
    bytes; every address (entry, section and segment addresses, symbols, extents) is the value GNU
    nm and size print, i.e. BFD's bfd_vma: a 32-bit MIPS address with bit 31 set is sign-extended
    to 64 bits (elf32-mips.c elf_backend_sign_extend_vma), so 0x80100000 is 0xffffffff80100000."""
    d: dict[str, Any] = {"path": r.path, "source": r.source, "notes": list(r.notes),
                         "container": {k: v for k, v in r.container}}
    img = r.image
    if img is None:
        return d
    h = img.header
    sign_extend = sign_extends_vma(h.machine_code, h.elf_class)

    def va(value: int) -> int:
        return bfd_vma(value, h.machine_code, h.elf_class) if sign_extend else value

    d["header"] = {"class": f"ELF{h.elf_class}", "endian": h.endian, "machine": h.machine,
                   "machine_code": h.machine_code, "arch": h.arch, "type": h.file_type, "entry": va(h.entry),
                   "flags": h.flags, "section_count": h.section_count, "segment_count": h.segment_count}
    d["sections"] = [
        {"index": s.index, "name": s.name, "type": s.type,
         "flags": readelf_flag_letters(s.flags, h.machine_code, h.osabi),
         "flags_value": s.flags, "address": va(s.address), "offset": s.offset, "size_bytes": s.size_bytes,
         "entsize": s.entsize, "link": s.link, "info": s.info, "alignment": s.alignment}
        for s in img.sections
    ]
    d["segments"] = [
        {"type": g.type, "offset": g.offset, "vaddr": va(g.vaddr), "paddr": va(g.paddr), "filesz": g.filesz,
         "memsz": g.memsz, "flags": segment_flag_letters(g.flags).replace(" ", ""), "alignment": g.alignment}
        for g in img.segments
    ]
    if r.berkeley is not None:
        b = r.berkeley
        d["size"] = {"text": b.text, "data": b.data, "bss": b.bss, "dec": b.dec, "hex": b.hex}
    if r.berkeley_common is not None:
        c = r.berkeley_common
        d["size_common"] = {"text": c.text, "data": c.data, "bss": c.bss, "dec": c.dec, "hex": c.hex}
    d["size_sysv"] = {"sections": [{"name": s.name, "size_bytes": s.size_bytes, "address": s.address}
                                   for s in r.sysv], "total": r.sysv_total}
    d["extents"] = [
        {"label": e.label, "start_name": e.start_name, "start": va(e.start), "end_name": e.end_name, "end": va(e.end),
         "size_bytes": e.size_bytes, "bss_bytes": e.bss_bytes, "bss_share": round(e.bss_share, 6), "source": e.note}
        for e in r.extents
    ]
    d["image_extent"] = r.extents[0].size_bytes if r.extents else None
    if r.percpu is not None:
        p = r.percpu
        d["percpu"] = {"section": p.section, "size_bytes": p.size_bytes, "address": va(p.address),
                       "linked_at_zero": p.linked_at_zero, "top": _sym(img.symbols, p.top, va)}
    else:
        d["percpu"] = None
    d["has_symbols"] = img.symbols is not None
    d["symbols_from"] = img.symbols_from if img.symbols is not None else None
    d["top_symbols"] = _sym(img.symbols, r.top, va)
    d["top_by_section"] = {k: _sym(img.symbols, v, va) for k, v in r.top_by_section.items()}
    if r.nm_order is not None and img.symbols is not None:
        d["symbols"] = {"columns": ["address", "size_bytes", "type", "name", "size_source"],
                        "rows": _symbol_rows(img.symbols, r.nm_order, sign_extend)}
    return d


def render_inspect_json(reports: Sequence[InspectReport], failures: Sequence[tuple[str, str]] = ()) -> str:
    """`failures`: the inputs that could not be read among several, in argument order, each with
    its error line; the key is there only when one failed, so a clean run's document is unchanged."""
    body: dict[str, object] = {"images": [image_dict(r) for r in reports]}
    if failures:
        body["failures"] = [{"path": p, "error": e} for p, e in failures]
    return dumps(envelope("inspect", body))

"""`inspect --format text`: rich tables for people. `--symbols` prints the table exactly in
`nm -S --size-sort`'s format, so it can be diffed against nm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cpualloc_cli.model.bfd import nm_values, nm_width
from cpualloc_cli.model.image import ElfImage, readelf_flag_letters, segment_flag_letters
from cpualloc_cli.model.inspect import InspectReport
from cpualloc_cli.model.measures import format_bytes


def nm_lines(image: ElfImage, order: Sequence[int]) -> str:
    """The `nm -S --size-sort` text for these symbol indices."""
    s = image.symbols
    if s is None:
        return ""
    h = image.header
    w = nm_width(h.machine_code, h.elf_class)
    sizes, types = s.sizes, s.nm_types
    values = nm_values(image)
    return "".join(f"{values[i]:0{w}x} {sizes[i]:0{w}x} {types[i]} {name}\n"
                   for i, name in zip(order, s.names_at(order), strict=True))


def _addr(image: ElfImage, v: int) -> str:
    return f"{v:0{16 if image.header.elf_class == 64 else 8}x}"


def draw_inspect(console: Any, reports: Sequence[InspectReport]) -> None:
    from rich.table import Table

    for n, r in enumerate(reports):
        if n:
            console.print()
        img = r.image
        if img is None:
            console.print(f"[bold]{r.path}[/bold]: {r.source}")
            for k, v in r.container:
                console.print(f"  {k}: {v}")
            for note in r.notes:
                console.print(f"  note: {note}")
            continue
        h = img.header
        console.print(f"[bold]{r.path}[/bold]: ELF{h.elf_class} {h.endian}-endian {h.machine} ({h.arch}), "
                      f"{h.file_type}, entry {h.entry:#x}" + ("" if r.source == "elf" else f"; from {r.source}"))
        for k, v in r.container:
            console.print(f"  {k}: {v}")

        if r.berkeley is not None:
            t = Table(title="size (Berkeley, as GNU size)", title_justify="left", box=None, pad_edge=False)
            for col in ("text", "data", "bss", "dec", "hex"):
                t.add_column(col, justify="right")
            b = r.berkeley
            t.add_row(str(b.text), str(b.data), str(b.bss), str(b.dec), b.hex)
            if r.berkeley_common is not None:
                c = r.berkeley_common
                t.add_row(str(c.text), str(c.data), str(c.bss), str(c.dec), c.hex + " (--common)")
            console.print(t)

        if r.extents:
            t = Table(title="image extent", title_justify="left", box=None, pad_edge=False)
            for col, just in (("measure", "left"), ("from", "left"), ("to", "left"), ("bytes", "right"),
                              ("size", "right"), ("bss", "right"), ("bss share", "right")):
                t.add_column(col, justify=just)  # type: ignore[arg-type]
            for e in r.extents:
                t.add_row(e.label, f"{e.start_name} {e.start:#x}", f"{e.end_name} {e.end:#x}", str(e.size_bytes),
                          format_bytes(e.size_bytes), str(e.bss_bytes), f"{100 * e.bss_share:.1f} %")
            console.print(t)

        if r.percpu is not None:
            p = r.percpu
            where = "linked at address 0 (SMP x86_64 layout)" if p.linked_at_zero else f"at {p.address:#x}"
            console.print(f"per-cpu: {p.section} {p.size_bytes} B ({format_bytes(p.size_bytes)}) {where}")
            if p.top:
                _symbol_table(console, img, p.top, "largest per-cpu symbols")
        else:
            console.print("per-cpu: no .data..percpu section")

        t = Table(title="sections (readelf -S -W)", title_justify="left", box=None, pad_edge=False)
        for col, just in (("[Nr]", "right"), ("name", "left"), ("type", "left"), ("address", "left"),
                          ("off", "right"), ("size", "right"), ("ES", "right"), ("flg", "left"), ("lk", "right"),
                          ("inf", "right"), ("al", "right")):
            t.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
        for s in img.sections:
            t.add_row(str(s.index), s.name, s.type, _addr(img, s.address), f"{s.offset:06x}", f"{s.size_bytes:06x}",
                      f"{s.entsize:02x}", readelf_flag_letters(s.flags, img.header.machine_code, img.header.osabi),
                      str(s.link), str(s.info), str(s.alignment))
        console.print(t)

        if img.segments:
            t = Table(title="segments", title_justify="left", box=None, pad_edge=False)
            for col in ("type", "offset", "vaddr", "paddr", "filesz", "memsz", "flg", "align"):
                t.add_column(col, no_wrap=True)
            for g in img.segments:
                t.add_row(g.type, f"{g.offset:#08x}", f"{g.vaddr:#018x}", f"{g.paddr:#018x}", f"{g.filesz:#08x}",
                          f"{g.memsz:#08x}", segment_flag_letters(g.flags), f"{g.alignment:#x}")
            console.print(t)

        if r.top:
            _symbol_table(console, img, r.top, f"largest symbols (top {len(r.top)})")
        for name, idx in r.top_by_section.items():
            if idx:
                _symbol_table(console, img, idx, f"largest symbols in {name}")
            else:
                console.print(f"no sized symbols in section {name}")
        for note in r.notes:
            console.print(f"note: {note}")


def _symbol_table(console: Any, img: ElfImage, idx: Sequence[int], title: str) -> None:
    from rich.table import Table

    s = img.symbols
    if s is None:
        return
    t = Table(title=title, title_justify="left", box=None, pad_edge=False)
    for col, just in (("size", "right"), ("", "right"), ("type", "left"), ("address", "left"), ("name", "left")):
        t.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for i in idx:
        t.add_row(str(s.sizes[i]), format_bytes(s.sizes[i]), s.nm_types[i], _addr(img, s.values[i]), s.name(i))
    console.print(t)

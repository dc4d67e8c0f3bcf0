"""`inspect --format text`: rich tables for people. `--symbols` prints the table exactly in
`nm -S --size-sort`'s format, so it can be diffed against nm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cpualloc_cli.model.bfd import nm_values, nm_width
from cpualloc_cli.model.image import ElfImage, readelf_flag_letters, segment_flag_letters
from cpualloc_cli.model.inspect import InspectReport
from cpualloc_cli.model.measures import format_bytes
from cpualloc_cli.render import safe
from cpualloc_cli.render.tables import Col, print_table


def nm_lines(image: ElfImage, order: Sequence[int]) -> str:
    """The `nm -S --size-sort` text for these symbol indices. When the sizes are not the
    symbol table's own (kallsyms, a symbol list), a fifth column gives each size's source
    ("derived", "unbounded"), after a comment line saying so."""
    s = image.symbols
    if s is None:
        return ""
    h = image.header
    w = nm_width(h.machine_code, h.elf_class)
    sizes, types = s.sizes, s.nm_types
    values = nm_values(image)
    if s.size_sources is not None:
        source = s.size_source
        head = (f"# address size type name size_source: sizes derived from {image.symbols_from or 'symbol addresses'}"
                " (the distance to the next symbol in its section), not st_size\n")
        return head + "".join(f"{values[i]:0{w}x} {sizes[i]:0{w}x} {types[i]} {safe.clean(name)} {source(i)}\n"
                              for i, name in zip(order, s.names_at(order), strict=True))
    return "".join(f"{values[i]:0{w}x} {sizes[i]:0{w}x} {types[i]} {safe.clean(name)}\n"
                   for i, name in zip(order, s.names_at(order), strict=True))


def _addr(image: ElfImage, v: int) -> str:
    return f"{v:0{16 if image.header.elf_class == 64 else 8}x}"


def draw_inspect(console: Any, reports: Sequence[InspectReport]) -> None:
    """Every name and path from the file goes through render.safe (control characters made
    visible, never read as markup); tables never cut a number or an address (render.tables)."""
    def say(line: str, style: str = "") -> None:
        console.print(safe.text(line, style=style), soft_wrap=True)

    for n, r in enumerate(reports):
        if n:
            console.print()
        img = r.image
        if img is None:
            line = safe.text(r.path, style="bold")
            line.append_text(safe.text(f": {r.source}"))
            console.print(line, soft_wrap=True)
            for k, v in r.container:
                say(f"  {k}: {v}")
            for note in r.notes:
                say(f"  note: {note}")
            continue
        h = img.header
        line = safe.text(r.path, style="bold")
        line.append_text(safe.text(f": ELF{h.elf_class} {h.endian}-endian {h.machine} ({h.arch}), "
                                   f"{h.file_type}, entry {h.entry:#x}" + ("" if r.source == "elf" else f"; from {r.source}")))
        console.print(line, soft_wrap=True)
        for k, v in r.container:
            say(f"  {k}: {v}")

        if r.berkeley is not None:
            b = r.berkeley
            rows: list[tuple[str, ...]] = [(str(b.text), str(b.data), str(b.bss), str(b.dec), b.hex)]
            if r.berkeley_common is not None:
                c = r.berkeley_common
                rows.append((str(c.text), str(c.data), str(c.bss), str(c.dec), c.hex + " (--common)"))
            print_table(console, [Col(col, "num", "right") for col in ("text", "data", "bss", "dec", "hex")], rows,
                        title="size (Berkeley, as GNU size)", boxed=False)

        if r.extents:
            cols = [Col("measure", "name"), Col("from", "text"), Col("to", "text"), Col("bytes", "num", "right"),
                    Col("size", "num", "right", drop=True), Col("bss", "num", "right"),
                    Col("bss share", "num", "right", drop=True)]
            rows = [(e.label, f"{e.start_name} {e.start:#x}", f"{e.end_name} {e.end:#x}", str(e.size_bytes),
                     format_bytes(e.size_bytes), str(e.bss_bytes), f"{100 * e.bss_share:.1f} %") for e in r.extents]
            print_table(console, cols, rows, title="image extent", boxed=False)

        if r.percpu is not None:
            p = r.percpu
            where = "linked at address 0 (SMP x86_64 layout)" if p.linked_at_zero else f"at {p.address:#x}"
            say(f"per-cpu: {p.section} {p.size_bytes} B ({format_bytes(p.size_bytes)}) {where}")
            if p.top:
                _symbol_table(console, img, p.top, "largest per-cpu symbols")
        else:
            say("per-cpu: no .data..percpu section")

        cols = [Col("[Nr]", "num", "right"), Col("name", "name"), Col("type", "num"), Col("address", "num"),
                Col("off", "num", "right"), Col("size", "num", "right"), Col("ES", "num", "right", drop=True),
                Col("flg", "num"), Col("lk", "num", "right", drop=True), Col("inf", "num", "right", drop=True),
                Col("al", "num", "right")]
        rows = [(str(s.index), s.name, s.type, _addr(img, s.address), f"{s.offset:06x}", f"{s.size_bytes:06x}",
                 f"{s.entsize:02x}", readelf_flag_letters(s.flags, img.header.machine_code, img.header.osabi),
                 str(s.link), str(s.info), str(s.alignment))
                for s in img.sections]
        print_table(console, cols, rows, title="sections (readelf -S -W)", boxed=False)

        if img.segments:
            cols = [Col("type", "num"), Col("offset", "num"), Col("vaddr", "num"), Col("paddr", "num", drop=True),
                    Col("filesz", "num"), Col("memsz", "num"), Col("flg", "num"), Col("align", "num")]
            rows = [(g.type, f"{g.offset:#08x}", f"{g.vaddr:#018x}", f"{g.paddr:#018x}", f"{g.filesz:#08x}",
                     f"{g.memsz:#08x}", segment_flag_letters(g.flags), f"{g.alignment:#x}") for g in img.segments]
            print_table(console, cols, rows, title="segments", boxed=False)

        if r.top:
            _symbol_table(console, img, r.top, f"largest symbols (top {len(r.top)})")
        for name, idx in r.top_by_section.items():
            if idx:
                _symbol_table(console, img, idx, f"largest symbols in {name}")
            else:
                say(f"no sized symbols in section {name}")
        for note in r.notes:
            say(f"note: {note}")


def _symbol_table(console: Any, img: ElfImage, idx: Sequence[int], title: str) -> None:
    s = img.symbols
    if s is None:
        return
    cols = [Col("size", "num", "right"), Col("", "num", "right", drop=True), Col("type", "num"),
            Col("address", "num"), Col("name", "name")]
    rows: list[tuple[str, ...]] = [(str(s.sizes[i]), format_bytes(s.sizes[i]), s.nm_types[i],
                                    _addr(img, s.values[i]), s.name(i)) for i in idx]
    if s.size_sources is not None:
        cols.append(Col("size source", "num"))
        rows = [(*row, s.size_source(i)) for row, i in zip(rows, idx, strict=True)]
        title += f" (sizes derived from {img.symbols_from or 'symbol addresses'})"
    print_table(console, cols, rows, title=title, boxed=False)

"""The image extent (what a loader maps, up to `_end`) and the per-cpu section.

Where the extent starts differs by arch (PRODUCT.md "Image extent"):
- sparc64 maps from KERNBASE (0x400000), below `_text` (0x404000);
- x86 checks `_end - LOAD_OFFSET` (a bound on the top address, PHYSICAL_START included);
- elsewhere `_text` is used, and said so.
`_end - _text` is always reported too. Without symbols (stripped or extracted images) the end
comes from PT_LOAD segments and SHF_ALLOC sections. SMP x86_64 links `.data..percpu` at
address 0: it is never taken for the start of the image.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpualloc_cli.model.arches import ARCHES
from cpualloc_cli.model.image import SHF_ALLOC, SHT_NOBITS, ElfImage, ImageExtent, Section, Segment

PERCPU_SECTION_NAMES = (".data..percpu", ".data.percpu")


@dataclass(frozen=True, slots=True)
class PercpuFacts:
    section: str | None  # which name the image uses, None if it has neither
    size_bytes: int
    address: int
    linked_at_zero: bool  # SMP x86_64: the per-cpu section is linked at address 0


def percpu_section(image: ElfImage) -> Section | None:
    for name in PERCPU_SECTION_NAMES:
        sec = image.section(name)
        if sec is not None:
            return sec
    return None


def compute_percpu(image: ElfImage) -> PercpuFacts:
    sec = percpu_section(image)
    if sec is None:
        return PercpuFacts(None, 0, 0, False)
    others = [s.address for s in _alloc_sections(image) if s is not sec and s.address]
    at_zero = sec.address == 0 and bool(others)
    return PercpuFacts(sec.name, sec.size_bytes, sec.address, at_zero)


def _alloc_sections(image: ElfImage) -> list[Section]:
    return [s for s in image.sections if s.flags & SHF_ALLOC and s.index != 0]


def _layout_sections(image: ElfImage) -> list[Section]:
    """SHF_ALLOC sections that are part of the kernel's own address range: a per-cpu section
    linked at address 0 below everything else is left out."""
    secs = _alloc_sections(image)
    pc = percpu_section(image)
    if pc is not None and pc.address == 0 and any(s.address for s in secs if s is not pc):
        secs = [s for s in secs if s is not pc]
    return secs


def _bss_between(image: ElfImage, start: int, end: int) -> int:
    return sum(s.size_bytes for s in _layout_sections(image)
               if s.type_code == SHT_NOBITS and start <= s.address < end)


def _symbol(image: ElfImage, name: str) -> int | None:
    return image.symbols.find(name) if image.symbols is not None else None


def compute_extents(image: ElfImage) -> tuple[ImageExtent, ...]:
    """Extents of an executable image, the arch loader's first. Empty for a .o/.ko."""
    if image.header.file_type not in ("EXEC", "DYN"):
        return ()
    arch = ARCHES.get(image.header.arch)
    text = _symbol(image, "_text")
    end = _symbol(image, "_end")
    end_name = "_end"
    layout = _layout_sections(image)
    beyond: list[Section] = []
    if end is None:
        ends = [s.address + s.size_bytes for s in layout]
        ends += [g.vaddr + g.memsz for g in _load_segments(image)]
        if not ends:
            return ()
        end = max(ends)
        end_name = "highest section end"
        bss_end = _kernel_end_without_symbols(layout)
        if bss_end is not None:
            end_of, kernel_end, beyond = bss_end
            if beyond:
                if image.header.arch in _END_PAGE_ALIGNED and arch is not None:
                    page = arch.page_size
                    kernel_end = (kernel_end + page - 1) // page * page
                    end_of += " page-aligned"
                end = kernel_end
                end_name = f"end of {end_of}"
    out: list[ImageExtent] = []
    if arch is not None and arch.extent_start is not None and end > arch.extent_start:
        start = arch.extent_start
        if text is None or text >= start:
            out.append(ImageExtent("loader", arch.extent_start_name or "start", start, end_name, end,
                                   _bss_between(image, start, end), arch.extent_source))
    if text is not None:
        out.append(ImageExtent("text_to_end", "_text", text, end_name, end, _bss_between(image, text, end),
                               "_end - _text"))
    else:
        starts = [s.address for s in layout] + [g.vaddr for g in _load_segments(image)]
        if starts:
            start = min(starts)
            out.append(ImageExtent("segments", "lowest section", start, end_name,
                                   end, _bss_between(image, start, end),
                                   "no symbols: derived from PT_LOAD segments and SHF_ALLOC sections; the end is a "
                                   "lower bound (_end may be aligned above the last section)"
                                   + _beyond_note(beyond)))
    if beyond and out and out[0].label == "loader":
        first = out[0]
        out[0] = ImageExtent(first.label, first.start_name, first.start, first.end_name, first.end,
                             first.bss_bytes, first.note + _beyond_note(beyond))
    return tuple(out)


# Arches whose linker script aligns `_end` to PAGE_SIZE after the last NOBITS section.
# (Elsewhere `_end` follows BSS_SECTION directly, e.g. arch/sparc/kernel/vmlinux.lds.S:185-186.)
_END_PAGE_ALIGNED = {
    "x86_64": "arch/x86/kernel/vmlinux.lds.S:417",  # ". = ALIGN(PAGE_SIZE); /* keep VO_INIT_SIZE page aligned */"
    "i386": "arch/x86/kernel/vmlinux.lds.S:417",
}


def _kernel_end_without_symbols(layout: list[Section]) -> tuple[str, int, list[Section]] | None:
    """Where the kernel proper ends when there is no `_end` symbol: at the end of its last
    NOBITS section, with the SHF_ALLOC sections placed at or above it left out.

    The rule, from the linker scripts: `_end` is set right after BSS, so the image a loader
    reserves ends there (include/asm-generic/vmlinux.lds.h BSS_SECTION; on x86 `.brk`, also
    NOBITS, follows `.bss` and `_end = .` follows `.brk`, arch/x86/kernel/vmlinux.lds.S:410-418).
    What a script places after `_end` "lives outside of the kernel proper (_text - _end)"
    (x86's `.init.scratch`, vmlinux.lds.S:421-443, memory that becomes available after boot);
    the other sections x86 places there (`.got`, `.plt`, `.rel.dyn`, `.rela.dyn`) are asserted
    empty (vmlinux.lds.S:456-486). Returns (name of the last NOBITS section, its end, the
    sections beyond it), or None when the image has no NOBITS section.
    """
    nobits = [s for s in layout if s.type_code == SHT_NOBITS and s.size_bytes]
    if not nobits:
        return None
    last = max(nobits, key=lambda s: (s.address + s.size_bytes, s.index))
    kernel_end = last.address + last.size_bytes
    beyond = [s for s in layout if s.address >= kernel_end and s.size_bytes]
    return last.name, kernel_end, beyond


def _beyond_note(beyond: list[Section]) -> str:
    if not beyond:
        return ""
    names = ", ".join(s.name or f"[{s.index}]" for s in beyond[:4]) + (", ..." if len(beyond) > 4 else "")
    return (f"; not counted: {names}, placed past the end of BSS where `_end` lies (outside the kernel proper, "
            "arch/x86/kernel/vmlinux.lds.S:410-443; x86 page-aligns `_end`, line 417)")


def _load_segments(image: ElfImage) -> list[Segment]:
    pc = percpu_section(image)
    segs = []
    for g in image.segments:
        if g.type != "LOAD" or g.memsz == 0:
            continue
        # The SMP x86_64 per-cpu segment: linked at 0, holding only .data..percpu.
        if pc is not None and pc.address == 0 and g.vaddr == 0 and g.memsz <= max(pc.size_bytes, 1) + 0x1000:
            continue
        segs.append(g)
    return segs



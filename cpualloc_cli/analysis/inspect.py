"""Build the inspect report from an image: pure, over model objects."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress

from cpualloc_cli.analysis.extent import compute_extents, compute_percpu, percpu_section
from cpualloc_cli.analysis.sizes import compute_berkeley, compute_sysv
from cpualloc_cli.model.image import ElfImage
from cpualloc_cli.model.inspect import InspectReport, PercpuSummary


def largest_first(image: ElfImage, order: Sequence[int], count: int) -> list[int]:
    """The `count` largest symbols of `order`, largest first; equal sizes keep nm's order (by name).

    `order` is in `nm --size-sort` order (size ascending), or any subsequence of it: the
    answer is read off its tail, one run of equal sizes at a time.
    """
    if image.symbols is None or count <= 0 or not order:
        return []
    sizes = image.symbols.sizes
    out: list[int] = []
    end = len(order)
    while end > 0 and len(out) < count:
        size = sizes[order[end - 1]]
        start = end - 1
        while start > 0 and sizes[order[start - 1]] == size:
            start -= 1
        out.extend(order[start:end])
        end = start
    return out[:count]


def in_sections(image: ElfImage, order: Sequence[int], wanted: set[int]) -> list[int]:
    """The symbols of `order` whose section index is in `wanted`, in the same order."""
    if image.symbols is None:
        return []
    shndx = image.symbols.shndx
    return list(compress(order, map(wanted.__contains__, map(shndx.__getitem__, order))))


def section_scope(image: ElfImage, name: str) -> set[int]:
    """The indices of the sections called `name` (a name may repeat in a .o)."""
    return {s.index for s in image.sections if s.name == name}


def top_scopes(image: ElfImage, sections: Sequence[str] = ()) -> list[set[int]]:
    """The section-index sets the report lists largest symbols for, besides the whole table:
    each `--section NAME`, then the per-cpu section."""
    scopes = [section_scope(image, name) for name in sections]
    pc = percpu_section(image)
    if pc is not None:
        scopes.append({pc.index})
    return scopes


def compute_inspect_report(image: ElfImage, nm_order: Sequence[int], *, top_n: int = 10,
                           sections: Sequence[str] = (), want_symbols: bool = False,
                           source: str = "elf", container: tuple[tuple[str, int | str], ...] = ()) -> InspectReport:
    rows, total = compute_sysv(image)
    symbols = image.symbols
    top = tuple(largest_first(image, nm_order, top_n))
    by_section: dict[str, tuple[int, ...]] = {}
    if symbols is not None:
        for name in sections:
            by_section[name] = tuple(largest_first(image, in_sections(image, nm_order, section_scope(image, name)),
                                                   top_n))
    pc = percpu_section(image)
    percpu = None
    facts = compute_percpu(image)
    if pc is not None:
        ptop: tuple[int, ...] = ()
        if symbols is not None:
            ptop = tuple(largest_first(image, in_sections(image, nm_order, {pc.index}), top_n))
        percpu = PercpuSummary(facts.section, facts.size_bytes, facts.address, facts.linked_at_zero, ptop)
    berkeley = compute_berkeley(image)
    common = compute_berkeley(image, common=True) if image.common_bytes else None
    return InspectReport(
        path=image.path,
        image=image,
        source=source,
        berkeley=berkeley,
        berkeley_common=common,
        sysv=tuple(rows),
        sysv_total=total,
        extents=compute_extents(image),
        percpu=percpu,
        top=top,
        top_by_section=by_section,
        nm_order=tuple(nm_order) if want_symbols else None,
        container=container,
        notes=image.notes,
    )

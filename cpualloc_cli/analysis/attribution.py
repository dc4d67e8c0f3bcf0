"""Tree arithmetic of attribution: every allocated section byte goes to the compile unit of
the sized symbol that covers it, or to a row of its own ([no compile unit], [no symbol])."""

from __future__ import annotations

from collections.abc import Sequence

from cpualloc_cli.analysis.diff import berkeley_class, compute_init_range, fold_name, section_kind
from cpualloc_cli.analysis.sizes import bfd_sections
from cpualloc_cli.model.attribution import (
    OTHERS,
    UNATTRIBUTED_NO_SYMBOL,
    UNATTRIBUTED_NO_UNIT,
    Attribution,
    AttributionNode,
)
from cpualloc_cli.model.diff import Kind
from cpualloc_cli.model.image import SHF_ALLOC, SHF_EXECINSTR, ElfImage

STT_SECTION, STT_FILE = 3, 4


def attributable_symbols(image: ElfImage) -> tuple[list[int], list[int]]:
    """(text, data) symbol indices: sized, defined in an allocated section; text when the
    section is executable."""
    s = image.symbols
    if s is None:
        return [], []
    by_index = {sec.index: sec for sec in image.sections}
    text: list[int] = []
    data: list[int] = []
    for i in range(len(s)):
        if not s.sizes[i] or s.elf_types[i] in (STT_SECTION, STT_FILE):
            continue
        sec = by_index.get(s.shndx[i])
        if sec is None or not sec.flags & SHF_ALLOC:
            continue
        (text if sec.flags & SHF_EXECINSTR else data).append(i)
    return text, data


def _key(path: str, by: str) -> tuple[str, ...]:
    parts = tuple(p for p in path.split("/") if p)
    if by == "file":
        return parts
    depth = int(by.split(":", 1)[1]) if ":" in by else 0
    dirs = parts[:-1]
    if depth:
        dirs = dirs[:depth]
    return dirs or ("[top]",)


def compute_attribution(image: ElfImage, unit_paths: Sequence[str], symbol_unit: Sequence[int], *,
                        by: str = "file", method: str = "dwarf", notes: Sequence[str] = ()) -> Attribution:
    """Walk each allocated section's sized symbols by address; a byte counts once (the first
    symbol to cover it, aliases and overlaps skipped); bytes past the section are cut."""
    root = AttributionNode("")
    init_range = compute_init_range(image)
    s = image.symbols
    per_section: dict[int, list[int]] = {}
    if s is not None:
        text, data = attributable_symbols(image)
        for i in (*text, *data):
            per_section.setdefault(s.shndx[i], []).append(i)
    berkeley = {"text": 0, "data": 0, "bss": 0}
    keys = [_key(p, by) for p in unit_paths]

    def add(path: tuple[str, ...], kind: str, n: int, symbols: int = 0) -> None:
        node = root
        for part in path:
            node.bytes_by_kind[kind] = node.bytes_by_kind.get(kind, 0) + n
            node.symbol_count += symbols
            node = node.children.setdefault(part, AttributionNode(part))
        node.bytes_by_kind[kind] = node.bytes_by_kind.get(kind, 0) + n
        node.symbol_count += symbols

    for sec in bfd_sections(image):
        cls = berkeley_class(sec)
        if cls is None or not sec.size_bytes:
            continue
        berkeley[cls] += sec.size_bytes
        kind = section_kind(sec, init_range)
        kname = kind.value if kind not in (Kind.OTHER, Kind.MIXED) else "data"
        covered = 0
        if s is not None:
            syms = sorted(per_section.get(sec.index, ()), key=lambda i: (s.values[i], -s.sizes[i]))
            pos = sec.address
            end = sec.end
            for i in syms:
                lo = max(int(s.values[i]), pos)
                hi = min(int(s.values[i]) + int(s.sizes[i]), end)
                if hi <= lo:
                    continue
                u = symbol_unit[i]
                add(keys[u] if u >= 0 else (UNATTRIBUTED_NO_UNIT,), kname, hi - lo, 1)
                covered += hi - lo
                pos = hi
        if sec.size_bytes - covered:
            add((UNATTRIBUTED_NO_SYMBOL,), kname, sec.size_bytes - covered)
    return Attribution(by, method, root, tuple(berkeley.items()), tuple(notes))


def top_children(node: AttributionNode, top_n: int) -> tuple[list[AttributionNode], AttributionNode | None]:
    """The `top_n` largest children (largest first, ties by name), and one "[N others]" node
    summing the rest (None when nothing is left). 0 keeps every child."""
    kids = sorted(node.children.values(), key=lambda c: (-c.total_bytes, c.name))
    if not top_n or len(kids) <= top_n:
        return kids, None
    rest = kids[top_n:]
    other = AttributionNode(OTHERS.format(n=len(rest)))
    for c in rest:
        for k, v in c.bytes_by_kind.items():
            other.bytes_by_kind[k] = other.bytes_by_kind.get(k, 0) + v
        other.symbol_count += c.symbol_count
    return kids[:top_n], other


def fold_symbol_names(names: Sequence[str], sizes: Sequence[int]) -> dict[str, int]:
    """bloat-o-meter's `.NUMBER` clone folding of symbol names, sizes summed per folded name."""
    out: dict[str, int] = {}
    for n, z in zip(names, sizes, strict=True):
        f = fold_name(n)
        out[f] = out.get(f, 0) + z
    return out

"""Render an attribution tree: rich table (text), a JSON object, Bloaty-style CSV/TSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from cpualloc_cli.analysis.attribution import top_children
from cpualloc_cli.model.attribution import KINDS, Attribution, AttributionNode


#: CSV/TSV header: Bloaty's `-d compileunits --csv` columns (compileunits,vmsize,filesize) but
#: the first is named after the --by level and vmsize/filesize are replaced by our kind columns
#: and a total (vmsize: every kind; no file-size column, BSS has none)
def csv_header(by: str) -> list[str]:
    first = "compileunits" if by == "file" else "directories"
    return [first, *KINDS, "vmsize"]


def _walk(node: AttributionNode, top_n: int, prefix: str, depth: int) -> Iterator[tuple[int, str, AttributionNode]]:
    kids, other = top_children(node, top_n)
    for c in kids:
        path = f"{prefix}/{c.name}" if prefix else c.name
        yield depth, path, c
        yield from _walk(c, top_n, path, depth + 1)
    if other is not None:
        yield depth, f"{prefix}/{other.name}" if prefix else other.name, other


def _leaves(node: AttributionNode, top_n: int, prefix: str = "") -> Iterator[tuple[str, AttributionNode]]:
    """The rows whose bytes add up to the root: leaves and "[N others]" rows."""
    kids, other = top_children(node, top_n)
    for c in kids:
        path = f"{prefix}/{c.name}" if prefix else c.name
        if c.children:
            own = AttributionNode(c.name, {k: v - sum(x.bytes_by_kind.get(k, 0) for x in c.children.values())
                                           for k, v in c.bytes_by_kind.items()})
            if own.total_bytes:  # a directory's own files, when --by dir keeps its subdirectories too
                yield path, own
            yield from _leaves(c, top_n, path)
        else:
            yield path, c
    if other is not None:
        yield (f"{prefix}/{other.name}" if prefix else other.name), other


def attribution_rows(attr: Attribution, top_n: int) -> list[list[str | int]]:
    """Flat rows (path, kind bytes..., total), largest first per level, summing to the root."""
    return [[path, *(n.bytes_by_kind.get(k, 0) for k in KINDS), n.total_bytes]
            for path, n in _leaves(attr.root, top_n)]


def render_attribution_csv(attr: Attribution, top_n: int, delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(csv_header(attr.by))
    w.writerows(attribution_rows(attr, top_n))
    return buf.getvalue()


def _node_dict(node: AttributionNode, top_n: int) -> dict[str, Any]:
    kids, other = top_children(node, top_n)
    children = [_node_dict(c, top_n) for c in kids]
    if other is not None:
        children.append(_node_dict(other, 0) | {"others": True})
    return {"name": node.name, "bytes_by_kind": {k: node.bytes_by_kind.get(k, 0) for k in KINDS},
            "total_bytes": node.total_bytes, "symbol_count": node.symbol_count, "children": children}


def attribution_dict(attr: Attribution, top_n: int) -> dict[str, Any]:
    """The `attribution` object of `inspect --by --format json` (schemas/attribution.schema.json)."""
    return {"by": attr.by, "method": attr.method, "top": top_n,
            "berkeley": dict(attr.berkeley), "total_bytes": attr.root.total_bytes,
            "tree": _node_dict(attr.root, top_n)["children"], "notes": list(attr.notes)}


def draw_attribution(console: Any, attr: Attribution, top_n: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cpualloc_cli.render.safe import clean

    t = Table(title=f"bytes by {attr.by} (from {attr.method} compile units)", title_justify="left")
    t.add_column("path")
    for k in (*KINDS, "total"):
        t.add_column(k, justify="right")
    for depth, path, n in _walk(attr.root, top_n, "", 0):
        name = path.rsplit("/", 1)[-1] if depth else path
        t.add_row("  " * depth + escape(clean(name)), *(str(n.bytes_by_kind.get(k, 0)) for k in KINDS), str(n.total_bytes))
    r = attr.root
    t.add_row("total", *(str(r.bytes_by_kind.get(k, 0)) for k in KINDS), str(r.total_bytes))
    console.print(t)
    b = dict(attr.berkeley)
    console.print(f"GNU size (Berkeley): text {b.get('text', 0)}  data {b.get('data', 0)}  bss {b.get('bss', 0)}")
    for note in attr.notes:
        console.print(f"note: {clean(note)}")

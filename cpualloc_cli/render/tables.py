"""Rich tables that never cut a number, an address or a rule id.

rich shrinks a table that is wider than the terminal by wrapping its columns and, past that,
by cutting cells with an ellipsis ("8,388,6…"). Here every column says what it holds:

- `num`: numbers, addresses, sizes, ids. Never wrapped, folded or cut; the table is laid out so
  that they fit whole.
- `name`: symbol and section names, paths, rule ids' neighbours: folded (broken at any character,
  the whole name kept) when the column is narrow.
- `text`: prose (notes, reasons, fixes): wrapped at spaces.

When even the narrowest layout (every `num` column at its full width, `name` and `text` columns
folded to a few characters) is wider than the console, the columns marked `drop` go first
(they repeat what the details below the table say), and if it still does not fit, each row is
printed as a block of `header: value` lines, printed whole: no value is ever cut.

Every str cell passes through `safe.text` (control characters made visible, never read as
markup); a `rich.text.Text` cell is taken as it is (build it with `safe.text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cpualloc_cli.render import safe

NAME_MIN = 12  # the narrowest a folded name column gets before the table gives up
TEXT_MIN = 12


@dataclass(frozen=True)
class Col:
    header: str
    kind: str = "name"  # "num", "name" or "text"
    justify: str = "left"
    drop: bool = False  # may be left out on a narrow console


def _cell(value: Any) -> Any:
    from rich.text import Text

    if isinstance(value, Text):
        return value
    return safe.text("" if value is None else value)


def _longest(texts: Sequence[Any]) -> int:
    return max((max((len(line) for line in t.plain.split("\n")), default=0) for t in texts), default=0)


def _full(header: Any, cells: Sequence[Any]) -> int:
    return max(_longest([header]), _longest(cells))


def _need(col: Col, header: Any, cells: Sequence[Any]) -> int:
    """The narrowest this column may get: a number whole; a name folded to NAME_MIN; prose to
    TEXT_MIN but never narrower than its longest word (an address inside it stays whole)."""
    full = _full(header, cells)
    if col.kind == "num":
        return full
    if col.kind == "name":
        return min(full, NAME_MIN)
    word = max((len(w) for t in cells for w in t.plain.split()), default=0)
    return max(word, min(full, TEXT_MIN))


def _widths(cols: Sequence[Col], headers: Sequence[Any], cells: Sequence[Sequence[Any]], keep: Sequence[int],
            room: int) -> dict[int, int] | None:
    """Column widths that fit `room` (None: the natural widths fit). Numbers get their full width;
    the rest share what is left, each at least its _need, at most its full width."""
    full = {i: _full(headers[i], [r[i] for r in cells]) for i in keep}
    if sum(full.values()) <= room:
        return None
    need = {i: _need(cols[i], headers[i], [r[i] for r in cells]) for i in keep}
    widths = dict(need)
    spare = room - sum(widths.values())
    # water-filling: the columns that need least get their full width first, the rest share evenly
    flexible = sorted((i for i in keep if full[i] > widths[i]), key=lambda i: full[i] - widths[i])
    for n, i in enumerate(flexible):
        add = min(full[i] - widths[i], spare // (len(flexible) - n))
        widths[i] += add
        spare -= add
    return widths


def _chrome(ncols: int, boxed: bool) -> int:
    # boxed: a border left, right and between columns, padding 1 each side of every cell;
    # box=None with pad_edge=False: padding 1 each side between columns only.
    return 3 * ncols + 1 if boxed else max(0, 2 * (ncols - 1))


def print_table(console: Any, cols: Sequence[Col], rows: Sequence[Sequence[Any]], *, title: str | None = None,
                boxed: bool = True) -> None:
    """Print `rows` under `cols` so that no `num` cell is ever wrapped, folded or cut."""
    from rich.table import Table

    headers = [safe.text(c.header) for c in cols]
    cells = [[_cell(v) for v in row] for row in rows]
    keep = list(range(len(cols)))

    def width(idx: list[int]) -> int:
        return sum(_need(cols[i], headers[i], [r[i] for r in cells]) for i in idx) + _chrome(len(idx), boxed)

    for i in reversed(range(len(cols))):
        if width(keep) <= console.width:
            break
        if cols[i].drop:
            keep.remove(i)
    if width(keep) > console.width:
        _print_blocks(console, cols, headers, cells, title)
        return
    if boxed:
        t = Table(title=safe.text(title) if title else None, title_justify="left", show_header=True,
                  header_style="bold")
    else:
        t = Table(title=safe.text(title) if title else None, title_justify="left", box=None, pad_edge=False,
                  show_header=True)
    widths = _widths(cols, headers, cells, keep, console.width - _chrome(len(keep), boxed))
    for i in keep:
        c = cols[i]
        w = None if widths is None else widths[i]
        if c.kind == "num":
            t.add_column(headers[i], justify=c.justify, no_wrap=True, overflow="fold", width=w)  # type: ignore[arg-type]
        else:
            t.add_column(headers[i], justify=c.justify, overflow="fold", width=w)  # type: ignore[arg-type]
    for r in cells:
        t.add_row(*(r[i] for i in keep))
    console.print(t)


def _print_blocks(console: Any, cols: Sequence[Col], headers: Sequence[Any], cells: Sequence[Sequence[Any]],
                  title: str | None) -> None:
    """Too narrow for a table: one block per row, the first cell as its head, the others as
    `header: value` lines, printed whole (soft wrap: the terminal wraps them, nothing is cut)."""
    from rich.text import Text

    if title:
        console.print(safe.text(title, style="bold"), soft_wrap=True)
    for r in cells:
        if not r:
            continue
        console.print(r[0].copy(), soft_wrap=True)
        for i in range(1, len(cols)):
            value = r[i]
            if not value.plain or value.plain == "-":
                continue
            line = Text("  ")
            if headers[i].plain:
                line.append(headers[i].plain + ": ", style="dim")
            line.append_text(value)
            console.print(line, soft_wrap=True)

"""What grew between two images: a port of Linux's scripts/bloat-o-meter (6.1) plus
section, Berkeley and per-kind deltas and budget verdicts. Pure: model types in, model out.

bloat-o-meter (Matt Mackall, 2004) reads `nm --size-sort FILE`, keeps the nm letters of
its mode, drops a few generated names, folds every `.NUMBER` out of a name (statics and
compiler clones get random suffixes), sums sizes per folded name, and sorts the deltas
descending by (delta, name). `compute_bloat` does exactly that on the same input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from cpualloc_cli.model.bfd import SEC_ALLOC, SEC_CODE, SEC_HAS_CONTENTS, SEC_READONLY, bfd_section_flags
from cpualloc_cli.model.diff import (
    BloatResult,
    BloatSummary,
    BudgetVerdict,
    DiffReport,
    Kind,
    KindDelta,
    MeasureDelta,
    NmSymbol,
    SectionDelta,
    SymbolDelta,
)
from cpualloc_cli.model.image import SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, BerkeleyTotals, ElfImage, ImageExtent, Section
from cpualloc_cli.model.measures import Budget, Measure

# scripts/bloat-o-meter: re_NUMBER = re.compile(r'\.[0-9]+')
RE_NUMBER = re.compile(r"\.[0-9]+")

# The nm letters of each bloat-o-meter mode (its print_result calls).
BLOAT_ALL = ("Function", "tTdDbBrR")  # no option
BLOAT_TEXT = ("Function", "tT")  # -t
BLOAT_DATA = ("Data", "dDbBrR")  # -d
BLOAT_CATEGORIES = (("Function", "tT"), ("Data", "dDbB"), ("RO Data", "rR"))  # -c

_SKIP_PREFIXES = ("__mod_", "__se_sys", "__se_compat_sys", "__addressable_")
_SKIP_NAMES = frozenset({"linux_banner", "vermagic"})

STT_SECTION = 3
STT_FILE = 4
SHN_UNDEF = 0
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2

_NM_DROPS = frozenset("UwvaA")

PERCPU_SECTIONS = (".data..percpu", ".data.percpu")


# str.split()'s whitespace: the re module's \s on str patterns is the same test as str.isspace()
# (both Py_UNICODE_ISSPACE), found in C instead of a Python loop over the name.
_SPACE = re.compile(r"\s")


def fold_name(name: str) -> str:
    """bloat-o-meter's `re_NUMBER.sub('', name)`: every `.DIGITS` removed, anywhere."""
    return RE_NUMBER.sub("", name)


def bloat_skips(name: str) -> bool:
    """Names bloat-o-meter drops as generated (and names its line parser never sees)."""
    if not name or ":" in name or _SPACE.search(name):
        return True  # bloat-o-meter skips any nm line containing ':'; split() needs one word
    return name.startswith(_SKIP_PREFIXES) or name in _SKIP_NAMES


def _getsizes(symbols: Iterable[NmSymbol], nm_types: str) -> tuple[dict[str, int], dict[str, set[Kind]]]:
    sizes: dict[str, int] = {}
    kinds: dict[str, set[Kind]] = {}
    for sym in symbols:
        if len(sym.nm_type) != 1 or sym.nm_type not in nm_types or bloat_skips(sym.name):
            continue
        name = fold_name(sym.name)
        sizes[name] = sizes.get(name, 0) + sym.size_bytes
        kinds.setdefault(name, set()).add(sym.kind)
    return sizes, kinds


def compute_symbol_sizes(image: ElfImage, limit: int | None = None) -> dict[str, tuple[int, str]]:
    """bloat-o-meter's view of an image as {folded name: (size, one nm letter)}; with `limit`,
    only the largest `limit` names. `check --format json` records it so that a later
    `check --baseline` can show which symbols grew."""
    letters: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for sym in compute_size_sort(image):
        if len(sym.nm_type) != 1 or sym.nm_type not in BLOAT_ALL[1] or bloat_skips(sym.name):
            continue
        name = fold_name(sym.name)
        sizes[name] = sizes.get(name, 0) + sym.size_bytes
        letters.setdefault(name, sym.nm_type)
    names = sorted(sizes, key=lambda n: (-sizes[n], n))
    if limit is not None:
        names = names[:limit]
    return {n: (sizes[n], letters[n]) for n in names}


# Which nm letters make up each Berkeley measure (GNU nm / size by section flags).
MEASURE_LETTERS = {"text": "tTrR", "data": "dD", "bss": "bB"}


def compute_symbol_growth(baseline: Mapping[str, tuple[int, str]], current: Mapping[str, tuple[int, str]],
                          measure: str, count: int = 5) -> list[tuple[str, int, int]]:
    """The symbols that grew most since the baseline, for one measure: (name, old, new).
    text/data/bss use the symbols of those kinds; any other measure uses all of them."""
    letters = MEASURE_LETTERS.get(measure)
    rows: list[tuple[str, int, int]] = []
    for name in set(baseline) | set(current):
        old, old_letter = baseline.get(name, (0, ""))
        new, new_letter = current.get(name, (0, ""))
        if letters is not None and (new_letter or old_letter) not in letters:
            continue
        if new > old:
            rows.append((name, old, new))
    rows.sort(key=lambda r: (-(r[2] - r[1]), r[0]))
    return rows[:count]


def _one_kind(*sets: set[Kind] | None) -> Kind:
    found: set[Kind] = set()
    for s in sets:
        if s:
            found |= s
    if len(found) == 1:
        return next(iter(found))
    return Kind.MIXED if found else Kind.OTHER


def compute_bloat(old: Iterable[NmSymbol], new: Iterable[NmSymbol], label: str = BLOAT_ALL[0],
                  nm_types: str = BLOAT_ALL[1]) -> BloatResult:
    """bloat-o-meter's calc() and print_result() as data."""
    old_sizes, old_kinds = _getsizes(old, nm_types)
    new_sizes, new_kinds = _getsizes(new, nm_types)
    grow = shrink = add = remove = up = down = 0
    delta: list[tuple[int, str]] = []
    common = {a for a in old_sizes if a in new_sizes}
    otot = sum(old_sizes.values())
    ntot = sum(new_sizes.values())
    for name, size in old_sizes.items():
        if name not in common:
            remove += 1
            down += size
            delta.append((-size, name))
    for name, size in new_sizes.items():
        if name not in common:
            add += 1
            up += size
            delta.append((size, name))
    for name in common:
        d = new_sizes[name] - old_sizes[name]
        if d > 0:
            grow, up = grow + 1, up + d
        if d < 0:
            shrink, down = shrink + 1, down - d
        delta.append((d, name))
    delta.sort()
    delta.reverse()
    rows = tuple(
        SymbolDelta(name, old_sizes.get(name), new_sizes.get(name), _one_kind(old_kinds.get(name), new_kinds.get(name)))
        for d, name in delta
        if d
    )
    summary = BloatSummary(add, remove, grow, shrink, up, down, otot, ntot)
    return BloatResult(label, nm_types, summary, rows)


# --- kinds --------------------------------------------------------------------------------


def compute_init_range(image: ElfImage) -> tuple[int, int] | None:
    """[__init_begin, __init_end): what the kernel frees after boot."""
    if image.symbols is None:
        return None
    lo = image.symbols.find("__init_begin")
    hi = image.symbols.find("__init_end")
    if lo is None or hi is None or hi <= lo:
        return None
    return lo, hi


def section_kind(sec: Section, init_range: tuple[int, int] | None) -> Kind:
    if not sec.flags & SHF_ALLOC:
        return Kind.OTHER
    if sec.name in PERCPU_SECTIONS:
        return Kind.PERCPU
    if init_range is not None:
        lo, hi = init_range
        if sec.size_bytes and lo <= sec.address < hi and sec.end <= hi:
            return Kind.INIT
    elif sec.name.startswith((".init.", ".exit.")):
        return Kind.INIT
    if sec.flags & SHF_EXECINSTR:
        return Kind.TEXT
    if sec.is_nobits:
        return Kind.BSS
    if sec.name.startswith(".rodata") or not sec.flags & SHF_WRITE:
        return Kind.RODATA
    return Kind.DATA


def berkeley_class(sec: Section) -> str | None:
    """Which GNU `size` (Berkeley) column a section counts in: by BFD flags, not by name
    (binutils size.c: code or read-only -> text; else with contents -> data; else bss),
    the same rule as analysis.sizes.compute_berkeley."""
    f = bfd_section_flags(sec)
    if not f & SEC_ALLOC:
        return None
    if f & SEC_CODE or f & SEC_READONLY:
        return "text"
    if f & SEC_HAS_CONTENTS:
        return "data"
    return "bss"


def _has_symbols(image: ElfImage) -> bool:
    return image.symbols is not None and len(image.symbols) > 1


def compute_symbol_kinds(image: ElfImage) -> list[Kind]:
    """The kind of every symbol in the table (index-aligned with the columns)."""
    table = image.symbols
    if table is None:
        return []
    init_range = compute_init_range(image)
    by_index = {s.index: s for s in image.sections}
    sec_kinds = {s.index: section_kind(s, init_range) for s in image.sections}
    out: list[Kind] = []
    for i in range(len(table)):
        ndx = int(table.shndx[i])
        if table.nm_types[i] == "C":  # COMMON as nm says (an extended index 0xfff2 is a real section)
            out.append(Kind.BSS)
            continue
        kind = sec_kinds.get(ndx, Kind.OTHER)
        sec = by_index.get(ndx)
        if kind not in (Kind.PERCPU, Kind.OTHER) and init_range is not None and sec is not None:
            v = int(table.values[i])
            if init_range[0] <= v < init_range[1]:
                kind = Kind.INIT
        out.append(kind)
    return out


def compute_size_sort(image: ElfImage) -> tuple[NmSymbol, ...]:
    """What `nm --size-sort` lists (binutils nm.c filter_symbols + sort_symbols_by_size):
    symbols with a nonzero size, without section/file symbols, undefined (U, w, v) or
    absolute (a, A) ones, each with its nm letter and cpualloc's kind. The order is the
    symbol table's; bloat-o-meter's result does not depend on it."""
    table = image.symbols
    if table is None:
        return ()
    kinds = compute_symbol_kinds(image)
    out: list[NmSymbol] = []
    for i in range(len(table)):
        size = int(table.sizes[i])
        if size == 0:
            continue
        if i == 0 or table.elf_types[i] in (STT_SECTION, STT_FILE) or int(table.shndx[i]) == SHN_UNDEF:
            continue
        if table.nm_types[i] in _NM_DROPS:
            continue
        out.append(NmSymbol(table.names[i], size, table.nm_types[i], kinds[i]))
    return tuple(out)


# --- whole-image deltas ---------------------------------------------------------------------


def _init_ranges(old: ElfImage, new: ElfImage) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """Both images' init ranges, or neither (then init is told by section names on both
    sides, so that a stripped image is classified like its unstripped twin)."""
    o, n = compute_init_range(old), compute_init_range(new)
    return (o, n) if o is not None and n is not None else (None, None)


def compute_section_deltas(old: ElfImage, new: ElfImage) -> tuple[SectionDelta, ...]:
    """Allocated sections by name, in the new image's order, then those only in the old."""
    old_init, new_init = _init_ranges(old, new)
    old_secs = {s.name: s for s in old.sections if s.is_alloc}
    rows: list[SectionDelta] = []
    seen: set[str] = set()
    for s in new.sections:
        if not s.is_alloc or s.name in seen:
            continue
        seen.add(s.name)
        o = old_secs.get(s.name)
        rows.append(SectionDelta(s.name, o.size_bytes if o else None, s.size_bytes, section_kind(s, new_init)))
    for name, o in old_secs.items():
        if name not in seen:
            rows.append(SectionDelta(name, o.size_bytes, None, section_kind(o, old_init)))
    return tuple(rows)


def _kind_bytes(image: ElfImage, init_range: tuple[int, int] | None,
                with_symbols: bool) -> tuple[dict[Kind, int], dict[Kind, int]]:
    sec: dict[Kind, int] = {}
    for s in image.sections:
        k = section_kind(s, init_range)
        if k is not Kind.OTHER:
            sec[k] = sec.get(k, 0) + s.size_bytes
    sym: dict[Kind, int] = {}
    for ns in compute_size_sort(image) if with_symbols else ():
        sym[ns.kind] = sym.get(ns.kind, 0) + ns.size_bytes
    return sec, sym


KIND_ORDER = (Kind.TEXT, Kind.DATA, Kind.RODATA, Kind.BSS, Kind.PERCPU, Kind.INIT)


def compute_kind_deltas(old: ElfImage, new: ElfImage) -> tuple[KindDelta, ...]:
    old_init, new_init = _init_ranges(old, new)
    both = _has_symbols(old) and _has_symbols(new)
    os_, osym = _kind_bytes(old, old_init, both)
    ns_, nsym = _kind_bytes(new, new_init, both)
    return tuple(KindDelta(k, os_.get(k, 0), ns_.get(k, 0), osym.get(k, 0), nsym.get(k, 0)) for k in KIND_ORDER)


def _percpu_bytes(image: ElfImage) -> int | None:
    for name in PERCPU_SECTIONS:
        s = image.section(name)
        if s is not None:
            return s.size_bytes
    return None


def compute_measure_deltas(old: ElfImage, new: ElfImage, old_berkeley: BerkeleyTotals, new_berkeley: BerkeleyTotals,
                           old_extent: ImageExtent | None, new_extent: ImageExtent | None) -> tuple[MeasureDelta, ...]:
    berk = new.size_label() if new.sections_from is not None else old.size_label()
    rows = [
        MeasureDelta(Measure.TEXT.value, old_berkeley.text, new_berkeley.text, berk),
        MeasureDelta(Measure.DATA.value, old_berkeley.data, new_berkeley.data, berk),
        MeasureDelta(Measure.BSS.value, old_berkeley.bss, new_berkeley.bss, berk),
        MeasureDelta(Measure.TOTAL.value, old_berkeley.dec, new_berkeley.dec, berk + " text+data+bss"),
    ]
    stand_in = any(img.sections_from is not None and ext is not None and ext.end_name != "_end"
                   for img, ext in ((old, old_extent), (new, new_extent)))
    if old_extent is not None and new_extent is not None and not stand_in:  # (see engine.compute_image_facts)
        rows.append(MeasureDelta(Measure.IMAGE_EXTENT.value, old_extent.size_bytes, new_extent.size_bytes,
                                 f"{new_extent.end_name} - {new_extent.start_name}"))
    op, np_ = _percpu_bytes(old), _percpu_bytes(new)
    if op is not None and np_ is not None:
        rows.append(MeasureDelta(Measure.PERCPU_STATIC.value, op, np_, "size of .data..percpu"))
    return tuple(rows)


def evaluate_budgets(measures: Sequence[MeasureDelta], budgets: Sequence[tuple[str, Budget]]) -> tuple[BudgetVerdict, ...]:
    """Each budget against the old image as baseline. A budget on a measure this diff
    cannot measure raises ValueError (the CLI turns it into a usage error)."""
    by_name = {m.measure: m for m in measures}
    out: list[BudgetVerdict] = []
    for text, b in budgets:
        m = by_name.get(b.measure.value)
        if m is None:
            known = ", ".join(sorted(by_name))
            raise ValueError(f"budget {text!r}: diff cannot measure {b.measure.value} for these images (it measures {known})")
        out.append(BudgetVerdict(text, b.measure.value, m.old_bytes, b.allowed(m.old_bytes), m.new_bytes))
    return tuple(out)


def derived_sizes_note(images: Sequence[ElfImage]) -> str:
    """What a diff says when symbol sizes are derived (kallsyms, a symbol list), not st_size."""
    return (f"{' and '.join(f'{img.path} (symbols from {img.symbols_from})' for img in images)}: no .symtab; "
            "symbol sizes are derived (the distance to the next symbol in its section, an upper bound), "
            "so per-symbol deltas are deltas of derived sizes")


def bloat_o_meter_tables(old: ElfImage, new: ElfImage, option: str = "") -> tuple[BloatResult, ...]:
    """The tables scripts/bloat-o-meter prints for `option` ("", "-c", "-d" or "-t"), in its order.
    A stripped image lists no symbols (its `nm --size-sort` prints none), as bloat-o-meter sees it."""
    modes = {"": (BLOAT_ALL,), "-c": BLOAT_CATEGORIES, "-d": (BLOAT_DATA,), "-t": (BLOAT_TEXT,)}[option]
    old_syms = compute_size_sort(old) if _has_symbols(old) else ()
    new_syms = compute_size_sort(new) if _has_symbols(new) else ()
    return tuple(compute_bloat(old_syms, new_syms, label, types) for label, types in modes)


def compute_diff(old: ElfImage, new: ElfImage, old_berkeley: BerkeleyTotals, new_berkeley: BerkeleyTotals,
                 old_extent: ImageExtent | None = None, new_extent: ImageExtent | None = None,
                 budgets: Sequence[tuple[str, Budget]] = (), threshold_bytes: int = 0, top: int | None = None,
                 mode: tuple[str, str] = BLOAT_ALL) -> DiffReport:
    notes: list[str] = []
    if _has_symbols(old) and _has_symbols(new):
        bloat = compute_bloat(compute_size_sort(old), compute_size_sort(new), mode[0], mode[1])
    else:
        stripped = [img.path for img in (old, new) if not _has_symbols(img)]
        notes.append(f"{' and '.join(stripped)}: no symbol table (stripped): no per-symbol or per-kind symbol deltas; "
                     "init told by section names")
        bloat = compute_bloat((), (), mode[0], mode[1])
    derived = [img for img in (old, new) if img.symbols is not None and img.symbols_from is not None]
    if derived:
        notes.append(derived_sizes_note(derived))
    measures = compute_measure_deltas(old, new, old_berkeley, new_berkeley, old_extent, new_extent)
    return DiffReport(
        old_path=old.path,
        new_path=new.path,
        bloat=bloat,
        sections=compute_section_deltas(old, new),
        kinds=compute_kind_deltas(old, new),
        berkeley_old=old_berkeley,
        berkeley_new=new_berkeley,
        measures=measures,
        budgets=evaluate_budgets(measures, budgets),
        threshold_bytes=threshold_bytes,
        top=top,
        notes=tuple(notes),
    )


"""Symbols for an image without `.symtab`: from its own kallsyms, or from a symbol list
(`/proc/kallsyms`, `System.map`), turned into the same columnar
:class:`~cpualloc_cli.model.image.SymbolTable` the ELF adapter builds from a `.symtab`.

kallsyms and symbol lists have addresses and nm type letters but no sizes. Each size is
derived (:func:`cpualloc_cli.adapters.kallsyms.compute_derived_sizes`): the distance to the
next higher address inside the same range, the ranges being the payload ELF's SHF_ALLOC section
headers when there are some (an x86 bzImage/vmlinuz carries its vmlinux with section headers,
arch/x86/boot/compressed/Makefile: `objcopy -R .comment -S`), else the ranges kallsyms's own bound
symbols name (`_stext`/`_etext`, `__bss_start`/`__bss_stop`, ...: BOUND_SYMBOLS). On x86 the tail
padding of text symbols (int3, multi-byte nops) is trimmed. Every symbol carries its size source
("derived", or "unbounded" when no range holds it: its size is unknown and left 0).

Type letters: kallsyms keeps nm's letter, except that with KALLSYMS_ABSOLUTE_PERCPU (x86_64 SMP)
every symbol in [__per_cpu_start, __per_cpu_end] is written as 'A' (6.1 scripts/kallsyms.c:855-868
make_percpus_absolute()). Those are per-cpu variables, not absolute symbols: they get the per-cpu
section's letter 'D' (the binding, d or D, is lost), so that every command counts them as per-cpu
symbols. Other absolute symbols and undefined ones ('a', 'A', 'U', 'w', 'v', 'N', 'n') carry
no size and would cut the derived sizes of real ones short: they are left out.
"""

from __future__ import annotations

import dataclasses
import os
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any

from cpualloc_cli.adapters.image import LoadedImage, load_any
from cpualloc_cli.adapters.kallsyms import BOUND_SYMBOLS, SHN_ABS, Range, compute_derived_sizes, find_kallsyms
from cpualloc_cli.errors import ElfFormatError, InputError
from cpualloc_cli.model.image import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHT_NOBITS,
    SHT_PROGBITS,
    SIZE_SOURCE_CODES,
    ElfHeader,
    ElfImage,
    Section,
    SymbolTable,
)

#: letters that carry no size and bound nothing (see the module doc)
_DROP_LETTERS = frozenset("aAUwvNn")
_STT_NOTYPE, _STT_OBJECT, _STT_FUNC = 0, 1, 2
_STB_LOCAL, _STB_GLOBAL, _STB_WEAK, _STB_GNU_UNIQUE = 0, 1, 2, 10
_PERCPU_LETTER = "D"
_STRIPPED_NOTE = "no .symtab (stripped image)"

#: pseudo section names for BOUND_SYMBOLS ranges (a payload or a symbol list without section headers)
_PSEUDO_SECTIONS = {
    "text": (".text", SHF_ALLOC | SHF_EXECINSTR, SHT_PROGBITS),
    "inittext": (".init.text", SHF_ALLOC | SHF_EXECINSTR, SHT_PROGBITS),
    "rodata": (".rodata", SHF_ALLOC, SHT_PROGBITS),
    "data": (".data", SHF_ALLOC | SHF_WRITE, SHT_PROGBITS),
    "bss": (".bss", SHF_ALLOC | SHF_WRITE, SHT_NOBITS),
    "percpu": (".data..percpu", SHF_ALLOC | SHF_WRITE, SHT_PROGBITS),
}


def _type_columns(letters: str) -> tuple[bytes, bytes]:
    """STT_* and STB_* per symbol as far as an nm letter tells them."""
    stt_of = {c: (_STT_FUNC if c in "tTiW" else _STT_OBJECT if c.lower() in "dbrgsv" else _STT_NOTYPE)
              for c in set(letters)}
    stb_of = {c: (_STB_WEAK if c in "wWvV" else _STB_GNU_UNIQUE if c == "u" else
                  _STB_GLOBAL if c.isupper() else _STB_LOCAL) for c in set(letters)}
    return bytes(map(stt_of.__getitem__, letters)), bytes(map(stb_of.__getitem__, letters))


@dataclass(frozen=True)
class RawSymbols:
    """Symbols as a list gives them, sorted by address: columns, names in a string table."""

    addresses: array[int]  # 'Q'
    types: str
    strtab: bytes  # names NUL-terminated; offset 0 is the empty name
    name_offsets: array[int]  # 'Q'
    origin: str  # "kallsyms", "/proc/kallsyms P", "System.map P"
    absolute_percpu: bool  # per-cpu symbols are 'A' (kallsyms, /proc/kallsyms of x86_64 SMP)
    notes: tuple[str, ...] = ()

    def name(self, i: int) -> str:
        start = self.name_offsets[i]
        return self.strtab[start:self.strtab.index(b"\0", start)].decode("utf-8", "surrogateescape")

    def lookup(self) -> Callable[[str], int | None]:
        """name -> address of the first symbol so named (for the few bound names)."""
        wanted = {n for _, lo, hi, _x in BOUND_SYMBOLS for n in (lo, hi)} | {"__per_cpu_start", "__per_cpu_end"}
        used = set(self.name_offsets)
        found: dict[str, int] = {}
        for name in wanted:
            needle = name.encode() + b"\0"
            hits = []
            at = self.strtab.find(needle)
            while at >= 0:
                if at in used:
                    hits.append(at)
                at = self.strtab.find(needle, at + 1)
            if hits:
                first = min(self.name_offsets.index(h) for h in hits)
                found[name] = int(self.addresses[first])
        return found.get


# --- ranges -------------------------------------------------------------------------------------

def ranges_from_sections(image: ElfImage) -> list[Range]:
    """One range per SHF_ALLOC section with a size (the section index is the range's index)."""
    return [Range(s.name, s.address, s.address + s.size_bytes, s.index, bool(s.flags & SHF_EXECINSTR),
                  None if s.type_code == SHT_NOBITS else s.offset)
            for s in image.sections if s.index and s.flags & SHF_ALLOC and s.size_bytes]


def ranges_from_bounds(lookup: Callable[[str], int | None]) -> list[Range]:
    """The BOUND_SYMBOLS ranges a symbol list names; index k+1 for the k-th bound pair (pseudo
    sections). A range inside another one (per-cpu inside init data) splits the outer one."""
    out: list[Range] = []
    for k, (name, lo_name, hi_name, executable) in enumerate(BOUND_SYMBOLS):
        lo, hi = lookup(lo_name), lookup(hi_name)
        if lo is not None and hi is not None and hi > lo:
            out.append(Range(name, lo, hi, k + 1, executable, None))
    return _split_nested(out)


def _split_nested(ranges: list[Range]) -> list[Range]:
    rs = sorted(ranges, key=lambda r: (r.start, -r.end))
    out: list[Range] = []
    for r in rs:
        pieces = [r]
        for o in rs:
            if o is r or not (r.start < o.start and o.end <= r.end) and not (r.start <= o.start < o.end < r.end):
                continue
            if o.end - o.start >= r.end - r.start:
                continue
            nxt: list[Range] = []
            for p in pieces:
                if o.start >= p.end or o.end <= p.start:
                    nxt.append(p)
                    continue
                if p.start < o.start:
                    nxt.append(dataclasses.replace(p, end=o.start))
                if o.end < p.end:
                    nxt.append(dataclasses.replace(p, start=o.end))
            pieces = nxt
        out.extend(pieces)
    return out


def pseudo_sections(ranges: Sequence[Range]) -> tuple[Section, ...]:
    """Sections standing for BOUND_SYMBOLS ranges (one per name, its whole extent)."""
    secs = [Section(0, "", "NULL", 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    for name, _lo, _hi, _x in BOUND_SYMBOLS:
        rs = [r for r in ranges if r.name == name]
        if not rs:
            continue
        sname, flags, stype = _PSEUDO_SECTIONS[name]
        start, end = min(r.start for r in rs), max(r.end for r in rs)
        secs.append(Section(rs[0].index, sname, "NOBITS" if stype == SHT_NOBITS else "PROGBITS", stype, flags,
                            start, 0, end - start, 0, 0, 0, 0))
    return tuple(secs)


# --- the table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DerivedStats:
    symbols: int
    derived: int
    unbounded: int
    trimmed: int
    percpu_from_absolute: int
    dropped: int


def build_symbol_table(raw: RawSymbols, ranges: Sequence[Range], buf: Any | None = None,
                       trim_x86: bool = False) -> tuple[SymbolTable, DerivedStats]:
    """The SymbolTable of `raw` with derived sizes; index 0 is a null symbol, as in a .symtab."""
    types = raw.types
    n = len(raw.addresses)
    addresses = raw.addresses
    percpu_from_abs = 0
    if raw.absolute_percpu and "A" in types:
        look = raw.lookup()
        lo, hi = look("__per_cpu_start"), look("__per_cpu_end")
        if lo is not None and hi is not None:
            letters = list(types)
            for i in compress(range(n), (c == "A" for c in types)):
                if lo <= addresses[i] <= hi:  # inclusive, as scripts/kallsyms.c symbol_in_range()
                    letters[i] = _PERCPU_LETTER
                    percpu_from_abs += 1
            types = "".join(letters)
    keep = [c not in _DROP_LETTERS for c in types]
    dropped = n - sum(keep)
    if dropped:
        addresses = array("Q", compress(addresses, keep))
        offsets = array("Q", compress(raw.name_offsets, keep))
        types = "".join(compress(types, keep))
    else:
        offsets = array("Q", raw.name_offsets)
    derived = compute_derived_sizes(addresses, ranges, buf, trim_x86=trim_x86)
    m = len(addresses)
    code_d, code_u = SIZE_SOURCE_CODES["derived"], SIZE_SOURCE_CODES["unbounded"]
    sources = bytearray([code_d]) * m
    unbounded = 0
    for i in range(m):
        if derived.unbounded[i] or derived.shndx[i] == SHN_ABS:
            sources[i] = code_u
            unbounded += 1
    letters_all = " " + types
    stt, stb = _type_columns(letters_all)
    values = array("Q", [0])
    values.extend(addresses)
    sizes = array("Q", [0])
    sizes.extend(derived.sizes)
    shndx = array("L", [0])
    shndx.extend(derived.shndx)
    name_offsets = array("Q", [0])
    name_offsets.extend(offsets)
    table = SymbolTable(None, values, sizes, shndx, letters_all, stt, stb, strtab=raw.strtab,
                        name_offsets=name_offsets, size_sources=bytes([SIZE_SOURCE_CODES["symtab"]]) + bytes(sources))
    stats = DerivedStats(m, m - unbounded, unbounded, derived.trimmed, percpu_from_abs, dropped)
    return table, stats


def _notes(raw: RawSymbols, stats: DerivedStats, range_basis: str) -> tuple[str, ...]:
    parts = [f"symbols from {raw.origin}: {stats.symbols} symbols, sizes derived (the distance to the next "
             f"symbol within its {range_basis}, not st_size; text tails trimmed of padding: {stats.trimmed})"]
    if stats.unbounded:
        parts.append(f"{stats.unbounded} symbols lie in no range: their size is unbounded (left 0)")
    if stats.percpu_from_absolute:
        parts.append(f"{stats.percpu_from_absolute} per-cpu symbols are 'A' in {raw.origin} "
                     "(KALLSYMS_ABSOLUTE_PERCPU): shown as 'D', binding unknown")
    return tuple(parts) + raw.notes


def _is_x86(image: ElfImage) -> bool:
    return image.header.arch in ("x86_64", "i386")


def with_symbols(image: ElfImage, raw: RawSymbols, buf: Any | None) -> ElfImage:
    """`image` (an ELF payload without .symtab) with `raw`'s symbols, sized in its sections."""
    ranges = ranges_from_sections(image)
    basis = "section (from the payload's section headers)"
    if not ranges:
        ranges = ranges_from_bounds(raw.lookup())
        basis = "range (between kallsyms bound symbols)"
        buf = None
    table, stats = build_symbol_table(raw, ranges, buf, trim_x86=_is_x86(image) and buf is not None)
    notes = tuple(n for n in image.notes if not n.startswith(_STRIPPED_NOTE)) + _notes(raw, stats, basis)
    return dataclasses.replace(image, symbols=table, notes=notes, symbols_from=raw.origin)


def kallsyms_raw(buf: Any, path: str, image: ElfImage | None) -> RawSymbols | None:
    """The kallsyms of a decompressed payload as RawSymbols, or None when it has none."""
    hdr = image.header if image is not None else None
    k = find_kallsyms(buf, path, word_bytes=hdr.elf_class // 8 if hdr else None, endian=hdr.endian if hdr else None)
    if k is None or not len(k):
        return None
    return RawSymbols(k.addresses, k.types, k.strtab, array("Q", k.name_offsets), "kallsyms",
                      k.absolute_percpu, notes=(k.describe(),))


def attach_kallsyms(loaded: LoadedImage) -> LoadedImage:
    """`loaded` with symbols from its kallsyms when its ELF payload has no .symtab (unchanged
    when it has one, or no kallsyms; a raw payload gets a pseudo image, see pseudo_image)."""
    data = getattr(loaded.payload, "data", None) if loaded.payload is not None else None
    if data is None:
        return loaded
    if loaded.elf is not None:
        if loaded.elf.symbols is not None:
            return loaded
        raw = kallsyms_raw(data, loaded.path, loaded.elf)
        if raw is None:
            return loaded
        return dataclasses.replace(loaded, elf=with_symbols(loaded.elf, raw, data))
    kind = str(getattr(loaded.payload, "kind", ""))
    if kind != "arm64-image":
        # Only an arm64 Image's header says what the raw bytes are (arch, load layout). Another
        # raw payload (MIPS's vmlinux.bin) would get an unknown arch and unextended 32-bit
        # addresses: it stays without an ELF, and its notes say the vmlinux is needed.
        return loaded
    raw = kallsyms_raw(data, loaded.path, None)
    if raw is None:
        return loaded
    word = 8 if max(raw.addresses, default=0) > 0xFFFFFFFF else 4
    endian = "little"
    for k_note in raw.notes:
        if "big-endian" in k_note:
            endian = "big"
    image = pseudo_image(loaded.path, raw, word, endian, arch="arm64", file_size=len(data))
    if image is None:
        return loaded
    return dataclasses.replace(loaded, elf=image)


#: ELF machine codes for a pseudo image's header (readelf's names in adapters/elf.py)
_MACHINES = {"arm64": (183, "AArch64"), "x86_64": (62, "Advanced Micro Devices X86-64"), "i386": (3, "Intel 80386"),
             "unknown": (0, "None")}


def pseudo_image(path: str, raw: RawSymbols, word: int, endian: str, *, arch: str, file_size: int) -> ElfImage | None:
    """An ElfImage for symbols without section headers: pseudo sections from the bound symbols
    (said in its notes), the symbols sized within them. None when no bound pair is found."""
    ranges = ranges_from_bounds(raw.lookup())
    if not ranges:
        return None
    table, stats = build_symbol_table(raw, ranges)
    code, machine = _MACHINES.get(arch, _MACHINES["unknown"])
    header = ElfHeader(elf_class=8 * word, endian=endian, machine=machine, machine_code=code, arch=arch,
                       file_type="EXEC", entry=0, flags=0, section_count=0, segment_count=0)
    sections = pseudo_sections(ranges)
    notes = (f"no section headers: the sections are the ranges {raw.origin}'s bound symbols name "
             f"({', '.join(f'{s.name}' for s in sections[1:])}); sizes and totals are spans between symbols",
             *_notes(raw, stats, "range (between bound symbols)"))
    return ElfImage(path=path, file_size=file_size, header=header, sections=sections, segments=(), symbols=table,
                    notes=notes, symbols_from=raw.origin, sections_from=f"{raw.origin}'s bound symbols")


# --- symbol lists --------------------------------------------------------------------------------

KPTR_HINT = "hint: run as root with kernel.kptr_restrict=0 or use System.map"


def read_symbol_file(path: str) -> RawSymbols:
    """`/proc/kallsyms` (`addr type name [module]`) or `System.map` (`nm -n`: `addr type name`).
    Module symbols (a `[module]` column) are left out: they are not in the image. All-zero
    addresses (kptr_restrict, or not root) are refused."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a symbol list", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    if b"\0" in data:
        raise InputError("holds NUL bytes: not a /proc/kallsyms or System.map text", path=path)
    rows: list[tuple[int, str, bytes]] = []
    modules = 0
    width = 0
    for lineno, line in enumerate(data.split(b"\n"), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 3 or len(fields) > 4 or len(fields[1]) != 1:
            raise InputError("not a symbol line (want `ADDRESS TYPE NAME [MODULE]`)", path=path, line=lineno,
                             hint="give /proc/kallsyms or a System.map")
        if len(fields) == 4:
            if not (fields[3].startswith(b"[") and fields[3].endswith(b"]")):
                raise InputError("the fourth column is not a [module]", path=path, line=lineno)
            modules += 1
            continue
        try:
            addr = int(fields[0], 16)
        except ValueError:
            raise InputError(f"address {fields[0].decode('latin-1')!r} is not hexadecimal", path=path,
                             line=lineno) from None
        width = max(width, len(fields[0]))
        rows.append((addr, fields[1].decode("latin-1"), fields[2]))
    if not rows:
        raise InputError("no symbols", path=path, hint="give /proc/kallsyms or a System.map")
    if not any(a for a, _, _ in rows):
        raise InputError("all addresses are 0 (kptr_restrict or not root)", path=path, hint=KPTR_HINT)
    rows.sort(key=lambda r: r[0])  # stable: equal addresses keep the file's order
    strtab = bytearray(b"\0")
    offsets = array("Q")
    for _, _, name in rows:
        offsets.append(len(strtab))
        strtab += name + b"\0"
    types = "".join(t for _, t, _ in rows)
    start_type = next((t for _, t, nm in rows if nm == b"__per_cpu_start"), None)
    proc = modules > 0 or os.path.basename(path) == "kallsyms"
    origin = f"{'/proc/kallsyms' if proc else 'System.map'} {path}"
    notes = (f"{modules} module symbols ([module] column) left out",) if modules else ()
    return RawSymbols(array("Q", (r[0] for r in rows)), types, bytes(strtab), offsets, origin,
                      absolute_percpu=start_type == "A", notes=notes)


# --- one entry point for the commands ---------------------------------------------------------

def load_any_with_symbols(path: str, symbols_from: str | None = None, *, raw_payloads: bool = False) -> LoadedImage:
    """load_any, then symbols for an image without .symtab: from `symbols_from` when given,
    else from the image's own kallsyms. A raw payload (an arm64 Image) becomes a pseudo image
    (sections from bound symbols) only with `raw_payloads`; else it stays without an ELF."""
    loaded = load_any(path)
    if loaded.elf is None and not raw_payloads:
        return loaded
    if symbols_from is not None:
        raw = read_symbol_file(symbols_from)
        data = getattr(loaded.payload, "data", None) if loaded.payload is not None else None
        if loaded.elf is not None:
            if loaded.elf.symbols is not None:
                raise InputError("has its own .symtab: --symbols-from is for an image without one", path=path,
                                 hint="drop --symbols-from")
            return _fresh_notes(dataclasses.replace(loaded, elf=with_symbols(loaded.elf, raw, data)))
        if _raw_arch(loaded) != "arm64":
            raise InputError(f"a raw {getattr(loaded.payload, 'kind', 'binary')} payload: symbols from a file are "
                             "placed only on an ELF payload or an arm64 Image", path=path,
                             hint="give the vmlinux, or --symbols-from without the image")
        word = 8 if max(raw.addresses, default=0) > 0xFFFFFFFF else 4
        size = len(data) if data is not None else os.path.getsize(path)
        image = pseudo_image(path, raw, word, "little", arch=_raw_arch(loaded), file_size=size)
        if image is None:
            raise InputError("names none of the range bounds (_stext/_etext, __bss_start/__bss_stop, ...)",
                             path=symbols_from, hint="give the whole /proc/kallsyms or System.map")
        return _fresh_notes(dataclasses.replace(loaded, elf=image))
    return with_kallsyms(loaded)


def with_kallsyms(loaded: LoadedImage) -> LoadedImage:
    """What load_any_with_symbols(path, None, raw_payloads=True) gives, from load_any(path)'s result."""
    return _fresh_notes(attach_kallsyms(loaded))


def _fresh_notes(loaded: LoadedImage) -> LoadedImage:
    """The container's note that symbol figures need the vmlinux is dropped once kallsyms gave them."""
    if loaded.elf is None or loaded.elf.symbols_from is None or loaded.payload is None:
        return loaded
    from cpualloc_cli.adapters.decompress import ARM64_NOTE, BZIMAGE_NOTE
    from cpualloc_cli.model.payload import Payload

    payload = loaded.payload
    if not isinstance(payload, Payload):
        return loaded
    kept = tuple(n for n in payload.notes if n not in (ARM64_NOTE, BZIMAGE_NOTE))
    if kept == payload.notes:
        return loaded
    return dataclasses.replace(loaded, payload=dataclasses.replace(payload, notes=kept))


def _raw_arch(loaded: LoadedImage) -> str:
    return "arm64" if str(getattr(loaded.payload, "kind", "")) == "arm64-image" else "unknown"


def load_image_with_symbols(path: str, symbols_from: str | None = None) -> ElfImage:
    """load_image with kallsyms (or `symbols_from`) symbols: a raw payload whose kallsyms names
    its range bounds becomes a pseudo image (its totals labelled as spans, ElfImage.size_label),
    one without is bad input as for load_image."""
    loaded = load_any_with_symbols(path, symbols_from, raw_payloads=True)
    if loaded.elf is None:
        raise ElfFormatError("the image's payload is a raw binary, not an ELF", path=path,
                             hint="section and symbol detail needs the vmlinux")
    return loaded.elf


def load_symbols_only(symbols_from: str) -> ElfImage:
    """A pseudo image from a symbol list alone (a running machine's /proc/kallsyms)."""
    raw = read_symbol_file(symbols_from)
    word = 8 if max(raw.addresses, default=0) > 0xFFFFFFFF else 4
    image = pseudo_image(symbols_from, raw, word, "little", arch="unknown", file_size=os.path.getsize(symbols_from))
    if image is None:
        raise InputError("names none of the range bounds (_stext/_etext, __bss_start/__bss_stop, ...)",
                         path=symbols_from, hint="give the whole /proc/kallsyms or System.map")
    return image


__all__ = ["attach_kallsyms", "build_symbol_table", "load_any_with_symbols", "load_image_with_symbols",
           "load_symbols_only", "read_symbol_file", "ranges_from_bounds", "ranges_from_sections"]

"""Parsers for recorded GNU binutils output: the oracles cpualloc's tests compare against.

The recordings sit beside each fixture (tests/fixtures/elf/<name>/) and each real kernel
(../shared/kernels/<name>/), made with binutils 2.40 and LC_ALL=C:

    size.txt         size FILE                    -> parse_size
    size-common.txt  size --common FILE           -> parse_size
    size-A.txt       size -A FILE                 -> parse_size_A
    nm.txt           nm -S --size-sort FILE       -> parse_nm
    readelf-S.txt    readelf -S -W FILE           -> parse_readelf_S (+ readelf_S_count)
    readelf-h.txt    readelf -h FILE              -> parse_readelf_h (+ readelf_h_int)
    readelf-l.txt    readelf -l -W FILE           -> parse_readelf_l (+ readelf_l_count)
    readelf-s.txt    readelf -s -W FILE           -> parse_readelf_s (+ readelf_s_counts)

Any record may be stored as <record>.xz; read_record() finds either.  These parsers are
deliberately independent of cpualloc (stdlib only) and strict: a line they cannot read
raises ValueError instead of being skipped, so an incomplete parse cannot pass silently.
"""

from __future__ import annotations

import json
import lzma
import re
from pathlib import Path
from typing import Any, NamedTuple

TESTS = Path(__file__).resolve().parent
ELF_FIXTURES = TESTS / "fixtures" / "elf"


# --------------------------------------------------------------------------- files


def record_path(folder: Path, name: str) -> Path:
    """The path of record NAME in FOLDER, plain or .xz; raises FileNotFoundError when neither exists."""
    plain = folder / name
    if plain.is_file():
        return plain
    xz = folder / (name + ".xz")
    if xz.is_file():
        return xz
    raise FileNotFoundError(f"{plain} (or {xz.name})")


def read_record(folder: Path, name: str) -> str:
    """The text of record NAME (e.g. "readelf-s.txt") in FOLDER, decompressing a .xz copy."""
    path = record_path(folder, name)
    data = path.read_bytes()
    if path.suffix == ".xz":
        data = lzma.decompress(data)
    return data.decode("utf-8")


def has_record(folder: Path, name: str) -> bool:
    return (folder / name).is_file() or (folder / (name + ".xz")).is_file()


def load_index() -> list[dict[str, Any]]:
    """tests/fixtures/elf/index.json: one entry per fixture (name, file, arch, class, endian, kind, quirks...)."""
    doc = json.loads((ELF_FIXTURES / "index.json").read_text())
    fixtures: list[dict[str, Any]] = doc["fixtures"]
    return fixtures


def fixture_entry(name: str) -> dict[str, Any]:
    for entry in load_index():
        if entry["name"] == name:
            return entry
    raise KeyError(name)


def fixture_dir(name: str) -> Path:
    return ELF_FIXTURES / name


def fixture_elf(name: str, scratch: Path | None = None) -> Path:
    """The ELF file of fixture NAME.  Fixtures stored .xz are decompressed into SCRATCH
    (required for them, e.g. pytest's tmp_path); others are returned in place."""
    entry = fixture_entry(name)
    path = ELF_FIXTURES / str(entry["file"])
    if entry.get("compressed") != "xz":
        return path
    if scratch is None:
        raise ValueError(f"fixture {name} is xz-compressed: pass a scratch directory")
    out = scratch / str(entry["elf_name"])
    if not out.exists():
        out.write_bytes(lzma.decompress(path.read_bytes()))
    return out


# --------------------------------------------------------------------------- size


class SizeRow(NamedTuple):
    text: int
    data: int
    bss: int
    dec: int
    hex: int


_SIZE_HEADER = re.compile(r"^\s*text\s+data\s+bss\s+dec\s+hex\s+filename\s*$")


def parse_size_rows(text: str) -> list[tuple[SizeRow, str]]:
    """Every row of Berkeley `size` output, with its file name."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not _SIZE_HEADER.match(lines[0]):
        raise ValueError("not Berkeley size output (header missing)")
    rows: list[tuple[SizeRow, str]] = []
    for ln in lines[1:]:
        parts = ln.split(None, 5)
        if len(parts) != 6:
            raise ValueError(f"bad size row: {ln!r}")
        t, d, b, dec = (int(p) for p in parts[:4])
        rows.append((SizeRow(t, d, b, dec, int(parts[4], 16)), parts[5]))
    return rows


def parse_size(text: str) -> SizeRow:
    """Berkeley `size` output for one file -> (text, data, bss, dec, hex), all ints."""
    rows = parse_size_rows(text)
    if len(rows) != 1:
        raise ValueError(f"expected one file, got {len(rows)}")
    return rows[0][0]


class SizeA(NamedTuple):
    filename: str
    rows: list[tuple[str, int, int]]  # (section, size, addr)
    total: int


def parse_size_A(text: str) -> SizeA:  # noqa: N802 - named after `size -A`
    """`size -A` (SysV) output -> (filename, [(section, size, addr)...], total)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 3 or not lines[0].rstrip().endswith(":") or lines[1].split() != ["section", "size", "addr"]:
        raise ValueError("not size -A output")
    filename = lines[0].rstrip()[:-1].strip()
    rows: list[tuple[str, int, int]] = []
    total: int | None = None
    for ln in lines[2:]:
        parts = ln.split()
        if len(parts) == 2 and parts[0] == "Total":
            if total is not None:
                raise ValueError("two Total lines")
            total = int(parts[1])
            continue
        if total is not None or len(parts) != 3:
            raise ValueError(f"bad size -A row: {ln!r}")
        rows.append((parts[0], int(parts[1]), int(parts[2])))
    if total is None:
        raise ValueError("size -A output without Total")
    return SizeA(filename, rows, total)


# --------------------------------------------------------------------------- nm


class NmRow(NamedTuple):
    addr: int | None  # None when nm prints no value (undefined)
    size: int
    type: str  # nm's one-letter type
    name: str


def parse_nm(text: str) -> list[NmRow]:
    """`nm -S [--size-sort]` output, in order: (addr or None, size, type letter, name)."""
    rows: list[NmRow] = []
    for ln in text.splitlines():
        if not ln.strip():
            continue
        parts = ln.split(None, 3)
        if len(parts) == 4 and len(parts[2]) == 1:
            rows.append(NmRow(int(parts[0], 16), int(parts[1], 16), parts[2], parts[3]))
        elif len(parts) == 3 and len(parts[1]) == 1 and ln[0] == " ":
            rows.append(NmRow(None, int(parts[0], 16), parts[1], parts[2]))
        else:
            raise ValueError(f"bad nm line: {ln!r}")
    return rows


# --------------------------------------------------------------------------- readelf -S

_S_COUNT = re.compile(r"^There are (\d+) section headers, starting at offset (0x[0-9a-f]+):$", re.M)
_S_ROW = re.compile(r"^\s*\[\s*(\d+)\] (.*)$")
_S_REST = re.compile(
    r"^(?P<type>\S.*?)\s+(?P<addr>[0-9a-f]{8,16})\s(?P<off>[0-9a-f]{6,})\s(?P<size>[0-9a-f]{6,})\s(?P<es>[0-9a-f]{2,})"
    r"\s(?P<flags>[ A-Za-z]*?)\s*(?P<lk>\d+)\s+(?P<inf>\d+)\s+(?P<al>\d+)$"
)


def readelf_S_count(text: str) -> int:  # noqa: N802
    """The section count readelf states ("There are N section headers")."""
    m = _S_COUNT.search(text)
    if not m:
        raise ValueError("no section header count")
    return int(m.group(1))


def parse_readelf_S(text: str) -> list[dict[str, Any]]:  # noqa: N802
    """`readelf -S -W` -> one dict per section: nr, name, type, addr, off, size, es, flags, lk, inf, al.

    Numbers are ints (addr/off/size/es from hex); flags is readelf's letter string ("" when none).
    Long names push the later columns right, and some types contain spaces
    ("SYMTAB SECTION INDICES"), so columns are found from the right-hand end.
    """
    rows: list[dict[str, Any]] = []
    in_table = False
    for ln in text.splitlines():
        if ln.startswith("Section Headers:"):
            in_table = True
            continue
        if not in_table:
            continue
        if ln.startswith("Key to Flags:"):
            break
        if ln.strip().startswith("[Nr]") or not ln.strip():
            continue
        m = _S_ROW.match(ln)
        if not m:
            raise ValueError(f"bad readelf -S line: {ln!r}")
        nr = int(m.group(1))
        rest = m.group(2)
        if rest.startswith(" "):  # empty name (the NULL section), printed as spaces
            name, after = "", rest.lstrip()
        else:
            name, _, after = rest.partition(" ")
            after = after.lstrip()
        r = _S_REST.match(after)
        if not r:
            raise ValueError(f"bad readelf -S fields: {ln!r}")
        rows.append({
            "nr": nr,
            "name": name,
            "type": r.group("type"),
            "addr": int(r.group("addr"), 16),
            "off": int(r.group("off"), 16),
            "size": int(r.group("size"), 16),
            "es": int(r.group("es"), 16),
            "flags": r.group("flags").strip(),
            "lk": int(r.group("lk")),
            "inf": int(r.group("inf")),
            "al": int(r.group("al")),
        })
    if not in_table:
        raise ValueError("no 'Section Headers:' table")
    return rows


# --------------------------------------------------------------------------- readelf -h


def parse_readelf_h(text: str) -> dict[str, str]:
    """`readelf -h` -> {"Class": "ELF64", "Type": "EXEC (Executable file)", ...} as printed."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    if not lines or lines[0].strip() != "ELF Header:":
        raise ValueError("not readelf -h output")
    for ln in lines[1:]:
        if not ln.strip():
            continue
        key, sep, value = ln.strip().partition(":")
        if not sep:
            raise ValueError(f"bad readelf -h line: {ln!r}")
        out[key.strip()] = value.strip()
    return out


def readelf_h_int(header: dict[str, str], key: str) -> int:
    """An integer field of parse_readelf_h, e.g. "Number of section headers".

    Takes the real value in parentheses where readelf shows an escape ("0 (66008)",
    "65535 (66007)"), and drops trailers like "(bytes into file)"."""
    value = header[key]
    m = re.fullmatch(r"(\S+) \((\d+)\)", value)
    if m:
        return int(m.group(2))
    token = value.split()[0]
    return int(token, 16) if token.startswith("0x") else int(token)


# --------------------------------------------------------------------------- readelf -l

_L_COUNT = re.compile(r"^There (?:are|is) (\d+) program headers?, starting at offset (\d+)$", re.M)
_L_ROW = re.compile(
    r"^\s+(?P<type>\S+)\s+(?P<offset>0x[0-9a-f]+)\s(?P<vaddr>0x[0-9a-f]+)\s(?P<paddr>0x[0-9a-f]+)"
    r"\s(?P<filesz>0x[0-9a-f]+)\s(?P<memsz>0x[0-9a-f]+)\s(?P<flags>[RWE ]{3})\s(?P<align>0x[0-9a-f]+|\d+)$"
)


def readelf_l_count(text: str) -> int:
    if "There are no program headers in this file." in text:
        return 0
    m = _L_COUNT.search(text)
    if not m:
        raise ValueError("no program header count")
    return int(m.group(1))


def parse_readelf_l(text: str) -> list[dict[str, Any]]:
    """`readelf -l -W` -> one dict per program header, in order: type, offset, vaddr, paddr, filesz,
    memsz (ints), flags ("RWE", "R E", "R" ... stripped), align, and sections (from the
    "Section to Segment mapping", a list of names)."""
    if "There are no program headers in this file." in text:
        return []
    segs: list[dict[str, Any]] = []
    state = ""
    for ln in text.splitlines():
        if ln.startswith("Program Headers:"):
            state = "ph"
            continue
        if ln.startswith(" Section to Segment mapping:"):
            state = "map"
            continue
        if state == "ph":
            if not ln.strip() or ln.strip().startswith("Type "):
                if not ln.strip() and segs:
                    state = ""
                continue
            if ln.strip().startswith("[Requesting program interpreter:"):
                segs[-1]["interpreter"] = ln.strip()[len("[Requesting program interpreter: "):-1]
                continue
            m = _L_ROW.match(ln)
            if not m:
                raise ValueError(f"bad readelf -l line: {ln!r}")
            segs.append({
                "type": m.group("type"),
                "offset": int(m.group("offset"), 16),
                "vaddr": int(m.group("vaddr"), 16),
                "paddr": int(m.group("paddr"), 16),
                "filesz": int(m.group("filesz"), 16),
                "memsz": int(m.group("memsz"), 16),
                "flags": m.group("flags").replace(" ", ""),
                "flags_raw": m.group("flags"),
                "align": int(m.group("align"), 0),
                "sections": [],
            })
        elif state == "map":
            if ln.strip().startswith("Segment Sections"):
                continue
            if not ln.strip():
                continue
            parts = ln.split()
            idx = int(parts[0])
            if idx >= len(segs):
                raise ValueError(f"mapping for unknown segment {idx}")
            segs[idx]["sections"] = parts[1:]
    return segs


# --------------------------------------------------------------------------- readelf -s

_SYM_TABLE = re.compile(r"^Symbol table '(?P<table>[^']*)' contains (?P<n>\d+) entr(?:y|ies):$")
_SYM_ROW = re.compile(
    r"^\s*(?P<num>\d+):\s(?P<value>[0-9a-f]+)\s+(?P<size>0x[0-9a-f]+|\d+)\s(?P<type>\S+)\s+(?P<bind>\S+)\s+"
    r"(?P<vis>\S+)(?P<other>\s+\[[^\]]*\])?\s+(?P<ndx>UND|ABS|COM|\d+|[A-Z]+ ?\[0x[0-9a-f]+\])(?: (?P<name>.*))?$"
)


def readelf_s_counts(text: str) -> dict[str, int]:
    """{table name: entry count} as readelf states them ("Symbol table '.symtab' contains N entries")."""
    out: dict[str, int] = {}
    for ln in text.splitlines():
        m = _SYM_TABLE.match(ln)
        if m:
            out[m.group("table")] = int(m.group("n"))
    return out


def parse_readelf_s(text: str) -> list[dict[str, Any]]:
    """`readelf -s -W` -> one dict per symbol: table, num, value, size, type, bind, vis, ndx, name.

    value and size are ints (readelf prints large sizes in hex); ndx stays a string
    ("UND", "ABS", "COM" or a section number as printed, which may exceed 65279 via
    SHN_XINDEX); ndx_int is the number or None."""
    rows: list[dict[str, Any]] = []
    table: str | None = None
    for ln in text.splitlines():
        if not ln.strip():
            continue
        t = _SYM_TABLE.match(ln)
        if t:
            table = t.group("table")
            continue
        if ln.strip().startswith("Num:"):
            continue
        m = _SYM_ROW.match(ln)
        if not m or table is None:
            raise ValueError(f"bad readelf -s line: {ln!r}")
        ndx = m.group("ndx")
        rows.append({
            "table": table,
            "num": int(m.group("num")),
            "value": int(m.group("value"), 16),
            "size": int(m.group("size"), 0),
            "type": m.group("type"),
            "bind": m.group("bind"),
            "vis": m.group("vis"),
            "other": (m.group("other") or "").strip(),
            "ndx": ndx,
            "ndx_int": int(ndx) if ndx.isdigit() else None,
            "name": m.group("name") or "",
        })
    return rows

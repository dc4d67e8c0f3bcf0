"""The kernel's own symbol table, kallsyms, found and decoded in a decompressed kernel image.

A vmlinuz/bzImage/Image carries no `.symtab`, but with CONFIG_KALLSYMS it carries the tables
`scripts/kallsyms.c` writes into `.rodata` (cited below as 6.1 = linux-source-6.1,
6.12 = linux-source-6.12):

- `kallsyms_token_table`: 256 NUL-terminated strings (6.1 scripts/kallsyms.c:611-619);
- `kallsyms_token_index`: 256 `.short` offsets of those strings (6.1 scripts/kallsyms.c:621-624);
- `kallsyms_num_syms`: `.long` N (6.1 scripts/kallsyms.c:543-544; `PTR` in kernels before 4.20);
- `kallsyms_names`: N entries, a ULEB128 length (one or two bytes since 6.1, one byte before)
  then that many token numbers; the first expanded character is the type letter
  (6.1 scripts/kallsyms.c:556-592, read back by kernel/kallsyms.c:42 kallsyms_expand_symbol);
- `kallsyms_markers`: the offset of every 256th entry in `kallsyms_names`, `.long`
  (6.1 scripts/kallsyms.c:595-597; `PTR` in older kernels);
- `kallsyms_seqs_of_names`: N three-byte big-endian indices in name order (6.1 backport and 6.2+,
  6.1 scripts/kallsyms.c:603-608);
- `kallsyms_offsets` + `kallsyms_relative_base` (KALLSYMS_BASE_RELATIVE: `.long` per symbol,
  6.1 scripts/kallsyms.c:500-531; read back by 6.12 kernel/kallsyms.c:152-163) or
  `kallsyms_addresses` (one `PTR` per symbol, absolute). With KALLSYMS_ABSOLUTE_PERCPU, per-cpu
  symbols hold their value as a non-negative offset and the rest `relative_base - 1 - addr`.

Every label is `.balign` to the word size (6.1 scripts/kallsyms.c:369-374). The order of the
tables changed (6.1: addresses, relative_base, num_syms, names, markers, seqs, token table,
token index; 6.12 scripts/kallsyms.c:370-495: num_syms, names, markers, token table, token index,
offsets, relative_base, seqs), so every table is found by its structure, starting from the token
table and index, never by a symbol name.

Decoding is in bulk: the name stream is expanded with one `str.join` over a token map, the
addresses with array operations; no Python object per symbol is made in the decode itself.
"""

from __future__ import annotations

import bisect
import operator
import struct
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from typing import Any

from cpualloc_cli.errors import InputError

#: The ten one-character tokens "0".."9": every kernel's table keeps them (digits occur in
#: names), in a row, because optimize_result() only reuses codes no symbol uses
#: (6.1 scripts/kallsyms.c:730-757). A cheap place to start; the structure decides.
_DIGITS = b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00"
_MAX_ANCHORS = 256  # digit runs looked at before giving up (a random run is not a table)
_MAX_NAME_LEN = 0x3FFF  # ULEB128 in at most two bytes (6.1 scripts/kallsyms.c:571-575)
_MAX_SYMS = 1 << 24  # seqs_of_names holds 3-byte indices (6.1 scripts/kallsyms.c:605-607)
_MAX_EXPANDED = 4096  # bytes one name may expand to (KSYM_NAME_LEN is 512 in 6.1)


@dataclass(frozen=True)
class Kallsyms:
    """The decoded table, in kallsyms order (by address). Columns, never one object per symbol."""

    addresses: array[int]  # 'Q'
    types: str  # one type letter per symbol, as kallsyms keeps it (per-cpu ones are 'A' with ABSOLUTE_PERCPU)
    strtab: bytes  # b"\0Tname\0Tname..." : name i starts at name_offsets[i]
    name_offsets: array[int]  # 'L' or 'Q'
    word_bytes: int
    endian: str
    base_relative: bool
    absolute_percpu: bool
    relative_base: int | None
    seqs_of_names: bool
    uleb_lengths: bool  # two-byte name lengths possible (6.1+)
    layout: str  # "addresses-first" (6.1 and older) or "offsets-after-index" (6.12)
    #: where each table starts in the buffer (file offsets in the payload), for reports and fuzzing
    positions: tuple[tuple[str, int], ...] = ()

    def __len__(self) -> int:
        return len(self.addresses)

    def name(self, i: int) -> str:
        start = self.name_offsets[i]
        return self.strtab[start:self.strtab.index(b"\0", start)].decode("utf-8", "surrogateescape")

    def names(self) -> list[str]:
        if not len(self):
            return []
        parts = self.strtab[1:].decode("utf-8", "surrogateescape").split("\0")[:len(self)]
        return [p[1:] for p in parts]  # each part is the type letter, then the name

    def describe(self) -> str:
        fmt = ("base-relative offsets" + (" with absolute per-cpu" if self.absolute_percpu else "")
               if self.base_relative else "absolute addresses")
        extra = ", seqs_of_names" if self.seqs_of_names else ""
        return f"kallsyms: {len(self)} symbols, {self.word_bytes * 8}-bit {self.endian}-endian, {fmt}{extra}"


def _bad(path: str, what: str) -> InputError:
    return InputError(f"kallsyms: {what}", path=path,
                      hint="the image's symbol table is damaged; give the vmlinux for symbols")


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


class _Reader:
    def __init__(self, buf: Any, endian: str, word: int) -> None:
        self.buf = buf
        self.size = len(buf)
        self.e = "<" if endian == "little" else ">"
        self.endian = endian
        self.word = word

    def u16(self, pos: int) -> int:
        return int(struct.unpack_from(self.e + "H", self.buf, pos)[0])

    def u32(self, pos: int) -> int:
        return int(struct.unpack_from(self.e + "I", self.buf, pos)[0])

    def uword(self, pos: int) -> int:
        return int(struct.unpack_from(self.e + ("Q" if self.word == 8 else "I"), self.buf, pos)[0])

    def ok(self, pos: int, length: int) -> bool:
        return 0 <= pos and pos + length <= self.size

    def array(self, code: str, pos: int, count: int) -> array[int]:
        a = array(code)
        a.frombytes(bytes(self.buf[pos:pos + count * a.itemsize]))
        if len(a) != count:
            raise ValueError("short read")
        if (self.endian == "little") != (sys.byteorder == "little"):
            a.byteswap()
        return a


@dataclass(frozen=True)
class _Tokens:
    table: int  # offset of kallsyms_token_table
    index: int  # offset of kallsyms_token_index
    endian: str
    align: int
    tokens: tuple[bytes, ...]


def _token_table_at(buf: Any, anchor: int) -> list[_Tokens]:
    """Token table/index pairs consistent with the digit run at `anchor`: walk to the table's end
    (the first empty string: padding or token_index[0] == 0), read 256 u16 after the aligned end
    in either byte order, and check that they index the 256 strings ending there."""
    out: list[_Tokens] = []
    size = len(buf)
    p = anchor
    for _ in range(257):
        if p >= size or buf[p] == 0:
            break
        q = buf.find(b"\0", p, min(size, p + _MAX_EXPANDED))
        if q < 0:
            return out
        p = q + 1
    end = p
    for align in (4, 8, 2):
        idx_pos = _align(end, align)
        if idx_pos + 512 > size or any(buf[end:idx_pos]):
            continue
        raw = bytes(buf[idx_pos:idx_pos + 512])
        for endian in ("little", "big"):
            idx = struct.unpack(("<" if endian == "little" else ">") + "256H", raw)
            if idx[0] != 0 or any(b <= a for a, b in zip(idx, idx[1:], strict=False)):
                continue
            last = bytes(buf[max(0, end - _MAX_EXPANDED):end - 1])
            last_len = len(last) - last.rfind(b"\0") - 1
            start = end - (idx[255] + last_len + 1)
            if start < 0 or start % 2:
                continue
            strings = bytes(buf[start:end]).split(b"\0")[:-1]
            if len(strings) != 256 or not all(strings):
                continue
            offs = list(accumulate((len(s) + 1 for s in strings[:-1]), initial=0))
            if tuple(offs) != idx:
                continue
            if not (start <= anchor < end) or any(c < 0x20 or c == 0x7F for s in strings for c in s):
                continue
            out.append(_Tokens(start, idx_pos, endian, align, tuple(strings)))
    return out


def _find_tokens(buf: Any) -> list[_Tokens]:
    found: list[_Tokens] = []
    pos = buf.find(_DIGITS)
    seen = 0
    while pos >= 0 and seen < _MAX_ANCHORS:
        seen += 1
        found.extend(t for t in _token_table_at(buf, pos) if t not in found)
        pos = buf.find(_DIGITS, pos + 1)
    return found


def _walk_markers(r: _Reader, end: int, width: int, limit: int) -> list[int] | None:
    """The markers array ending at `end`, read backwards: strictly ascending, each step at least
    256 entries of two bytes and at most 256 of the longest, down to markers[0] == 0."""
    vals: list[int] = []
    p = end - width
    read = r.u32 if width == 4 else r.uword
    prev = -1
    while p >= 0 and len(vals) <= limit:
        v = read(p)
        if prev >= 0 and not (512 <= prev - v <= 256 * (_MAX_NAME_LEN + 2)):
            return None
        vals.append(v)
        if v == 0:
            vals.reverse()
            return vals
        prev = v
        p -= width
    return None


@dataclass(frozen=True)
class _Names:
    start: int
    count: int
    end: int
    uleb: bool
    num_syms_pos: int
    num_syms_width: int


def _entry_ends(buf: Any, start: int, count: int, uleb: bool, limit: int) -> tuple[list[int], list[int]] | None:
    """(length-byte positions, entry starts) of `count` names from `start`; None past `limit`."""
    lens: list[int] = []
    starts: list[int] = []
    pos = start
    for _ in range(count):
        if pos >= limit:
            return None
        n = buf[pos]
        starts.append(pos)
        if uleb and n & 0x80:
            if pos + 1 >= limit:
                return None
            n = (n & 0x7F) | (buf[pos + 1] << 7)
            lens.append(2)
            pos += 2 + n
        else:
            lens.append(1)
            pos += 1 + n
        if n == 0:
            return None
    if pos > limit:
        return None
    starts.append(pos)
    return lens, starts


def _names_for(r: _Reader, markers: list[int], m0: int, align: int) -> list[_Names]:
    """kallsyms_num_syms and kallsyms_names for the markers at `m0`: num_syms is the word before
    the names, the names end (aligned) where the markers begin, and every 256th entry starts
    where its marker says."""
    buf = r.buf
    m = len(markers)
    lo_n, hi_n = 256 * (m - 1) + 1, 256 * m
    last = markers[-1]
    hi = m0 - last
    lo = max(0, hi - 256 * (_MAX_NAME_LEN + 2) - 16)
    out: list[_Names] = []
    if hi < 4:
        return out
    # num_syms is in [lo_n, hi_n], so its top three bytes are m - 1 or m: find those (bytes.find)
    # instead of reading every word of the up to 4 MiB before the markers
    qs: set[int] = set()
    first = _align(max(lo, 0), 4)
    off = 1 if r.endian == "little" else 0
    for top in {lo_n >> 8, hi_n >> 8}:
        pat = top.to_bytes(3, r.endian)  # type: ignore[arg-type]
        p = buf.find(pat, first + off, hi + off + 2)
        while p >= 0:
            if (p - off) % 4 == 0:
                qs.add(p - off)
            p = buf.find(pat, p + 1, hi + off + 2)
    for q in sorted(qs):
        v = r.u32(q)
        cands = []
        if lo_n <= v <= hi_n and q % r.word == 0:  # every label is ALGN-ed (.balign word)
            cands.append((q, 4, v))
        if r.word == 8 and r.endian == "big" and q % 8 == 4:  # PTR num_syms, big-endian: the low word
            hv = r.u32(q - 4)
            if hv == 0 and lo_n <= v <= hi_n:
                cands.append((q - 4, 8, v))
        for pos, width, n in cands:
            start = _align(pos + width, align)
            for uleb in (True, False):
                tail = _entry_ends(buf, start + last, n - 256 * (m - 1), uleb, m0)
                if tail is None:
                    continue
                end = tail[1][-1]
                if not (0 <= m0 - end < align) or any(buf[end:m0]):
                    continue
                out.append(_Names(start, n, end, uleb, pos, width))
    return out


def _seqs_ok(r: _Reader, pos: int, n: int) -> bool:
    """kallsyms_seqs_of_names: n three-byte big-endian indices, each below n (a permutation: the
    sum check is cheap and catches a wrong n)."""
    if not r.ok(pos, 3 * n):
        return False
    raw = bytes(r.buf[pos:pos + 3 * n])
    hi, mid, lo = raw[0::3], raw[1::3], raw[2::3]
    total = sum(hi) * 65536 + sum(mid) * 256 + sum(lo)
    return total == n * (n - 1) // 2 and max(hi) <= (n - 1) >> 16


def _addresses(r: _Reader, pos: int, n: int, relative: bool) -> tuple[array[int], int | None, bool] | None:
    """The addresses at `pos`: absolute words, or offsets with the relative base after them.
    (addresses, relative_base, absolute_percpu), or None when they are not sorted."""
    word = r.word
    if not relative:
        if not r.ok(pos, n * word):
            return None
        a = r.array("Q" if word == 8 else "I", pos, n)
        if not all(map(operator.le, a, a[1:])):
            return None
        return (a if word == 8 else array("Q", a)), None, False
    rb_pos = _align(pos + 4 * n, word)
    if not r.ok(pos, 4 * n) or not r.ok(rb_pos, word):
        return None
    base = r.uword(rb_pos)
    offs = r.array("i", pos, n)
    mask = (1 << (8 * word)) - 1
    # plain base-relative first: addr = base + (u32)offset (6.12 kernel/kallsyms.c:155-156);
    # ABSOLUTE_PERCPU's negative offsets read as u32 descend, so they fail this
    plain = list(map(operator.add, repeat(base), map(operator.and_, offs, repeat(0xFFFFFFFF))))
    if max(plain, default=0) <= mask and all(map(operator.le, plain, plain[1:])):
        return array("Q", plain), base, False
    if not any(o == -1 for o in offs):  # the lowest relative symbol is relative_base itself: -1
        return None
    # KALLSYMS_ABSOLUTE_PERCPU: non-negative offsets are absolute, negative ones relative to
    # base - 1 (6.12 kernel/kallsyms.c:158-163)
    addrs = array("Q", [o if o >= 0 else (base - 1 - o) & mask for o in offs])
    if not all(map(operator.le, addrs, addrs[1:])):
        return None
    return addrs, base, True


def _expand(buf: Any, names: _Names, tokens: tuple[bytes, ...], lens: list[int], starts: list[int]) -> bytes:
    """The whole name stream expanded in one join: every length byte becomes a NUL separator
    (token 256), the second byte of a two-byte length the empty string (token 257)."""
    raw = bytes(buf[names.start:names.end])
    wide = bytearray(2 * len(raw))  # one u16 per byte, built by a strided copy
    wide[0 if sys.byteorder == "little" else 1::2] = raw
    codes = array("H")
    codes.frombytes(wide)
    base = names.start
    for p, w in zip(starts, lens, strict=False):
        codes[p - base] = 256
        if w == 2:
            codes[p - base + 1] = 257
    table = [t.decode("latin-1") for t in tokens] + ["\0", ""]
    return "".join(map(table.__getitem__, codes)).encode("latin-1")


#: _decode_from's problems, in the order it meets them
_STAGES = ("no kallsyms_markers", "a table runs past", "kallsyms_names runs past", "kallsyms_markers[",
           "no kallsyms_offsets", "kallsyms_names holds", "a name expands")


def find_kallsyms(buf: Any, path: str, *, word_bytes: int | None = None,
                  endian: str | None = None) -> Kallsyms | None:
    """The kallsyms tables in `buf` (a decompressed kernel), decoded; None when the image has no
    token table. A token table whose other tables cannot be found or disagree is bad input."""
    candidates = _find_tokens(buf)
    if endian is not None:
        candidates = [t for t in candidates if t.endian == endian]
    if not candidates:
        return None
    problems: list[str] = []
    for tok in candidates:
        for word in ((word_bytes,) if word_bytes else (8, 4)):
            if tok.table % word:
                continue
            try:
                got = _decode_from(buf, path, tok, word, problems)
            except (struct.error, ValueError, IndexError):
                problems.append("a table runs past the end of the image")
                continue
            if got is not None:
                return got
    # the problem of the attempt that got furthest (another word size fails earlier, at the markers)
    problems.sort(key=lambda p: -next((i for i, w in enumerate(_STAGES) if p.startswith(w)), 0))
    raise _bad(path, "a token table is there but " + (problems[0] if problems else
                                                       "no markers, names and addresses agree with it"))


def _decode_from(buf: Any, path: str, tok: _Tokens, word: int, problems: list[str]) -> Kallsyms | None:
    r = _Reader(buf, tok.endian, word)
    t = tok.table
    marker_ends: list[tuple[int, bool]] = [(t, False), (t - 4, False)]
    found = _try_markers(r, tok, word, marker_ends)
    if found is None:
        found = _scan_seqs_markers(r, tok, word)
    if found is None:
        problems.append("no kallsyms_markers/kallsyms_names agree with it")
        return None
    markers, m0, mwidth, names, seqs = found
    ends = _entry_ends(buf, names.start, names.count, names.uleb, names.end)
    if ends is None:
        problems.append("kallsyms_names runs past kallsyms_markers")
        return None
    lens, starts = ends
    for k, mk in enumerate(markers):
        if starts[256 * k] - names.start != mk:
            problems.append(f"kallsyms_markers[{k}] = {mk} disagrees with the names")
            return None
    n = names.count
    # the addresses: before num_syms (6.1 and older), or after the token index (6.12)
    hyps: list[tuple[str, int, bool]] = []
    rb_before = names.num_syms_pos - word
    hyps.append(("addresses-first", rb_before - _align(4 * n, word), True))
    hyps.append(("addresses-first", names.num_syms_pos - word * n, False))
    after = _align(tok.index + 512, word)
    hyps.append(("offsets-after-index", after, True))
    hyps.append(("offsets-after-index", after, False))
    addr = None
    layout = ""
    apos = 0
    for hyp_layout, hyp_pos, rel in hyps:
        if hyp_pos < 0:
            continue
        addr = _addresses(r, hyp_pos, n, rel)
        if addr is not None:
            layout, apos = hyp_layout, hyp_pos
            break
    if addr is None:
        problems.append("no kallsyms_offsets/kallsyms_addresses array of sorted addresses fits")
        return None
    addresses, base, abs_percpu = addr
    if not seqs and layout == "offsets-after-index" and base is not None:
        seqs = _seqs_ok(r, _align(_align(apos + 4 * n, word) + word, word), n)
    blob = _expand(buf, names, tok.tokens, lens, starts)
    parts = blob.split(b"\0")  # parts[0] is empty: the blob starts with a separator
    if len(parts) != n + 1:
        problems.append("kallsyms_names holds a NUL")
        return None
    plen = list(map(len, parts))
    if min(plen[1:], default=1) < 1 or max(plen, default=0) > _MAX_EXPANDED:
        problems.append("a name expands to nothing or past KSYM_NAME_LEN")
        return None
    entry = list(accumulate((x + 1 for x in plen[:-1]), initial=0))  # where each part starts
    types = bytes(map(blob.__getitem__, entry[1:])).decode("latin-1")
    offsets = array("Q", map(operator.add, entry[1:], repeat(1)))
    positions = (("token_table", tok.table), ("token_index", tok.index), ("markers", m0),
                 ("names", names.start), ("num_syms", names.num_syms_pos), ("addresses", apos))
    return Kallsyms(addresses=addresses, types=types, strtab=blob + b"\0", name_offsets=offsets,
                    word_bytes=word, endian=tok.endian, base_relative=base is not None,
                    absolute_percpu=abs_percpu, relative_base=base, seqs_of_names=seqs,
                    uleb_lengths=names.uleb, layout=layout, positions=positions)


_Found = tuple[list[int], int, int, _Names, bool]


def _try_markers(r: _Reader, tok: _Tokens, word: int, ends: list[tuple[int, bool]]) -> _Found | None:
    for end, seqs in ends:
        for width in ((4, 8) if word == 8 else (4,)):
            if end % width or end - width < 0:
                continue
            markers = _walk_markers(r, end, width, 1 << 16)
            if markers is None:
                continue
            m0 = end - width * len(markers)
            for names in _names_for(r, markers, m0, word):
                return markers, m0, width, names, seqs
    return None


def _seqs_bound(buf: Any, t: int, word: int, lowest: int) -> int:
    """The most entries a kallsyms_seqs_of_names ending before `t` (padded to `word`) can hold.
    Its entries are distinct three-byte big-endian indices below n, so (1) no 8 zero bytes in a
    row (that would cover two whole entries of 0), and (2) every first byte is at most
    (n - 1) >> 16: n entries back from the end, n <= 65536 * (1 + the largest first byte)."""
    z = buf.rfind(b"\0" * 8, lowest, max(lowest, t - 16))  # the last 16 bytes may hold the pad
    floor = max(lowest, z + 1)
    region = bytes(buf[floor:t])
    best = 0
    for end in range(max(len(region) - word + 1, 0), len(region) + 1):
        if end < 3:
            continue
        hi = region[(end - 3) % 3:end:3]  # the first byte of each entry, the last one last
        # last[v]: entries from the end to the last first-byte v (len(hi): none)
        last = [len(hi) - 1 - hi.rfind(bytes([v])) for v in range(256)]
        run = len(hi)  # entries back from the end with every first byte <= h
        for h in range(255, -1, -1):
            if (h << 16) < run:
                best = max(best, min(run, (h + 1) << 16))
            if h:
                run = min(run, last[h])
    return best


def _scan_seqs_markers(r: _Reader, tok: _Tokens, word: int) -> _Found | None:
    """kallsyms_seqs_of_names between the markers and the token table (6.1, 6.2+): scan back
    from the token table for a markers array whose symbol count fills the gap with 3-byte seqs."""
    t = tok.table
    lowest = max(0, t - 3 * _MAX_SYMS - 64)
    # the scan walks the markers at every 4-byte step: bound it by the longest seqs that can end
    # before the token table, or a damaged image costs a Python step per word of the whole buffer
    lowest = max(lowest, t - 3 * _seqs_bound(r.buf, t, word, lowest) - 2 * word - 4)
    e = (t - 4) // 4 * 4
    while e > lowest:
        markers = _walk_markers(r, e, 4, 1 << 16)
        if markers is not None:
            seqs_start = _align(e, word)
            gap = t - seqs_start
            m = len(markers)
            for n in range(max(256 * (m - 1) + 1, (gap - word + 3) // 3), min(256 * m, gap // 3) + 1):
                if not _seqs_ok(r, seqs_start, n) or _align(seqs_start + 3 * n, word) != t:
                    continue
                m0 = e - 4 * m
                for names in _names_for(r, markers, m0, word):
                    if names.count == n:
                        return markers, m0, 4, names, True
        e -= 4
    return None


# -- sizes ----------------------------------------------------------------------------------------

#: x86 padding: int3 and the multi-byte nops gas and the linker emit (Intel SDM vol. 2B, NOP;
#: binutils gas/config/tc-i386.c alt_patt), longest first.
_X86_NOPS = (
    bytes.fromhex("662e0f1f840000000000"), bytes.fromhex("660f1f840000000000"),
    bytes.fromhex("0f1f8000000000"), bytes.fromhex("0f1f840000000000"), bytes.fromhex("660f1f440000"),
    bytes.fromhex("0f1f440000"), bytes.fromhex("0f1f4000"), bytes.fromhex("0f1f00"), bytes.fromhex("6690"),
    b"\x90",
)


@dataclass(frozen=True)
class Range:
    name: str
    start: int
    end: int
    index: int  # section index (ELF) or a pseudo index
    executable: bool
    file_offset: int | None  # where its bytes are in the buffer (None: NOBITS or unknown)


@dataclass(frozen=True)
class DerivedSizes:
    sizes: array[int]  # 'Q'
    shndx: array[int]  # 'L': the range index per symbol, SHN_ABS (0xfff1) outside every range
    unbounded: bytes  # 1 per symbol whose size no next symbol or range end bounds
    trimmed: int  # symbols whose tail padding was trimmed


SHN_ABS = 0xFFF1


def _trim_x86(buf: Any, start: int, end: int) -> int:
    """`end` moved back over int3/nop/zero padding; one int3 kept after a ret or a jmp (SLS:
    gcc -mharden-sls puts it inside the function, arch/x86/Kconfig SLS)."""
    floor = start
    e = end
    while e > floor:
        b = buf[e - 1]
        if b == 0xCC:
            run = e
            while e > floor and buf[e - 1] == 0xCC:
                e -= 1
            if e > floor and (buf[e - 1] == 0xC3 or (e - 5 >= floor and buf[e - 5] == 0xE9)
                              or (e - 2 >= floor and buf[e - 2] == 0xFF and 0xE0 <= buf[e - 1] <= 0xE7)):
                return min(run, e + 1)
            continue
        for nop in _X86_NOPS:
            if e - len(nop) >= floor and buf[e - len(nop):e] == nop:
                e -= len(nop)
                break
        else:
            if b == 0 and e - 1 > floor and buf[e - 2] in (0x00, 0xC3, 0xCC):
                e -= 1
                continue
            break
    return e


def compute_derived_sizes(addresses: Sequence[int], ranges: Sequence[Range], buf: Any | None = None,
                          trim_x86: bool = False) -> DerivedSizes:
    """Each symbol's size: the next higher address within its range (or the range's end), minus
    recognisable padding at the tail of executable ranges. `addresses` are sorted."""
    n = len(addresses)
    rs = sorted((r for r in ranges if r.end > r.start), key=lambda r: r.start)
    starts = [r.start for r in rs]
    # next distinct address after each symbol (one backward pass)
    nxt = [0] * n
    nextv = -1
    for i in range(n - 1, -1, -1):
        a = addresses[i]
        nxt[i] = nextv
        if i == 0 or addresses[i - 1] != a:
            nextv = a
    sizes = array("Q", bytes(8 * n))
    shndx = array("L", [SHN_ABS]) * n
    unbounded = bytearray(n)
    trimmed = 0
    ri = -1
    for i in range(n):
        a = addresses[i]
        if ri < 0 or not (rs[ri].start <= a < rs[ri].end):
            k = bisect.bisect_right(starts, a) - 1
            ri = k if k >= 0 and a < rs[k].end else -1
        if ri < 0:
            if nxt[i] < 0:
                unbounded[i] = 1
            continue
        r = rs[ri]
        shndx[i] = r.index
        end = r.end if nxt[i] < 0 else min(nxt[i], r.end)
        if trim_x86 and buf is not None and r.executable and r.file_offset is not None:
            fo = r.file_offset + (a - r.start)
            fe = r.file_offset + (end - r.start)
            if fe <= len(buf):
                t = _trim_x86(buf, fo, fe)
                if t != fe:
                    trimmed += 1
                    end -= fe - t
        sizes[i] = end - a
    return DerivedSizes(sizes, shndx, bytes(unbounded), trimmed)


#: Range bounds kallsyms itself names, for a payload without section headers (an arm64 Image).
BOUND_SYMBOLS = (("text", "_stext", "_etext", True), ("inittext", "_sinittext", "_einittext", True),
                 ("rodata", "__start_rodata", "__end_rodata", False), ("data", "_sdata", "_edata", False),
                 ("bss", "__bss_start", "__bss_stop", False), ("percpu", "__per_cpu_start", "__per_cpu_end", False))

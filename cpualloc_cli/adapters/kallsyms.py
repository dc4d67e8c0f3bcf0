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
import re
import struct
import sys
from array import array
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, count, repeat
from typing import Any

from cpualloc_cli.errors import InputError

#: The ten one-character tokens "0".."9": every kernel's table keeps them (digits occur in
#: names), in a row, because optimize_result() only reuses codes no symbol uses
#: (6.1 scripts/kallsyms.c:730-757). A cheap place to start; the structure decides.
_DIGITS = b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00"
_MAX_ANCHORS = 256  # digit runs looked at before giving up (a random run is not a table)
_MAX_SYMS = 1 << 24  # seqs_of_names holds 3-byte indices (6.1 scripts/kallsyms.c:605-607)
_MAX_EXPANDED = 4096  # bytes one name may expand to (KSYM_NAME_LEN is 512 in 6.1)
#: tokens in one kallsyms_names entry: a name has fewer than KSYM_NAME_LEN (512 in 6.1 and 6.12
#: include/linux/kallsyms.h:18, 128 before) characters with its type letter (6.1
#: scripts/kallsyms.c:35 and read_symbol() drop longer ones), a token at least one; twice that
_MAX_TOKENS = 1024
_MAX_STEP = 256 * (_MAX_TOKENS + 2)  # bytes between two kallsyms_markers: 256 entries


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


def _find_tokens(buf: Any) -> Iterator[_Tokens]:
    """Token table/index pairs in buffer order, found lazily: the first one that decodes ends
    the search, so the rest of a 60 MB image is not scanned."""
    found: list[_Tokens] = []
    pos = buf.find(_DIGITS)
    seen = 0
    while pos >= 0 and seen < _MAX_ANCHORS:
        seen += 1
        for t in _token_table_at(buf, pos):
            if t not in found:
                found.append(t)
                yield t
        pos = buf.find(_DIGITS, pos + 1)


def _walk_markers(r: _Reader, end: int, width: int, limit: int) -> list[int] | None:
    """The markers array ending at `end`, read backwards: strictly ascending, each step at least
    256 entries of two bytes and at most 256 of the longest, down to markers[0] == 0."""
    vals: list[int] = []
    p = end - width
    read = r.u32 if width == 4 else r.uword
    prev = -1
    while p >= 0 and len(vals) <= limit:
        v = read(p)
        if prev >= 0 and not (512 <= prev - v <= _MAX_STEP):
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
    """(the entries whose length takes two bytes, the start of every entry and the end) of
    `count` names from `start`; None past `limit` or for a length of 0 or over _MAX_TOKENS."""
    wide: list[int] = []
    starts: list[int] = []
    add = starts.append
    pos = start
    for _ in repeat(None, count):
        if pos >= limit:
            return None
        add(pos)
        n = buf[pos]
        if n & 0x80 and uleb:
            if pos + 1 >= limit:
                return None
            n = (n & 0x7F) | (buf[pos + 1] << 7)
            if n > _MAX_TOKENS:
                return None
            wide.append(pos)
            pos += 2 + n
        elif n:
            pos += 1 + n
        else:
            return None
    if pos > limit:
        return None
    add(pos)
    return wide, starts


#: a u32 in 1..255: the low byte non-zero, the other three zero. A match's three zero bytes
#: cannot hold the next match's non-zero byte, so non-overlapping matches miss none.
_SMALL_U32 = {"little": re.compile(rb"[^\0]\0\0\0"), "big": re.compile(rb"\0\0\0[^\0]")}


def _u32_in(r: _Reader, lo: int, hi: int, vmin: int, vmax: int) -> list[int]:
    """The 4-aligned positions q in [lo, hi) whose u32 is in [vmin, vmax], ascending. The range
    spans few values of v >> 8 (a num_syms range spans two), so each is one bytes.find loop over
    the three bytes above the low one: the scan runs in C, not one Python step per word."""
    out: list[int] = []
    off = 1 if r.endian == "little" else 0  # where the three high bytes sit in the word
    if vmin >> 8 == 0:  # values below 256: three zero bytes are everywhere in zero fill, so
        # look for a non-zero low byte beside them (matches cannot overlap: see _SMALL_U32)
        out.extend(q for q in (x.start() for x in _SMALL_U32[r.endian].finditer(r.buf, max(lo, 0), hi + 3))
                   if q < hi and q % 4 == 0 and vmin <= r.u32(q) <= vmax)
        vmin = 256
    for h in range(vmin >> 8, (vmax >> 8) + 1):
        pat = h.to_bytes(3, "little" if r.endian == "little" else "big")
        end = hi + off + 2  # a match starting at q + off with q < hi
        p = r.buf.find(pat, max(lo, 0) + off, end)
        while p >= 0:
            q = p - off
            if q % 4 == 0 and vmin <= r.u32(q) <= vmax:
                out.append(q)
            p = r.buf.find(pat, p + 1, end)
    out.sort()
    return out


def _names_for(r: _Reader, markers: list[int], m0: int, align: int) -> list[_Names]:
    """kallsyms_num_syms and kallsyms_names for the markers at `m0`: num_syms is the word before
    the names, the names end (aligned) where the markers begin, and every 256th entry starts
    where its marker says."""
    buf = r.buf
    m = len(markers)
    lo_n, hi_n = 256 * (m - 1) + 1, 256 * m
    last = markers[-1]
    hi = m0 - last
    lo = max(0, hi - _MAX_STEP - 16)
    out: list[_Names] = []
    if hi < 4:
        return out
    for q in _u32_in(r, _align(lo, 4), hi, lo_n, hi_n):
        v = r.u32(q)
        cands = []
        if q % r.word == 0:  # every label is ALGN-ed (.balign word)
            cands.append((q, 4, v))
        if r.word == 8 and r.endian == "big" and q % 8 == 4 and r.u32(q - 4) == 0:
            cands.append((q - 4, 8, v))  # PTR num_syms, big-endian: the low word
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
    mask = (1 << (8 * word)) - 1
    # plain base-relative first: addr = base + (u32)offset (6.12 kernel/kallsyms.c:155-156);
    # ABSOLUTE_PERCPU's negative offsets read as u32 descend, so they fail this early
    unsigned = r.array("I", pos, n)
    if all(map(operator.le, unsigned, unsigned[1:])) and base + max(unsigned, default=0) <= mask:
        return array("Q", map(operator.add, repeat(base), unsigned)), base, False
    offs = r.array("i", pos, n)
    if -1 not in offs:  # the lowest relative symbol is relative_base itself: -1
        return None
    # KALLSYMS_ABSOLUTE_PERCPU: non-negative offsets are absolute, negative ones relative to
    # base - 1 (6.12 kernel/kallsyms.c:158-163)
    values = list(map(operator.sub, repeat(base - 1), offs))
    for i in compress(count(), map(operator.ge, offs, repeat(0))):
        values[i] = offs[i]
    if max(values, default=0) > mask:
        values = list(map(operator.and_, values, repeat(mask)))
    addrs = array("Q", values)
    if not all(map(operator.le, addrs, addrs[1:])):
        return None
    return addrs, base, True


def _expand(buf: Any, names: _Names, tokens: tuple[bytes, ...], wide: list[int], starts: list[int]) -> bytes:
    """The whole name stream expanded in one join: every length byte becomes a NUL separator
    (token 256), the second byte of a two-byte length the empty string (token 257)."""
    raw = bytes(buf[names.start:names.end])
    u16 = bytearray(2 * len(raw))  # one u16 per byte, built by a strided copy
    u16[0 if sys.byteorder == "little" else 1::2] = raw
    codes = array("H")
    codes.frombytes(u16)
    base = names.start
    rel = list(map(operator.sub, starts[:-1], repeat(base)))
    deque(map(codes.__setitem__, rel, repeat(256)), maxlen=0)
    for p in wide:
        codes[p - base + 1] = 257
    table = [t.decode("latin-1") for t in tokens] + ["\0", ""]
    return "".join(map(table.__getitem__, codes)).encode("latin-1")


def find_kallsyms(buf: Any, path: str, *, word_bytes: int | None = None,
                  endian: str | None = None) -> Kallsyms | None:
    """The kallsyms tables in `buf` (a decompressed kernel), decoded; None when the image has no
    token table. A token table whose other tables cannot be found or disagree is bad input."""
    problems: list[str] = []
    any_table = False
    for tok in _find_tokens(buf):
        if endian is not None and tok.endian != endian:
            continue
        any_table = True
        for word in ((word_bytes,) if word_bytes else (8, 4)):
            if tok.table % word:
                continue
            try:
                got = _decode_from(buf, path, tok, word, problems)
            except (struct.error, ValueError, IndexError) as exc:
                problems.append(f"a table runs past the image ({exc})")
                continue
            if got is not None:
                return got
    if not any_table:
        return None
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
    wide, starts = ends
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
        if rel and hyp_layout == "offsets-after-index" and r.ok(hyp_pos, 4 * n) \
                and not r.ok(_align(hyp_pos + 4 * n, word), word):
            # the offsets are there and the image ends inside kallsyms_relative_base: a cut
            # image (the same words read as absolute addresses would decode wrong addresses)
            problems.append("kallsyms_relative_base runs past the end of the image")
            return None
    if addr is None:
        problems.append("no kallsyms_offsets/kallsyms_addresses array of sorted addresses fits")
        return None
    addresses, base, abs_percpu = addr
    if not seqs and layout == "offsets-after-index" and base is not None:
        seqs = _seqs_ok(r, _align(_align(apos + 4 * n, word) + word, word), n)
    blob = _expand(buf, names, tok.tokens, wide, starts)
    parts = blob.split(b"\0")  # parts[0] is empty: the blob starts with a separator
    if len(parts) != n + 1:
        problems.append("kallsyms_names holds a NUL")
        return None
    plen = list(map(len, parts))
    if min(plen[1:], default=1) < 1 or max(plen, default=0) > _MAX_EXPANDED:
        problems.append("a name expands to nothing or past KSYM_NAME_LEN")
        return None
    entry = list(accumulate(map(operator.add, plen[:-1], repeat(1)), initial=0))  # where each part starts
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


#: where kallsyms_markers can start: markers[0] == 0, then markers[1] in [512, _MAX_STEP], whose
#: top byte is 0 and next one at most _MAX_STEP >> 16. The literal prefix lets the regex engine
#: skip ahead in C; the caller restarts one byte after each match, so overlapping starts are seen.
_MARKERS_START = {
    "little": re.compile(rb"\0\0\0\0(?!\0\0\0\0)..[\0-\x%02x]\0" % (_MAX_STEP >> 16), re.DOTALL),
    "big": re.compile(rb"\0\0\0\0(?!\0\0\0\0)\0[\0-\x%02x].." % (_MAX_STEP >> 16), re.DOTALL),
}


def _matches(pattern: re.Pattern[bytes], buf: Any, lo: int, hi: int) -> list[int]:
    """Every start in [lo, hi) where `pattern` matches, overlapping ones included."""
    out: list[int] = []
    end = hi + 16  # room for a match that starts before hi (the patterns are 8 bytes)
    m = pattern.search(buf, lo, end)
    while m is not None and m.start() < hi:
        out.append(m.start())
        m = pattern.search(buf, m.start() + 1, end)
    return out


def _markers_at(r: _Reader, m0: int, m: int) -> list[int] | None:
    """The m u32 markers at m0 if they are kallsyms_markers: 0, then steps of 512 to _MAX_STEP.
    The last two are looked at before the whole array is read."""
    if m > 1:
        last, before = r.u32(m0 + 4 * (m - 1)), r.u32(m0 + 4 * (m - 2))
        if not (512 <= last - before <= _MAX_STEP and 512 * (m - 1) <= last <= _MAX_STEP * (m - 1)):
            return None
    markers = r.array("I", m0, m).tolist()
    if markers[0] != 0 or not all(512 <= b - a <= _MAX_STEP for a, b in zip(markers, markers[1:], strict=False)):
        return None
    return markers


def _scan_seqs_markers(r: _Reader, tok: _Tokens, word: int) -> _Found | None:
    """kallsyms_seqs_of_names between the markers and the token table (6.1, 6.2+): m markers
    (4 bytes each, from a word-aligned m0, markers[0] == 0) end where the seqs start (aligned),
    and the n seqs (n in (256 (m - 1), 256 m], 3 bytes each) end, aligned, at the token table.
    So each m puts m0 in a window of about 3 * 256 bytes; m counts up (the markers move down
    from the token table) and each window is searched in C for where markers can start."""
    t = tok.table
    buf = r.buf
    start_re = _MARKERS_START[r.endian]
    for m in range(1, _MAX_SYMS // 256 + 1):
        n_lo, n_hi = 256 * (m - 1) + 1, 256 * m
        s_lo = (t - 3 * n_hi) // word * word  # where the seqs start, for the largest and smallest n
        s_hi = (t - 3 * n_lo) // word * word
        lo, hi = s_lo - 4 * m - word, s_hi - 4 * m + 1  # m0 = e - 4 m with align(e, word) = seqs start
        if lo < 0:
            return None
        if m == 1:
            hits = [p for p in range(_align(lo, word), hi, word) if r.u32(p) == 0]
        elif buf.count(b"\0", lo, hi + 8) == hi + 8 - lo:
            continue  # zero fill: markers[1] is not zero
        else:
            hits = _matches(start_re, buf, lo, hi)
        for m0 in hits:
            if m0 % word or m0 < lo:
                continue
            markers = _markers_at(r, m0, m)
            if markers is None:
                continue
            seqs_start = _align(m0 + 4 * m, word)
            gap = t - seqs_start
            for n in range(max(n_lo, (gap - word + 3) // 3), min(n_hi, gap // 3) + 1):
                if _align(seqs_start + 3 * n, word) != t or not _seqs_ok(r, seqs_start, n):
                    continue
                for names in _names_for(r, markers, m0, word):
                    if names.count == n:
                        return markers, m0, 4, names, True
    return None


# -- sizes ----------------------------------------------------------------------------------------
#
# kallsyms has no sizes. A symbol's derived size is the distance to the next higher address in
# the same range (an ELF section of the payload, or a span named by BOUND_SYMBOLS), so it
# includes the padding before the next symbol; on x86 that padding is recognisable and trimmed.

#: gas's x86 nops by length (binutils gas/config/tc-i386.c alt_patt: f32_1, f32_2, alt_3 .. alt_11).
#: Lengths 1-8 are 6.1 arch/x86/include/asm/nops.h:51-58 BYTES_NOP1..8 (64-bit), 1-9 the Intel
#: SDM vol. 2B "NOP" Table 4-12 (recommended multi-byte NOP sequences); 10 and 11 add the cs
#: (2E) and a second operand-size (66) prefix to the 9-byte one. An alignment pad of COUNT
#: bytes is COUNT // 11 eleven-byte nops then one (COUNT % 11)-byte nop (tc-i386.c
#: i386_output_nops); with more than 7 eleven-byte nops gas jumps over the pad instead.
_X86_NOPS: tuple[bytes, ...] = tuple(bytes.fromhex(h) for h in (
    "", "90", "6690", "0f1f00", "0f1f4000", "0f1f440000", "660f1f440000", "0f1f8000000000",
    "0f1f840000000000", "660f1f840000000000", "662e0f1f840000000000", "66662e0f1f840000000000"))
_NOP11 = _X86_NOPS[11]
_MAX_PAD = 11 * 7 + 10  # tc-i386.c i386_generate_nops: at most 7 (max_number_of_nops) 11-byte nops
#: the remainder nop lengths (0..10) a pad can end with, by the pad's last two bytes (0: the pad
#: ends with a whole 11-byte nop, which ends "0000" as nops 5 to 10 do). A last byte 0x90 with
#: another byte before it than 66 or 00 can only be the one-byte nop.
_PAD_TAILS: dict[int, tuple[int, ...]] = {
    0x6690: (2,), 0x0090: (1,), 0x1F00: (3,), 0x4000: (4,), 0x0000: (0, 10, 9, 8, 7, 6, 5),
}


@dataclass(frozen=True)
class Range:
    """An address span symbols are bounded by: an ELF section, or a pair of BOUND_SYMBOLS."""

    name: str
    start: int
    end: int
    index: int  # section index (ELF) or a pseudo index
    executable: bool
    file_offset: int | None  # where its bytes are in the buffer (None: NOBITS or unknown)


@dataclass(frozen=True)
class DerivedSizes:
    """Derived sizes, one per symbol in the order of the addresses given (columns)."""

    sizes: array[int]  # 'Q'
    shndx: array[int]  # 'L': the range index per symbol, SHN_ABS (0xfff1) outside every range
    #: 1 per symbol whose size no later symbol bounds: the last symbol of its range with no
    #: symbol at the range's end (its size runs to the range's end, over whatever unnamed bytes
    #: the range ends with), or a symbol outside every range (size 0)
    unbounded: bytes
    trimmed: int  # symbols whose tail padding was trimmed


SHN_ABS = 0xFFF1
SHF_EXECINSTR = 0x4
_NO_NEXT = 1 << 64  # above every address


def _gas_pad(buf: Any, start: int, end: int) -> int:
    """The length of the longest gas alignment pad (k <= 7 eleven-byte nops, then one 0..10-byte
    nop) that ends at `end` and starts at or after `start`."""
    t = bytes(buf[max(start, end - _MAX_PAD):end])  # one copy holds the longest pad
    n = len(t)
    if not n:
        return 0
    best = 0
    for r in _PAD_TAILS.get(t[-2] << 8 | t[-1] if n >= 2 else -1, (1,) if t[-1] == 0x90 else ()):
        if t.endswith(_X86_NOPS[r]):
            length = r
            while n - length >= 11 and t.endswith(_NOP11, 0, n - length):
                length += 11
            best = max(best, length)
    return best


def _int3_run_start(buf: Any, start: int, end: int) -> int:
    """Where the run of 0xCC bytes that ends at `end` begins (not below `start`), found with
    bytes.rstrip over windows that double, so a page of fill costs no Python loop per byte."""
    width = 64
    while True:
        lo = max(start, end - width)
        kept = len(bytes(buf[lo:end]).rstrip(b"\xcc"))
        if kept or lo == start:
            return lo + kept
        width *= 2


def _trim_x86(buf: Any, start: int, end: int) -> int:
    """`end` (an offset in `buf`) moved back over the padding after an x86 function, never
    below `start`:

    - a run of int3 (0xCC), the linker's fill between input sections (6.1
      arch/x86/kernel/vmlinux.lds.S:161 `} :text =0xcccc`). One int3 stays when the byte
      before the run is a `ret` (C3) or ends a `jmp *%reg` (FF E0..E7): gcc -mharden-sls=all
      (CONFIG_SLS, 6.1 arch/x86/Makefile:207-208) puts that int3 inside the function; when it
      is EB, a `jmp rel8` whose displacement is the CC; and when the two bytes before are 0F B9,
      the `ud1 %esp, %ecx` (0F B9 CC) that ends every static-call trampoline (6.1
      arch/x86/include/asm/static_call.h:28,41);
    - else one gas alignment pad (_gas_pad). A pad that is one 0x90 after EB or a Jcc opcode
      (70..7F) is taken for the displacement of that short jump instead.

    Zero fill is not trimmed: x86 text is filled with int3 and nops, and in data a zero tail
    cannot be told from zero-valued data."""
    if end <= start:
        return end
    last = buf[end - 1]
    if last == 0xCC:
        e = _int3_run_start(buf, start, end)
        if e > start:
            before = buf[e - 1]
            if before == 0xC3 or before == 0xEB or (e - 2 >= start and (
                    (0xE0 <= before <= 0xE7 and buf[e - 2] == 0xFF) or (before == 0xB9 and buf[e - 2] == 0x0F))):
                return e + 1
        return e
    if last != 0x90 and last != 0:
        return end
    pad = _gas_pad(buf, start, end)
    if pad == 1 and end - 2 >= start and (buf[end - 2] == 0xEB or 0x70 <= buf[end - 2] <= 0x7F):
        return end
    return end - pad


def compute_derived_sizes(addresses: Sequence[int], ranges: Sequence[Range], buf: Any | None = None,
                          trim_x86: bool = False) -> DerivedSizes:
    """Each symbol's size: the next higher address within its range (or the range's end), minus
    the padding _trim_x86 recognises at the tail of executable ranges when `trim_x86` and the
    range's bytes are in `buf`. Symbols at one address (aliases) get the same size. Ranges are
    placed by start; a symbol belongs to the first range that holds it, half-open [start, end).
    `addresses` come in kallsyms order (sorted); any other order (a System.map with modules, a
    /proc/kallsyms) is sorted here and the columns come back in the order given."""
    addrs = list(addresses)
    n = len(addrs)
    if not all(map(operator.le, addrs, addrs[1:])):
        order = sorted(range(n), key=addrs.__getitem__)
        inner = compute_derived_sizes(list(map(addrs.__getitem__, order)), ranges, buf, trim_x86)
        back = [0] * n
        for k, i in enumerate(order):
            back[i] = k
        return DerivedSizes(array("Q", map(inner.sizes.__getitem__, back)),
                            array("L", map(inner.shndx.__getitem__, back)),
                            bytes(map(inner.unbounded.__getitem__, back)), inner.trimmed)
    uniq = list(dict.fromkeys(addrs))
    following = dict(zip(uniq, uniq[1:], strict=False))  # the last address has no next
    nextv = list(map(following.get, addrs, repeat(_NO_NEXT)))
    sizes = array("Q", bytes(8 * n))
    shndx = array("L", [SHN_ABS]) * n
    unbounded = bytearray(b"\x01") * n
    trimmed = 0
    done = 0  # symbols below this index are in a range already
    for r in sorted((r for r in ranges if r.end > r.start), key=lambda r: (r.start, r.end)):
        lo = max(bisect.bisect_left(addrs, r.start), done)
        hi = bisect.bisect_left(addrs, r.end)
        if lo >= hi:
            continue
        done = hi
        seg = addrs[lo:hi]
        nv = nextv[lo:hi]
        ends = list(map(min, nv, repeat(r.end)))
        if trim_x86 and buf is not None and r.executable and r.file_offset is not None:
            delta = r.file_offset - r.start  # address + delta = offset in buf
            top = len(buf) - delta  # ends above this are past the buffer: left alone
            cut = list(ends)
            for j, (a, e) in enumerate(zip(seg, ends, strict=True)):
                if e <= top:
                    cut[j] = _trim_x86(buf, a + delta, e + delta) - delta
            trimmed += sum(map(operator.ne, cut, ends))
            ends = cut
        sizes[lo:hi] = array("Q", map(operator.sub, ends, seg))
        shndx[lo:hi] = array("L", [r.index]) * (hi - lo)
        unbounded[lo:hi] = bytes(map(r.end.__lt__, nv))
    return DerivedSizes(sizes, shndx, bytes(unbounded), trimmed)


def ranges_from_sections(sections: Sequence[Any]) -> list[Range]:
    """The ranges of an ELF payload: its allocated, non-empty sections (model.image.Section),
    executable when SHF_EXECINSTR, with no bytes in the buffer when NOBITS."""
    return [Range(s.name, s.address, s.end, s.index, bool(s.flags & SHF_EXECINSTR),
                  None if s.is_nobits else s.offset)
            for s in sections if s.is_alloc and s.size_bytes > 0]


#: Range bounds kallsyms itself names, for a payload without section headers (an arm64 Image).
BOUND_SYMBOLS = (("text", "_stext", "_etext", True), ("inittext", "_sinittext", "_einittext", True),
                 ("rodata", "__start_rodata", "__end_rodata", False), ("data", "_sdata", "_edata", False),
                 ("bss", "__bss_start", "__bss_stop", False), ("percpu", "__per_cpu_start", "__per_cpu_end", False))

"""Synthetic kallsyms tables in the formats older than any tree Debian ships.

Debian has linux-source-6.1 and 6.12 only; both write KALLSYMS_BASE_RELATIVE offsets (6.1 has no
option to turn it off on the arches built here, 6.12 removed absolute addresses). This script
writes the tables the way `scripts/kallsyms.c` write_src() of older kernels did, so the adapter is
checked on them. Source read: the pre-v4.6 write_src() (`#include <asm/types.h>`, `ALGN .align 8/4`)
and the v4.6+ one with base_relative/absolute_percpu, as extracted verbatim into the public
AnghaBench corpus (yebinchon/AnghaBench linux/scripts/extr_kallsyms.c_write_src.c); the tagged
upstream files could not be read here, so functions are cited, not line numbers.

- `v4.4-64be`, `v4.4-64le`, `v4.4-32be`, `v4.4-32le`: absolute addresses (pre-v4.6 write_src()):
  `output_label()` puts `ALGN` (8 bytes for BITS_PER_LONG 64, else 4) before every label;
  `kallsyms_addresses`: one `PTR` per symbol (`_text + off`, or the value for type 'A');
  `kallsyms_num_syms`: `PTR` N; `kallsyms_names`: per symbol `.byte len` then len token codes;
  `kallsyms_markers`: `PTR` offset of every 256th entry; `kallsyms_token_table`: 256 `.asciz`;
  `kallsyms_token_index`: 256 `.short`.
- `v4.6-percpu-64le`: KALLSYMS_BASE_RELATIVE with KALLSYMS_ABSOLUTE_PERCPU (v4.6 write_src()):
  `kallsyms_offsets` one `.long` per symbol: an absolute symbol's value as is (0..INT_MAX), any
  other `relative_base - addr - 1` (INT_MIN..-1); then `kallsyms_relative_base` `PTR` (the lowest
  non-absolute address); num_syms and markers still `PTR` (`.long` since v4.20). Per-cpu symbols
  have type 'A' (make_percpus_absolute() keeps the 'A' override).

The token table is built the way optimize_token_table() does it: codes no name uses are given,
one at a time, to the most frequent adjacent pair of codes, and the pair is replaced in every name.
The symbols themselves are made up (deterministic)
and the list given to the table is written beside it as the oracle: `NAME.syms` ("%x %c %s" per
line, in kallsyms order), the table bytes embedded between filler bytes as `NAME.bin`.

Usage: python3 tools/kallsyms_fixtures/synth.py [OUTDIR]   (default tests/fixtures/kallsyms/synth)
"""

from __future__ import annotations

import random
import struct
import sys
from collections import Counter
from pathlib import Path

FORMATS = {
    # name: (word bytes, endian, base_relative_absolute_percpu)
    "v4.4-64be": (8, ">", False),
    "v4.4-64le": (8, "<", False),
    "v4.4-32be": (4, ">", False),
    "v4.4-32le": (4, "<", False),
    "v4.6-percpu-64le": (8, "<", True),
}

_WORDS = ["init", "sched", "irq", "page", "alloc", "free", "lock", "spin", "mutex", "rcu", "cpu",
          "timer", "work", "queue", "task", "vm", "mm", "fs", "inode", "dentry", "file", "read",
          "write", "open", "close", "net", "dev", "skb", "pci", "dma", "map", "unmap", "get", "put"]


def make_symbols(word: int, percpu: bool, n: int = 1500, seed: int = 4) -> list[tuple[int, str, str]]:
    rnd = random.Random(seed)
    base = 0xFFFFFFFF80000000 if word == 8 else 0xC0000000
    out: list[tuple[int, str, str]] = []
    if percpu:  # per-cpu symbols: small absolute values at the start, as x86_64's are
        off = 0
        for i in range(40):
            # type "A": make_percpus_absolute() (v4.6) overrides the type of per-cpu symbols
            out.append((off, "A", f"pcpu_var{i}_{rnd.choice(_WORDS)}"))
            off += rnd.choice((8, 16, 64, 4096))
    addr = base
    seen = set()
    for i in range(n):
        name = "_".join(rnd.choice(_WORDS) for _ in range(rnd.randint(1, 4))) + str(i % 10)
        if i % 37 == 0:
            name += str(i)  # every digit occurs, so "0".."9" stay one-character tokens
        while name in seen:
            name += "_" + str(rnd.randint(0, 9))
        seen.add(name)
        t = rnd.choice("TTTTtttDdRrBb")
        out.append((addr, t, name))
        addr += rnd.choice((0, 4, 16, 32, 48, 64, 128, 512))
    return out


def compress(names: list[bytes]) -> tuple[list[bytes], list[list[int]]]:
    """optimize_token_table(): every code starts as its own character; unused codes are given to
    the most frequent pair, most frequent first, until codes or pairs run out."""
    tokens: list[bytes | None] = [None] * 256
    data = [list(n) for n in names]
    for n in data:
        for c in n:
            tokens[c] = bytes((c,))
    for code in range(255, -1, -1):
        if tokens[code] is not None:
            continue
        pairs: Counter[tuple[int, int]] = Counter()
        for n in data:
            pairs.update(zip(n, n[1:], strict=False))
        if not pairs:
            break
        (a, b), cnt = pairs.most_common(1)[0]
        if cnt < 2:
            break
        ta, tb = tokens[a], tokens[b]
        assert ta is not None and tb is not None
        tokens[code] = ta + tb
        for k, n in enumerate(data):
            res: list[int] = []
            i = 0
            while i < len(n):
                if i + 1 < len(n) and n[i] == a and n[i + 1] == b:
                    res.append(code)
                    i += 2
                else:
                    res.append(n[i])
                    i += 1
            data[k] = res
    return [t if t is not None else b"" for t in tokens], data


def build(word: int, endian: str, percpu: bool, syms: list[tuple[int, str, str]]) -> bytes:
    ptr = endian + ("Q" if word == 8 else "I")
    out = bytearray()

    def align() -> None:  # ALGN before every label (output_label)
        while len(out) % word:
            out.append(0)

    align()
    if not percpu:
        for addr, _, _ in syms:  # kallsyms_addresses
            out += struct.pack(ptr, addr)
    else:
        relative_base = min(a for a, _, n in syms if not n.startswith("pcpu_"))
        for addr, _, name in syms:  # kallsyms_offsets
            off = addr if name.startswith("pcpu_") else relative_base - 1 - addr
            out += struct.pack(endian + "i", off)
        align()
        out += struct.pack(ptr, relative_base)  # kallsyms_relative_base
    align()
    out += struct.pack(ptr, len(syms))  # kallsyms_num_syms
    align()
    tokens, coded = compress([(t + n).encode() for _, t, n in syms])
    markers = []
    names_start = len(out)
    for i, c in enumerate(coded):  # kallsyms_names
        if i % 256 == 0:
            markers.append(len(out) - names_start)
        assert len(c) < 256
        out.append(len(c))
        out += bytes(c)
    align()
    for m in markers:  # kallsyms_markers
        out += struct.pack(ptr, m)
    align()
    index = []
    table_start = len(out)
    for t in tokens:  # kallsyms_token_table
        index.append(len(out) - table_start)
        out += t + b"\0"
    align()
    for x in index:  # kallsyms_token_index
        out += struct.pack(endian + "H", x)
    return bytes(out)


def main() -> None:
    outdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "tests/fixtures/kallsyms/synth"
    outdir.mkdir(parents=True, exist_ok=True)
    for name, (word, endian, percpu) in FORMATS.items():
        syms = make_symbols(word, percpu)
        if percpu:
            # kallsyms sorts by address; the per-cpu values (small) sort before the rest
            syms.sort(key=lambda s: s[0])
        table = build(word, endian, percpu, syms)
        rnd = random.Random(name)
        head = bytes(rnd.getrandbits(8) for _ in range(4096 - 4096 % word))
        tail = bytes(rnd.getrandbits(8) for _ in range(1000))
        (outdir / f"{name}.bin").write_bytes(head + table + tail)
        with open(outdir / f"{name}.syms", "w") as f:
            for addr, t, n in syms:
                f.write(f"{addr:x} {t} {n}\n")
        print(f"{name}: {len(syms)} symbols, table at {len(head):#x}, {len(table)} bytes")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The CPython floor under `cpualloc inspect --format json --symbols`, against GNU size + nm.

    python bench/floor.py VMLINUX [--runs 5]

The child (`python -S bench/floor.py --child VMLINUX`) does only what any Python program
must do to print nm's sized symbol table as JSON rows, with the stdlib and the fastest
bulk idioms found for cpualloc: map the file, find .symtab/.strtab with struct, copy the
columns out with strided memoryviews, keep the sized defined symbols (a simplified nm
filter), sort by size, decode their names in that order, sort each size's run by name, and
%-format the rows.
No click, no pyelftools, no report, no site-packages (-S): a lower bound, not a
reimplementation. The parent also times importing click and pyelftools' ELF structs (what
the architecture requires on top) and prints floor + imports as the bound for the tool.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Literal


def child(path: str) -> None:
    import mmap
    import operator
    import struct
    from array import array
    from itertools import compress, repeat

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if mm[:4] != b"\x7fELF" or mm[4] != 2 or mm[5] != 1:
            sys.exit("floor.py handles little-endian ELF64 only")
        shoff = struct.unpack_from("<Q", mm, 0x28)[0]
        shnum = struct.unpack_from("<H", mm, 0x3C)[0]
        heads = [struct.unpack_from("<IIQQQQIIQQ", mm, shoff + i * 64) for i in range(shnum)]
        sym = next(h for h in heads if h[1] == 2)
        strsec = heads[sym[6]]
        n = sym[5] // 24
        strtab = mm[strsec[4]:strsec[4] + strsec[5]]
        with memoryview(mm) as whole, whole[sym[4]:sym[4] + n * 24] as raw:
            def col(code: Literal["H", "I", "Q"], start: int, step: int) -> array[int]:
                a = array(code)
                a.frombytes(raw.cast(code)[start::step].tobytes())
                return a
            name_off, values, sizes = col("I", 0, 6), col("Q", 1, 3), col("Q", 2, 3)
            info = raw[4::24].tobytes()
            shndx_lo, shndx_hi = raw[6::24].tobytes(), raw[7::24].tobytes()
    # keep: st_size != 0, not STT_SECTION/STT_FILE, not SHN_UNDEF/SHN_ABS, as big-integer ANDs
    # of per-symbol 0/1 bytes (as cpualloc does it).
    nonzero = sizes.tobytes().translate(bytes([0] + [1] * 255))
    sized = 0
    for b in range(8):
        sized |= int.from_bytes(nonzero[b::8], "little")
    typed = int.from_bytes(info.translate(bytes(0 if i & 0xF in (3, 4) else 1 for i in range(256))), "little")
    nz = bytes([0] + [1] * 255)
    set_ = int.from_bytes(shndx_lo.translate(nz), "little") | int.from_bytes(shndx_hi.translate(nz), "little")
    ordinary = int.from_bytes(shndx_hi.translate(bytes([1] * 255 + [0])), "little")
    defined = set_ & ordinary  # st_shndx != 0 and below 0xff00 (not ABS, COMMON, ...)
    keep = list(compress(range(n), (sized & typed & defined).to_bytes(n, "little")))
    size_of = list(map(sizes.__getitem__, keep))
    by_size = sorted(range(len(keep)), key=size_of.__getitem__)
    keep = list(map(keep.__getitem__, by_size))
    size_of = list(map(size_of.__getitem__, by_size))
    text = strtab.decode("latin-1")
    offs = list(map(name_off.__getitem__, keep))
    names = list(map(text.__getitem__, map(slice, offs, map(text.find, repeat("\0"), offs))))
    pos: list[int] = []
    start = 0
    for end in compress(range(1, len(keep) + 1), map(operator.ne, [*size_of[1:], -1], size_of)):
        pos.extend(sorted(range(start, end), key=names.__getitem__) if end - start > 1 else (start,))
        start = end
    order = list(map(keep.__getitem__, pos))
    rows = "],[".join(map('%d,%d,"T","%s"'.__mod__, zip(
        list(map(values.__getitem__, order)), list(map(sizes.__getitem__, order)),
        list(map(names.__getitem__, pos)), strict=True)))
    sys.stdout.write('{"rows":[[' + rows + "]]}\n")


def best(cmds: list[list[str]], runs: int) -> float:
    out = 1e9
    for _ in range(runs):
        t0 = time.perf_counter()
        for cmd in cmds:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        out = min(out, time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vmlinux")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.vmlinux)
        return
    gnu = [["size", args.vmlinux], ["nm", "-S", "--size-sort", args.vmlinux]]
    bare = [[sys.executable, "-S", "-c", "pass"]]
    floor = [[sys.executable, "-S", os.path.abspath(__file__), "--child", args.vmlinux]]
    best(gnu + floor, 1)  # warm the page cache
    imports = [[sys.executable, "-c", "import click, elftools.elf.structs, elftools.elf.descriptions"]]
    plain = [[sys.executable, "-c", "pass"]]
    g, b, f = best(gnu, args.runs), best(bare, args.runs), best(floor, args.runs)
    extra = max(0.0, best(imports, args.runs) - best(plain, args.runs))
    print(f"GNU size + nm -S --size-sort      : {g:.3f} s")
    print(f"python -S -c pass                 : {b:.3f} s")
    print(f"stdlib-only floor (python -S)     : {f:.3f} s   ratio {f / g:.2f} (goal for cpualloc <= 1.5)")
    print(f"+ importing click and pyelftools  : {extra:.3f} s   floor + imports {f + extra:.3f} s, "
          f"ratio {(f + extra) / g:.2f}")


if __name__ == "__main__":
    main()

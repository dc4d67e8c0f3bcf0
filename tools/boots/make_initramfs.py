#!/usr/bin/env python3
"""Build a tiny initramfs (newc cpio, gzip, reproducible) from Debian's busybox-static: its /init
prints the head of /proc/meminfo (MemTotal) and powers off.

    tools/boots/make_initramfs.py OUT.cpio.gz [--busybox /bin/busybox]
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

INIT = b"""#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox echo CPUALLOC-MEMINFO-BEGIN
/bin/busybox head -n 3 /proc/meminfo
/bin/busybox echo CPUALLOC-BOOT-END
/bin/busybox poweroff -f
"""


def entry(ino: int, name: str, mode: int, data: bytes = b"") -> bytes:
    nm = name.encode() + b"\0"
    head = b"070701" + b"".join(b"%08X" % v for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nm), 0))
    out = head + nm
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--busybox", default="/bin/busybox")
    a = ap.parse_args()
    bb = Path(a.busybox).read_bytes()
    parts = [entry(1, "bin", 0o40755), entry(2, "proc", 0o40755), entry(3, "dev", 0o40755),
             entry(4, "bin/busybox", 0o100755, bb), entry(5, "bin/sh", 0o120777, b"busybox"),
             entry(6, "init", 0o100755, INIT), entry(0, "TRAILER!!!", 0)]
    with gzip.GzipFile(a.out, "wb", mtime=0) as f:
        f.write(b"".join(parts))


if __name__ == "__main__":
    main()

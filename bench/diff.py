#!/usr/bin/env python3
"""Benchmark `cpualloc diff OLD NEW` against Linux's own `scripts/bloat-o-meter OLD NEW` on the
same two images, in the same run (issue: speed at every size of work, "Shows it works": for diff,
cpualloc should be faster than bloat-o-meter; this says by how much).

    python bench/diff.py OLD NEW --srctree LINUX [--runs 5] [--prefix CROSS-]

OLD and NEW are vmlinux files (xz-compressed ones are decompressed once into a scratch folder).
bloat-o-meter runs `nm --size-sort` on each file (6.1 scripts/bloat-o-meter:30-34), so `--prefix`
gives it the cross nm for a foreign arch (its own -p option). The best wall time of each over the
runs is reported, the two alternating so both see the same load. Measured here, never asserted.
"""

from __future__ import annotations

import os as _os
import sys as _sys

_HERE = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _HERE]
_sys.path.append(_HERE)  # after the standard library: bench/inspect.py must not shadow `inspect`

import argparse  # noqa: E402
import lzma  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from benchlib import emit  # noqa: E402


def plain(path: str, scratch: Path, tag: str) -> str:
    if not path.endswith(".xz"):
        return path
    out = scratch / f"{tag}-{Path(path).name[:-3]}"
    with lzma.open(path) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return str(out)


def _label(path: str) -> str:
    p = Path(path)
    return f"{p.parent.name}/{p.name}"


def timed(cmd: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--srctree", required=True, help="a Linux tree (for scripts/bloat-o-meter)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--prefix", default="", help="cross-tool prefix for bloat-o-meter's nm (e.g. sparc64-linux-gnu-)")
    args = ap.parse_args()
    bom = Path(args.srctree) / "scripts" / "bloat-o-meter"
    if not bom.is_file():
        sys.exit(f"{bom}: not found")
    with tempfile.TemporaryDirectory(prefix="cpualloc-bench-diff-") as d:
        scratch = Path(d)
        old, new = plain(args.old, scratch, "old"), plain(args.new, scratch, "new")
        peer = [sys.executable, str(bom), *(["-p", args.prefix] if args.prefix else []), old, new]
        ours = [sys.executable, "-m", "cpualloc_cli", "diff", old, new]
        for cmd in (peer, ours):  # warm the page cache; the exit code of each is checked once
            _, rc = timed(cmd)
            if rc not in (0, 1):  # cpualloc diff exits 1 only for a budget overrun (none given here)
                sys.exit(f"{' '.join(cmd)} exited {rc}")
        best_peer = best_ours = float("inf")
        for _ in range(args.runs):
            best_peer = min(best_peer, timed(peer)[0])
            best_ours = min(best_ours, timed(ours)[0])
    print(f"images: {args.old} -> {args.new}; best of {args.runs}")
    print(f"scripts/bloat-o-meter : {best_peer:.3f} s")
    print(f"cpualloc diff         : {best_ours:.3f} s")
    print(f"ratio cpualloc / bloat-o-meter: {best_ours / best_peer:.2f} "
          f"(cpualloc {'faster' if best_ours < best_peer else 'slower'} by {abs(best_peer - best_ours):.3f} s)")
    emit(f"diff {_label(args.old)} -> {_label(args.new)}", best_ours, "scripts/bloat-o-meter", best_peer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

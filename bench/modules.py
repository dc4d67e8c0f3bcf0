#!/usr/bin/env python3
"""Benchmark `cpualloc inspect --format json --symbols` over many modules against GNU `size`
plus `nm -S --size-sort` over the same files, at several file counts, to show the JSON
document is built in linear time (issue 18: one str.replace per file made it quadratic).

    python bench/modules.py DIR [--counts 250,1000,2000,all] [--runs 1]

DIR is searched for *.ko files (sorted by path). Real modules: Debian's
linux-image-6.1.0-*-amd64-unsigned package holds 4,022 of them uncompressed
(`apt-get download linux-image-6.1.0-50-amd64-unsigned && dpkg-deb -x *.deb DIR`).
For each count it prints the best wall time of each tool, the ratio cpualloc / GNU, and the
time per file: linear time shows as a flat ms/file column.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

from benchlib import CHILD_ENV, emit, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--counts", default="250,1000,2000,all")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--cpualloc", default=f"{sys.executable} -m cpualloc_cli")
    ap.add_argument("--size", default="size")
    ap.add_argument("--nm", default="nm")
    args = ap.parse_args()
    files = sorted(str(p) for p in Path(args.dir).rglob("*.ko"))
    if not files:
        sys.exit(f"no *.ko files under {args.dir}")
    counts = [len(files) if c == "all" else min(int(c), len(files)) for c in args.counts.split(",")]
    tool = shlex.split(args.cpualloc)
    print(f"{len(files)} modules under {args.dir}; best of {args.runs} run(s)")
    print(f"{'files':>6}  {'GNU s':>8}  {'cpualloc s':>10}  {'ratio':>6}  {'cpualloc ms/file':>16}  "
          f"{'size s':>7}  {'check s':>8}  {'check/size':>10}")
    for n in counts:
        chosen = files[:n]
        gnu = [[args.size, *chosen], [args.nm, "-S", "--size-sort", *chosen]]
        size_only = [[args.size, *chosen]]
        ours = [[*tool, "inspect", "--format", "json", "--symbols", *chosen]]
        # every module against the limits for modules (module.percpu-reserve), one process
        check = [[*tool, "check", "--kernel-version", "6.1", "--format", "json", *chosen]]
        g = c = s = k = 1e9
        peak = kpeak = 0
        for _ in range(args.runs):
            g = min(g, run(gnu)[0])
            s = min(s, run(size_only)[0])
            wall, _, rss = run(ours)
            c, peak = min(c, wall), max(peak, rss)
            wall, _, rss = run(check)
            k, kpeak = min(k, wall), max(kpeak, rss)
        print(f"{n:>6}  {g:>8.2f}  {c:>10.2f}  {c / g:>6.2f}  {1000 * c / n:>16.2f}  {s:>7.2f}  {k:>8.2f}  {k / s:>10.2f}",
              flush=True)
        emit(f"inspect --format json --symbols, {n} .ko", c, "GNU size + nm -S --size-sort", g, peak_rss_mb=peak / 1024)
        emit(f"inspect --format json --symbols, {n} .ko (vs size)", c, "GNU size", s, peak_rss_mb=peak / 1024,
             note="goal <= 1.5")
        emit(f"check --format json, {n} .ko", k, "GNU size", s, peak_rss_mb=kpeak / 1024, note="goal <= 1.5")
    print(f"machine load average: {os.getloadavg()[0]:.2f}")
    shutil.rmtree(CHILD_ENV["PYTHONPYCACHEPREFIX"], ignore_errors=True)


if __name__ == "__main__":
    main()

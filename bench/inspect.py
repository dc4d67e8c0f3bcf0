#!/usr/bin/env python3
"""Benchmark `cpualloc inspect --format json --symbols VMLINUX` against GNU `size` plus
`nm -S --size-sort` on the same file, in the same run.

    python bench/inspect.py VMLINUX [--runs 5] [--cpualloc "python -m cpualloc_cli"]

Prints the best (minimum) wall and CPU time of each over the runs, alternating the two so
that both see the same machine load, the ratio cpualloc / GNU, cpualloc's peak RSS, and the
time of `cpualloc --help`. Goals (issue 2): ratio <= 1.5, peak RSS <= 200 MB, --help <= 0.25 s.
Bytecode is cached for the children (in a private directory), as it is for an installed package.
A large real image: the vmlinux in Debian's linux-image-*-amd64-dbg package.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys

from benchlib import CHILD_ENV, emit, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vmlinux")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cpualloc", default=f"{sys.executable} -m cpualloc_cli")
    ap.add_argument("--size", default="size")
    ap.add_argument("--nm", default="nm")
    args = ap.parse_args()
    tool = shlex.split(args.cpualloc)
    gnu = [[args.size, args.vmlinux], [args.nm, "-S", "--size-sort", args.vmlinux]]
    ours = [[*tool, "inspect", "--format", "json", "--symbols", args.vmlinux]]
    help_cmd = [[*tool, "--help"]]

    best = {"gnu": [1e9, 1e9, 0], "cpualloc": [1e9, 1e9, 0], "help": [1e9, 1e9, 0]}
    run(gnu), run(ours)  # warm the page cache
    for _ in range(args.runs):
        for key, cmds in (("gnu", gnu), ("cpualloc", ours), ("help", help_cmd)):
            wall, cpu, peak = run(cmds)
            b = best[key]
            b[0], b[1], b[2] = min(b[0], wall), min(b[1], cpu), max(b[2], peak)

    size_mb = os.path.getsize(args.vmlinux) / 1e6
    print(f"image: {args.vmlinux} ({size_mb:.0f} MB), {args.runs} runs, best of each")
    print(f"GNU size + nm -S --size-sort : wall {best['gnu'][0]:.3f} s  cpu {best['gnu'][1]:.3f} s")
    print(f"cpualloc inspect --json --symbols: wall {best['cpualloc'][0]:.3f} s  cpu {best['cpualloc'][1]:.3f} s  "
          f"peak RSS {best['cpualloc'][2] / 1024:.1f} MB")
    print(f"ratio (cpualloc / GNU)       : wall {best['cpualloc'][0] / best['gnu'][0]:.2f}  "
          f"cpu {best['cpualloc'][1] / best['gnu'][1]:.2f}   (goal <= 1.5)")
    print(f"cpualloc --help              : wall {best['help'][0]:.3f} s   (goal <= 0.25 s)")
    print(f"machine load average         : {os.getloadavg()[0]:.2f}")
    print("(bytecode cached as in an installed package; `python bench/floor.py VMLINUX` measures the "
          "stdlib-only CPython floor under the same job)")
    emit(f"inspect --format json --symbols ({size_mb:.0f} MB vmlinux)", best["cpualloc"][0], "GNU size + nm -S --size-sort",
         best["gnu"][0], peak_rss_mb=best["cpualloc"][2] / 1024, note="goal <= 1.5")
    emit("cpualloc --help", best["help"][0], "goal 0.25 s", 0.25)
    shutil.rmtree(CHILD_ENV["PYTHONPYCACHEPREFIX"], ignore_errors=True)


if __name__ == "__main__":
    main()

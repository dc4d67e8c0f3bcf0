#!/usr/bin/env python3
"""Benchmark `cpualloc inspect --format json --symbols VMLINUX` against GNU `size` plus
`nm -S --size-sort` on the same file, in the same run.

    python bench/inspect.py VMLINUX [--runs 5] [--cpualloc "python -m cpualloc_cli"]

Prints the median and the best (minimum) wall and CPU time of each over the runs, alternating
the two so that both see the same machine load, the ratio cpualloc / GNU, cpualloc's peak RSS,
the time of `cpualloc --help`, and which symbol path (compiled or pure Python) is in use.
Goals (issues 2 and 14): ratio <= 1.5 (medians), peak RSS <= 200 MB, --help <= 0.25 s.
Bytecode is cached for the children (in a private directory), as it is for an installed package.
A large real image: the vmlinux in Debian's linux-image-*-amd64-dbg package.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
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

    times: dict[str, list[tuple[float, float]]] = {"gnu": [], "cpualloc": [], "help": []}
    peak: dict[str, int] = {"gnu": 0, "cpualloc": 0, "help": 0}
    run(gnu), run(ours)  # warm the page cache
    for _ in range(args.runs):
        for key, cmds in (("gnu", gnu), ("cpualloc", ours), ("help", help_cmd)):
            wall, cpu, rss = run(cmds)
            times[key].append((wall, cpu))
            peak[key] = max(peak[key], rss)

    def pick(key: str, col: int, how: str) -> float:
        values = [t[col] for t in times[key]]
        return min(values) if how == "best" else statistics.median(values)

    size_mb = os.path.getsize(args.vmlinux) / 1e6
    version = subprocess.run([*tool, "--version"], capture_output=True, text=True, env=CHILD_ENV).stdout.strip()
    print(f"image: {args.vmlinux} ({size_mb:.0f} MB), {args.runs} runs; {version}")
    for how in ("median", "best"):
        g_wall, g_cpu = pick("gnu", 0, how), pick("gnu", 1, how)
        c_wall, c_cpu = pick("cpualloc", 0, how), pick("cpualloc", 1, how)
        print(f"-- {how} of {args.runs}")
        print(f"GNU size + nm -S --size-sort : wall {g_wall:.3f} s  cpu {g_cpu:.3f} s")
        print(f"cpualloc inspect --json --symbols: wall {c_wall:.3f} s  cpu {c_cpu:.3f} s")
        print(f"ratio (cpualloc / GNU)       : wall {c_wall / g_wall:.2f}  cpu {c_cpu / g_cpu:.2f}   (goal <= 1.5)")
        print(f"cpualloc --help              : wall {pick('help', 0, how):.3f} s   (goal <= 0.25 s)")
    print(f"cpualloc peak RSS            : {peak['cpualloc'] / 1024:.1f} MB")
    print(f"machine load average         : {os.getloadavg()[0]:.2f}")
    print("(bytecode cached as in an installed package; `python bench/floor.py VMLINUX` measures the "
          "stdlib-only CPython floor under the same job)")
    emit(f"inspect --format json --symbols ({size_mb:.0f} MB vmlinux)", pick("cpualloc", 0, "median"),
         "GNU size + nm -S --size-sort", pick("gnu", 0, "median"), peak_rss_mb=peak["cpualloc"] / 1024,
         note="goal <= 1.5 (medians)")
    emit("cpualloc --help", pick("help", 0, "median"), "goal 0.25 s", 0.25)
    shutil.rmtree(CHILD_ENV["PYTHONPYCACHEPREFIX"], ignore_errors=True)


if __name__ == "__main__":
    main()

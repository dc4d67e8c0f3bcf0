#!/usr/bin/env python3
"""Time a full NR_CPUS sweep, 2..8192, all four designs, with limits (so every value is
evaluated). Target: <= 1 s. Prints wall and CPU time of the analysis (no CLI start-up).

    .venv/bin/python bench/sweep.py [--repeat N]
"""

from __future__ import annotations

import os as _os
import sys as _sys

# Run as `python bench/NAME.py`, this folder is sys.path[0], where bench/inspect.py (the name
# the issue gives it) would shadow the standard library's inspect module.
_HERE = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _HERE]
_sys.path.append(_HERE)  # after the standard library, for benchlib

import argparse  # noqa: E402
import time  # noqa: E402

from benchlib import emit  # noqa: E402

from cpualloc_cli.analysis.sweep import compute_sweep, default_points  # noqa: E402
from cpualloc_cli.model.footprint import Design, FootprintInputs  # noqa: E402
from cpualloc_cli.model.measures import Measure  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    base = FootprintInputs(arch="x86_64", kernel_version=(6, 1), bits=64, page_size=4096, nr_cpus=64,
                           possible_cpus=64, cpu_area_order=6, alloc_order=0, percpu_static_bytes=126_424,
                           base_bss_bytes=1_000_000, base_extent_bytes=6_000_000)
    limits = [(Measure.IMAGE_EXTENT, 8 << 20), (Measure.ADDRESS_SPACE, 1 << 30), (Measure.PERCPU_RESIDENT, 256 << 20)]
    best_wall = best_cpu = float("inf")
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        r = compute_sweep(base, "NR_CPUS", 2, 8192, default_points(2, 8192), list(Design), limits)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"sweep 2..8192, {len(Design)} designs, {len(limits)} limits: {r.evaluated} values each")
    print(f"best of {args.repeat}: wall {best_wall:.3f} s, cpu {best_cpu:.3f} s (target <= 1 s)")
    emit(f"sweep 2..8192, {len(Design)} designs (analysis only)", best_wall, "goal 1 s", 1.0)
    for f in r.fits:
        print(f"  {f.design.value:8} {f.measure.value:16} largest fitting {f.largest_fitting}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Time `sweep --scale-from` over NR_CPUS 2..8192 (issue: speed at every size of work, item 3),
side by side with the exact Fraction path it replaced (compute_predictions_at at every value),
which stays the oracle. Target: the whole sweep <= 1 s.

    .venv/bin/python bench/sweep_scale.py VMLINUX@N VMLINUX@M [--to 8192]

e.g. with the ../shared pair: xz -dk ../shared/kernels/sparc64-tiny-nr{64,256}/vmlinux.xz, then
    bench/sweep_scale.py nr64/vmlinux@64 nr256/vmlinux@256
"""

from __future__ import annotations

import os as _os
import sys as _sys

_HERE = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _HERE]
_sys.path.append(_HERE)  # after the standard library, for benchlib

import argparse  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

from benchlib import emit  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("images", nargs=2, metavar="IMAGE@N")
    ap.add_argument("--to", type=int, default=8192)
    args = ap.parse_args()
    from cpualloc_cli.analysis.scale import central_predictor, compute_predictions_at, compute_scale
    from cpualloc_cli.cli.scale_cmd import load_scale_points

    points, _, _, _ = load_scale_points(args.images, "NR_CPUS")
    report = compute_scale(points, max(p.n for p in points))
    values = range(2, args.to + 1)
    t0 = time.perf_counter()
    fast = central_predictor(report)
    got = [fast(n) for n in values]
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = [{p.measure: p.predicted_bytes for p in compute_predictions_at(report, n)} for n in values]
    t_exact = time.perf_counter() - t0
    assert got == exact, "closed form and Fraction path disagree"
    t0 = time.perf_counter()
    proc = subprocess.run([_sys.executable, "-m", "cpualloc_cli", "sweep", "--arch", "sparc64", "--from", "2", "--to",
                           str(args.to), "--format", "json", *[a for img in args.images for a in ("--scale-from", img)]],
                          capture_output=True, text=True)
    t_cli = time.perf_counter() - t0
    print(f"{'work':44} {'seconds':>8}")
    print(f"{'closed form, 2..' + str(args.to):44} {t_fast:8.3f}")
    print(f"{'Fraction path (oracle), 2..' + str(args.to):44} {t_exact:8.3f}")
    print(f"{'ratio (closed form / Fraction)':44} {t_fast / t_exact:8.4f}")
    print(f"{'whole CLI sweep --scale-from (rc ' + str(proc.returncode) + ')':44} {t_cli:8.3f}")
    emit(f"sweep --scale-from 2..{args.to} (closed form)", t_fast, "Fraction path (the oracle)", t_exact)
    emit(f"sweep --scale-from 2..{args.to}, whole CLI", t_cli, "goal 1 s", 1.0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark: resolving a real tree's configuration with cpualloc (kconfiglib, cold parse and
warm cache) against C conf (`make olddefconfig`).

    python bench/config.py --srctree /path/to/linux-source-6.1 [--config FILE] [--arch x86_64] [--runs 3]

Cold = empty cache (a fresh XDG_CACHE_HOME), warm = second and later runs on the same tree.
conf is run as `make -s O=<scratch> ARCH=... olddefconfig` after one untimed run that builds
scripts/kconfig/conf, so only the configuration step is timed. Each cpualloc run is a separate
`python -m cpualloc_cli config --write-config` process, as a user would run it.
Speed is measured here, never asserted in tests.
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
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from benchlib import emit  # noqa: E402

ARCH_MAKE = {"x86_64": ("x86_64", ""), "sparc64": ("sparc64", "sparc64-linux-gnu-"), "arm64": ("arm64", "aarch64-linux-gnu-")}


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--srctree", required=True)
    ap.add_argument("--config", default=None, help="input .config (default: none, i.e. defaults)")
    ap.add_argument("--arch", default="x86_64", choices=sorted(ARCH_MAKE))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    make_arch, cross = ARCH_MAKE[args.arch]

    with tempfile.TemporaryDirectory(prefix="cpualloc-bench-") as scratch:
        work = Path(scratch)
        objdir = work / "o"
        objdir.mkdir()
        cfg = work / "input.config"
        if args.config:
            shutil.copy(args.config, cfg)
        else:
            cfg.write_text("")

        def make_olddefconfig() -> float:
            shutil.copy(cfg, objdir / ".config")
            return timed(["make", "-s", "-C", args.srctree, f"O={objdir}", f"ARCH={make_arch}",
                          f"CROSS_COMPILE={cross}", "olddefconfig"])

        make_olddefconfig()  # builds scripts/kconfig/conf once
        conf_times = [make_olddefconfig() for _ in range(args.runs)]

        cache = work / "cache"
        env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
        cmd = [sys.executable, "-m", "cpualloc_cli", "config", "--srctree", args.srctree, "--arch", args.arch,
               "--write-config", str(work / "out.config"), "--format", "json"]  # (stdout goes to DEVNULL)
        if args.config:
            cmd += ["--config", str(cfg)]
        cold = []
        for _ in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(timed(cmd, env))
        timed(cmd, env)  # fill the cache
        warm = [timed(cmd, env) for _ in range(args.runs)]

    def fmt(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, n={len(xs)})"

    print(f"tree: {args.srctree}  arch: {args.arch}  config: {args.config or '(defaults)'}")
    print(f"make olddefconfig (C conf):      {fmt(conf_times)}")
    print(f"cpualloc config, cold (no cache): {fmt(cold)}")
    print(f"cpualloc config, warm (cached):   {fmt(warm)}")
    conf = statistics.median(conf_times)
    emit(f"config {args.arch}, cold (no cache)", statistics.median(cold), "make olddefconfig", conf, note="goal <= 1.0")
    emit(f"config {args.arch}, second run (cached)", statistics.median(warm), "goal 0.5 s", 0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

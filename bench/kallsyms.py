#!/usr/bin/env python3
"""Time cpualloc's kallsyms decode on a vmlinuz, side by side with vmlinux-to-elf on the same
file (issue 16 item 5: at most 0.5 s for Debian's 6.1 amd64 vmlinuz, about 94,000 entries).

    .venv/bin/python bench/kallsyms.py VMLINUZ [--vmlinux DBG_VMLINUX] [--runs 5] [--venv DIR]

The vmlinuz is decompressed once with cpualloc's loader (timed, not counted); then, best of
--runs, find_kallsyms on the payload (wall and CPU time) and compute_derived_sizes with the x86
trim. vmlinux-to-elf (PyPI, never a cpualloc dependency) is installed with pip into a
temporary venv (or the one --venv names) and run as its own two commands: `kallsyms-finder` on
the same decompressed payload (its decoder alone, the comparable work; best of --v2e-runs) and
`vmlinux-to-elf VMLINUZ OUT` (its whole job: decompress, decode, write an ELF; once). Without
network or PyPI it is skipped with the reason.

With --vmlinux (the vmlinux of the matching -dbg package) every listing is checked against GNU
`nm -n` of it, filtered by the rules scripts/kallsyms applies (tests/test_kallsyms_formats.py
kept_by_kallsyms, with per-cpu symbols typed 'A' as tests/test_kallsyms_debian.py does):
agreement on (address, type, name) and on (address, name), as multisets.
Debian: apt-get download linux-image-6.1.0-50-amd64 linux-image-6.1.0-50-amd64-dbg.
"""

from __future__ import annotations

import os as _os
import sys as _sys

_HERE = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _HERE]
_sys.path.append(_HERE)  # after the standard library, for benchlib

import argparse  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import venv  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchlib import emit  # noqa: E402

REPO = Path(_HERE).parent
Row = tuple[int, str, str]


def best_of(runs: int, fn: Any) -> tuple[float, float, Any]:
    """(best wall s, best CPU s, last result) of `runs` calls."""
    wall, cpu, got = 1e9, 1e9, None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        got = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu, got


def timed_child(cmd: list[str], out: Path | None = None) -> tuple[float, float, int, str]:
    """(wall s, user+sys s of the child from RUSAGE_CHILDREN, exit code, stderr tail); the
    child's stdout goes to `out` or is discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(out, "wb") if out else open(_os.devnull, "wb") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode, proc.stderr.decode(errors="replace").strip()[-400:]


def listing(path: Path) -> list[Row]:
    """`ADDRESS TYPE NAME` lines (kallsyms-finder's output, nm -n's) as rows; others skipped."""
    rows: list[Row] = []
    for line in path.read_text(errors="replace").splitlines():
        f = line.split()
        if len(f) == 3:
            try:
                rows.append((int(f[0], 16), f[1], f[2]))
            except ValueError:
                continue
    return rows


def oracle(vmlinux: str, nm: str) -> list[Row]:
    """nm -n of the -dbg vmlinux, kept as scripts/kallsyms keeps it, per-cpu symbols typed 'A'."""
    _sys.path.insert(0, str(REPO / "tests"))
    from test_kallsyms_debian import percpu_absolute  # type: ignore[import-not-found]
    from test_kallsyms_formats import kept_by_kallsyms  # type: ignore[import-not-found]

    text = subprocess.run([nm, "-n", vmlinux], check=True, capture_output=True, text=True).stdout
    rows: list[Row] = percpu_absolute(kept_by_kallsyms(text, True, "6.1"))
    return rows


def agreement(got: list[Row], want: list[Row] | None) -> str:
    if want is None:
        return "-"
    full = sum((Counter(got) & Counter(want)).values())
    named = sum((Counter((a, n) for a, _, n in got) & Counter((a, n) for a, _, n in want)).values())
    return f"{full} ({100 * full / len(want):.3f} %) / {named} ({100 * named / len(want):.3f} %)"


def install_vmlinux_to_elf(where: Path) -> tuple[Path | None, str]:
    """A venv with vmlinux-to-elf at `where` (made and pip-installed unless it has it already);
    (its bin directory, "") or (None, why not)."""
    bindir = where / "bin"
    if (bindir / "kallsyms-finder").exists() and (bindir / "vmlinux-to-elf").exists():
        return bindir, ""
    try:
        venv.EnvBuilder(with_pip=True, clear=False).create(where)
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"could not make a venv: {exc}"
    proc = subprocess.run([str(bindir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "vmlinux-to-elf"], capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0 or not (bindir / "kallsyms-finder").exists():
        return None, "pip install vmlinux-to-elf failed (no network or not on PyPI): " + proc.stderr.strip()[-300:]
    return bindir, ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vmlinuz")
    ap.add_argument("--vmlinux", help="the matching -dbg vmlinux, for agreement with GNU nm")
    ap.add_argument("--runs", type=int, default=5, help="best of N for cpualloc (default 5)")
    ap.add_argument("--v2e-runs", type=int, default=1, help="best of N for kallsyms-finder (default 1)")
    ap.add_argument("--venv", help="a venv to install vmlinux-to-elf into and keep (default: a temporary one)")
    ap.add_argument("--no-vmlinux-to-elf", action="store_true", help="time cpualloc only")
    ap.add_argument("--nm", default="nm")
    args = ap.parse_args()

    from cpualloc_cli.adapters.image import load_any
    from cpualloc_cli.adapters.kallsyms import compute_derived_sizes, find_kallsyms, ranges_from_sections

    t0 = time.perf_counter()
    loaded = load_any(args.vmlinuz)
    t_load = time.perf_counter() - t0
    data = getattr(loaded.payload, "data", None)
    if data is None:
        _sys.exit(f"{args.vmlinuz}: no decompressed payload ({loaded.source})")
    wall, cpu, k = best_of(args.runs, lambda: find_kallsyms(data, args.vmlinuz))
    if k is None:
        _sys.exit(f"{args.vmlinuz}: no kallsyms found")
    ranges = ranges_from_sections(loaded.elf.sections) if loaded.elf is not None else []
    s_wall, s_cpu, sizes = best_of(args.runs, lambda: compute_derived_sizes(k.addresses, ranges, data, trim_x86=True))
    ours = list(zip(k.addresses, k.types, k.names(), strict=True))
    want = oracle(args.vmlinux, args.nm) if args.vmlinux else None

    rows = [("cpualloc find_kallsyms (payload)", len(ours), agreement(ours, want), wall, cpu),
            ("cpualloc compute_derived_sizes (+x86 trim)", len(ours), "-", s_wall, s_cpu)]
    notes: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="cpualloc-bench-kallsyms-"))
    try:
        bindir: Path | None = None
        if args.no_vmlinux_to_elf:
            notes.append("vmlinux-to-elf: not run (--no-vmlinux-to-elf)")
        else:
            bindir, why = install_vmlinux_to_elf(Path(args.venv) if args.venv else tmp / "venv")
            if bindir is None:
                notes.append(f"vmlinux-to-elf: skipped: {why}")
        if bindir is not None:
            version = subprocess.run([str(bindir / "python"), "-m", "pip", "show", "vmlinux-to-elf"],
                                     capture_output=True, text=True, check=False).stdout
            ver = next((line.split(":", 1)[1].strip() for line in version.splitlines() if line.startswith("Version:")), "?")
            payload = tmp / "payload.bin"
            payload.write_bytes(bytes(data))
            listed = tmp / "kallsyms-finder.txt"
            kf_wall, kf_cpu, rc, err = 1e9, 1e9, 0, ""
            for _ in range(args.v2e_runs):
                w, c, rc, err = timed_child([str(bindir / "kallsyms-finder"), str(payload)], listed)
                kf_wall, kf_cpu = min(kf_wall, w), min(kf_cpu, c)
            theirs = listing(listed) if rc == 0 else []
            rows.append((f"vmlinux-to-elf {ver} kallsyms-finder (payload)", len(theirs),
                         agreement(theirs, want) if rc == 0 else f"exit {rc}: {err}", kf_wall, kf_cpu))
            elf_out = tmp / "out.elf"
            w, c, rc, err = timed_child([str(bindir / "vmlinux-to-elf"), args.vmlinuz, str(elf_out)])
            elf_rows = []
            if rc == 0:
                nm_out = tmp / "out.nm"
                subprocess.run([args.nm, "-n", str(elf_out)], stdout=nm_out.open("wb"), check=False)
                elf_rows = listing(nm_out)
            rows.append((f"vmlinux-to-elf {ver} (vmlinuz -> ELF, whole job)", len(elf_rows),
                         (agreement(elf_rows, want).split(" / ")[-1] + " on (address, name) via nm")
                         if rc == 0 and want is not None else ("-" if rc == 0 else f"exit {rc}: {err}"), w, c))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"image: {args.vmlinuz} ({_os.path.getsize(args.vmlinuz) / 1e6:.1f} MB, {loaded.source}); "
          f"payload {len(data) / 1e6:.1f} MB, decompressed by cpualloc in {t_load:.2f} s (not counted)")
    print(f"{k.describe()}; derived sizes: {sum(sizes.unbounded)} unbounded, {sizes.trimmed} trimmed")
    if want is not None:
        print(f"oracle: GNU nm -n {args.vmlinux}, kept by scripts/kallsyms rules: {len(want)} entries")
    print(f"cpualloc best of {args.runs}; goal (issue 16 item 5): decode <= 0.5 s")
    head = f"{'tool':52} {'entries':>8}  {'agree with nm: (addr, type, name) / (addr, name)':50} {'wall s':>7} {'cpu s':>7}"
    print(head)
    print("-" * len(head))
    for name, n, agree, w, c in rows:
        print(f"{name:52} {n:8d}  {agree:50} {w:7.3f} {c:7.3f}")
    for note in notes:
        print(note)
    print(f"machine: {_os.cpu_count()} cores, load average {_os.getloadavg()[0]:.2f} (wall time includes waiting for a core)")
    ours = rows[0]
    peer = next((r for r in rows if "kallsyms-finder" in r[0]), None)
    emit(f"kallsyms decode, {ours[1]} entries (after decompression)", ours[3],
         "vmlinux-to-elf kallsyms-finder" if peer else "goal 0.5 s", peer[3] if peer else 0.5, note="goal <= 0.5 s")


if __name__ == "__main__":
    main()

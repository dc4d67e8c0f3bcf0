#!/usr/bin/env python3
"""Run every bench whose inputs are on this machine and print one table: work, cpualloc, peer,
ratio, peak RSS (issue: speed at every size of work, item 6).

    python bench/all.py [--runs N] [--markdown]

Inputs are found the way the tests find them: $CPUALLOC_DEBIAN_DBG_VMLINUX (Debian's 633 MB debug
vmlinux: inspect, diff, kallsyms), $CPUALLOC_DEBIAN_KERNEL_DIR (the linux-image package root: its
modules and config, and its vmlinuz for kallsyms), $CPUALLOC_LINUX_6_1 (a Linux tree: config,
bloat-o-meter), and ../shared/kernels beside the repository (the sparc64 NR_CPUS pair: diff,
sweep --scale-from). A bench whose input is missing is listed as skipped with what it needs; a
bench that fails is listed with its error. Each bench still prints its own detail; this script
reads only their `BENCH-ROW` lines (bench/benchlib.py). `--markdown` prints the table as it goes
into the README, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import datetime
import lzma
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import parse

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "kernels"


def env_path(name: str) -> Path | None:
    v = os.environ.get(name)
    return Path(v) if v and Path(v).exists() else None


def plan(runs: int, scratch: Path) -> list[tuple[str, list[str] | None, str]]:
    """(name, argv or None when skipped, what it needs)."""
    py = sys.executable
    dbg = env_path("CPUALLOC_DEBIAN_DBG_VMLINUX")
    deb = env_path("CPUALLOC_DEBIAN_KERNEL_DIR")
    tree = env_path("CPUALLOC_LINUX_6_1")
    out: list[tuple[str, list[str] | None, str]] = []
    out.append(("inspect", [py, str(HERE / "inspect.py"), str(dbg), "--runs", str(runs)] if dbg else None,
                "$CPUALLOC_DEBIAN_DBG_VMLINUX"))
    mods = deb / "lib" / "modules" if deb else None
    out.append(("modules", [py, str(HERE / "modules.py"), str(mods), "--counts", "all"] if mods and mods.is_dir() else None,
                "$CPUALLOC_DEBIAN_KERNEL_DIR with lib/modules"))
    configs = sorted((deb / "boot").glob("config-*")) if deb else []
    out.append(("config", [py, str(HERE / "config.py"), "--srctree", str(tree), "--config", str(configs[0]),
                           "--runs", str(runs)] if tree and configs else None,
                "$CPUALLOC_LINUX_6_1 and $CPUALLOC_DEBIAN_KERNEL_DIR/boot/config-*"))
    out.append(("sweep", [py, str(HERE / "sweep.py"), "--repeat", str(runs)], ""))
    pair = [SHARED / f"sparc64-tiny-nr{n}" / "vmlinux.xz" for n in (64, 256)]
    if all(p.is_file() for p in pair):
        plain = []
        for p, n in zip(pair, (64, 256), strict=True):
            dst = scratch / f"sparc64-tiny-nr{n}.vmlinux"
            with lzma.open(p) as src, open(dst, "wb") as f:
                shutil.copyfileobj(src, f)
            plain.append((dst, n))
        out.append(("sweep --scale-from", [py, str(HERE / "sweep_scale.py"), *(f"{d}@{n}" for d, n in plain)], ""))
        out.append(("diff (small)", [py, str(HERE / "diff.py"), str(plain[0][0]), str(plain[1][0]), "--srctree", str(tree),
                                     "--prefix", "sparc64-linux-gnu-", "--runs", str(runs)]
                    if tree and shutil.which("sparc64-linux-gnu-nm") else None,
                    "$CPUALLOC_LINUX_6_1 and sparc64-linux-gnu-nm"))
    else:
        out.append(("sweep --scale-from", None, "../shared/kernels/sparc64-tiny-nr{64,256}"))
    out.append(("diff (large)", [py, str(HERE / "diff.py"), str(dbg), str(dbg), "--srctree", str(tree),
                                 "--runs", str(max(1, runs // 2))] if dbg and tree else None,
                "$CPUALLOC_DEBIAN_DBG_VMLINUX and $CPUALLOC_LINUX_6_1"))
    vmlinuz = sorted((deb / "boot").glob("vmlinuz-*")) if deb else []
    out.append(("kallsyms", [py, str(HERE / "kallsyms.py"), str(vmlinuz[0]), *(["--vmlinux", str(dbg)] if dbg else []),
                             "--runs", str(runs)] if vmlinuz else None, "$CPUALLOC_DEBIAN_KERNEL_DIR/boot/vmlinuz-*"))
    return out


def fmt(v: object, spec: str) -> str:
    return "" if v is None else format(v, spec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="cpualloc-bench-all-") as d:
        for name, argv, needs in plan(args.runs, Path(d)):
            if argv is None:
                rows.append({"work": name, "note": f"skipped: needs {needs}"})
                continue
            print(f"[bench/all] {name}: {' '.join(argv[1:3])} ...", file=sys.stderr, flush=True)
            proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
            got = parse(proc.stdout)
            if proc.returncode != 0 or not got:
                tail = (proc.stderr.strip().splitlines() or ["no BENCH-ROW lines"])[-1]
                rows.append({"work": name, "note": f"failed (exit {proc.returncode}): {tail[:120]}"})
            rows.extend(got)
    head = ("work", "cpualloc s", "peer", "peer s", "ratio", "peak RSS MB", "note")
    table = [(str(r["work"]), fmt(r.get("cpualloc_s"), ".3f"), str(r.get("peer") or ""), fmt(r.get("peer_s"), ".3f"),
              fmt(r.get("ratio"), ".2f"), fmt(r.get("peak_rss_mb"), ".0f"), str(r.get("note") or "")) for r in rows]
    if args.markdown:
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").is_file() else ""
        print(f"Measured {datetime.date.today().isoformat()} on {os.cpu_count()} cores ({cpu}), "
              f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}:\n")
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for t in table:
            print("| " + " | ".join(c.replace("|", "\\|") for c in t) + " |")
    else:
        widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
        print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        for t in table:
            print("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

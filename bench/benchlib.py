"""What the benches share: running timed child commands, and one machine-readable line per
measured row, for bench/all.py to collect.

Every bench prints its own human table; it also calls `emit()` once per row it measured, which
prints `BENCH-ROW {json}` on stdout. bench/all.py runs the benches and reads those lines only.
Fields: work (what was timed), cpualloc_s, peer (the tool it is compared with, or the goal),
peer_s, ratio (cpualloc / peer), peak_rss_mb (cpualloc's, where measured), note.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

PREFIX = "BENCH-ROW "

# An installed package has its bytecode compiled (pip does it at install time). An editable
# checkout under PYTHONDONTWRITEBYTECODE=1 would recompile every module on every run, so the
# children write and read their bytecode under a private cache directory instead (the caller
# removes it when done).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="cpualloc-bench-pycache-")


def run(cmds: list[list[str]]) -> tuple[float, float, int]:
    """Run commands one after another (each must exit 0); return (wall s, user+sys s, max peak RSS KiB)."""
    wall = cpu = 0.0
    peak = 0
    for cmd in cmds:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=CHILD_ENV)
        _, status, ru = os.wait4(proc.pid, 0)
        wall += time.perf_counter() - t0
        cpu += ru.ru_utime + ru.ru_stime
        peak = max(peak, ru.ru_maxrss)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err = proc.stderr.read().decode() if proc.stderr else ""
            sys.exit(f"{shlex.join(cmd[:4])} ... exited {code}: {err.strip()[:500]}")
    return wall, cpu, peak


def emit(work: str, cpualloc_s: float, peer: str, peer_s: float | None, *, peak_rss_mb: float | None = None,
         note: str = "") -> None:
    row = {"work": work, "cpualloc_s": round(cpualloc_s, 4), "peer": peer,
           "peer_s": None if peer_s is None else round(peer_s, 4),
           "ratio": None if not peer_s else round(cpualloc_s / peer_s, 3),
           "peak_rss_mb": None if peak_rss_mb is None else round(peak_rss_mb, 1), "note": note}
    print(PREFIX + json.dumps(row, sort_keys=True), flush=True)


def parse(text: str) -> list[dict[str, object]]:
    return [json.loads(line[len(PREFIX):]) for line in text.splitlines() if line.startswith(PREFIX)]

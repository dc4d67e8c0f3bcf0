"""Run a command and measure that command's own peak RSS and CPU time.

A child's `ru_maxrss` (from wait4) is the high-water mark of every memory map the child has had,
and the first one is a copy of its parent's: Linux records the old map's high-water mark at
exec (`exec_mmap` -> `setmax_mm_hiwater_rss`). Once the test process itself has grown (the CLI
runs in-process in most tests, and a 600 MB image mapped in-process counts), every child it
forks starts with that figure, and an RSS bound on the child measures pytest instead.

So the command is started by this file run as a small, fresh Python process (the spawner): it
forks the command from its own small map, sets the resource limits in the child, waits for it
with wait4, kills it at the deadline, and writes the child's status and rusage to a JSON report.
The spawner's stdin, stdout and stderr are the command's.

    spawn(argv, env=..., cwd=..., stdout=f, stderr=g, deadline_s=60, rlimits={"RLIMIT_CPU": 30})
      -> Measured(status, peak_rss_bytes, cpu_s, hung)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Measured:
    returncode: int      # as subprocess reports it: negative for a signal
    peak_rss_bytes: int  # the command's ru_maxrss, in bytes
    cpu_s: float         # user + system
    hung: bool           # killed at the deadline


def spawn(argv: list[str], *, env: dict[str, str], cwd: Path | str | None, stdout: IO[Any], stderr: IO[Any],
          deadline_s: float, rlimits: dict[str, int] | None = None) -> Measured:
    fd, report = tempfile.mkstemp(prefix="measured-", suffix=".json")
    os.close(fd)
    try:
        spec = {"argv": argv, "env": env, "cwd": str(cwd) if cwd is not None else None,
                "deadline_s": deadline_s, "rlimits": rlimits or {}, "report": report}
        # -S -E: the spawner needs nothing from site-packages or PYTHON* (the command gets `env`)
        proc = subprocess.run([sys.executable, "-S", "-E", __file__, json.dumps(spec)], stdin=subprocess.DEVNULL,
                              stdout=stdout, stderr=stderr, timeout=deadline_s + 60)
        if proc.returncode != 0:
            raise RuntimeError(f"the spawner failed with exit {proc.returncode} for {argv}")
        doc = json.loads(Path(report).read_text())
    finally:
        os.unlink(report)
    return Measured(int(doc["returncode"]), int(doc["maxrss_kib"]) * 1024, float(doc["cpu_s"]), bool(doc["hung"]))


def _main(spec: dict[str, Any]) -> int:
    import resource
    import signal
    import time

    pid = os.fork()
    if pid == 0:
        try:
            for name, value in spec["rlimits"].items():
                resource.setrlimit(getattr(resource, name), (value, value))
            if spec["cwd"] is not None:
                os.chdir(spec["cwd"])
            os.execvpe(spec["argv"][0], spec["argv"], spec["env"])
        finally:
            os._exit(127)
    deadline = time.monotonic() + spec["deadline_s"]
    hung = False
    while True:
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            got, status, usage = os.wait4(pid, 0)
            hung = True
            break
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    with open(spec["report"], "w") as f:
        json.dump({"returncode": code, "maxrss_kib": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime,
                   "hung": hung}, f)
    return 0


if __name__ == "__main__":
    sys.exit(_main(json.loads(sys.argv[1])))

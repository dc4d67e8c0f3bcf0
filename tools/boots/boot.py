#!/usr/bin/env python3
"""Boot a kernel under qemu (TCG, no KVM) and record its serial transcript as a fixture.

The transcripts are the oracle for `cpualloc footprint --memory`: the `Memory:`, `percpu:` and
hash-table lines the kernel prints.  CI does not boot qemu; it reads the recorded transcripts.

    tools/boots/boot.py --kernel VMLINUZ --mem 256M --smp 1 [--initrd FILE] [--out DIR]

Each boot writes `<name>.log.gz` (the serial console, gzip) and `<name>.cmd` (the exact qemu
command line) into tests/fixtures/boots/.  The run is killed once the kernel panics for lack of a
root device, once the initramfs prints its end marker, or at --timeout seconds.  Run it under
`nice -n 19`, one boot at a time.
"""

from __future__ import annotations

import argparse
import gzip
import os
import selectors
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "tests" / "fixtures" / "boots"
STOP_MARKERS = (b"Kernel panic - not syncing", b"CPUALLOC-BOOT-END")


def qemu_command(qemu: str, kernel: str, mem: str, smp: int, initrd: str | None, append_extra: str) -> list[str]:
    if qemu.endswith("aarch64"):  # qemu's virt board, a Cortex-A57, PL011 console (earlycon from the DT)
        append = "console=ttyAMA0 earlycon panic=-1 " + append_extra
        machine = ["-M", "virt", "-cpu", "cortex-a57"]
    else:
        append = "console=ttyS0 earlyprintk=serial panic=-1 " + append_extra
        machine = ["-cpu", "qemu64"]
    cmd = [qemu, "-accel", "tcg", *machine, "-m", mem, "-smp", str(smp), "-nographic",
           "-no-reboot", "-kernel", kernel, "-append", append.strip()]
    if initrd:
        cmd += ["-initrd", initrd]
    return cmd


def boot(cmd: list[str], timeout: float) -> tuple[bytes, str]:
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    out = bytearray()
    deadline = time.monotonic() + timeout
    why = "timeout"
    after = None  # a little more output after a stop marker
    while True:
        now = time.monotonic()
        if now > deadline:
            break
        if after is not None and now > after:
            break
        if not sel.select(timeout=1.0):
            if proc.poll() is not None:
                why = f"qemu exited {proc.returncode}"
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            why = f"qemu exited {proc.wait()}"
            break
        out += chunk
        if after is None:
            for m in STOP_MARKERS:
                if m in out:
                    why = m.decode()
                    after = time.monotonic() + 2.0
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return bytes(out), why


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--mem", required=True, help="qemu -m value, e.g. 256M, 1G")
    ap.add_argument("--smp", type=int, required=True)
    ap.add_argument("--initrd", default=None)
    ap.add_argument("--append", default="", help="extra kernel command line")
    ap.add_argument("--name", default=None)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--out", default=str(FIXTURES))
    a = ap.parse_args()
    name = a.name or f"{Path(a.kernel).name}-m{a.mem}-smp{a.smp}"
    cmd = qemu_command(a.qemu, a.kernel, a.mem, a.smp, a.initrd, a.append)
    t0 = time.monotonic()
    out, why = boot(cmd, a.timeout)
    secs = time.monotonic() - t0
    outdir = Path(a.out)
    outdir.mkdir(parents=True, exist_ok=True)
    # The fixture names the kernel and initrd by file name only (no machine paths).
    shown = [Path(c).name if c in (a.kernel, a.initrd) else c for c in cmd]
    (outdir / f"{name}.cmd").write_text(shlex.join(shown) + f"\n# stopped: {why}\n# qemu: "
                                        + subprocess.run([a.qemu, "--version"], capture_output=True,
                                                         text=True).stdout.splitlines()[0] + "\n")
    with gzip.GzipFile(outdir / f"{name}.log.gz", "wb", mtime=0) as f:
        f.write(out)
    print(f"{name}: {why} after {secs:.0f}s, {len(out)} bytes", file=sys.stderr)
    return 0 if why != "timeout" else 1


if __name__ == "__main__":
    sys.exit(main())

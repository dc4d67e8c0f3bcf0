#!/usr/bin/env python3
"""Print prediction vs boot for every recorded boot in tests/fixtures/boots/.

    tools/boots/compare.py VMLINUX CONFIG [ARM64_IMAGE ARM64_CONFIG]

VMLINUX: the vmlinux with a symbol table of the booted amd64 build (Debian's debug vmlinux);
CONFIG: its config. ARM64_IMAGE/ARM64_CONFIG: Debian's arm64 vmlinuz (a raw Image) and its config,
for the arm64 boots (--machine qemu-virt). Runs `cpualloc footprint --memory ... --format json`
once per boot.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

BOOTS = Path(__file__).resolve().parent.parent.parent / "tests" / "fixtures" / "boots"
MEM = re.compile(rb"Memory: (\d+)K/(\d+)K available .* (\d+)K reserved")


def main() -> int:
    vmlinux, config = sys.argv[1], sys.argv[2]
    arm = sys.argv[3:5] if len(sys.argv) >= 5 else None
    print("| boot | reserved pred/boot (err) | available pred [min..max] / boot | MemTotal pred/boot (err) |")
    print("|---|---|---|---|")
    for log in sorted(BOOTS.glob("*.log.gz")):
        text = gzip.decompress(log.read_bytes())
        m = re.search(r"-m(\d+)([MG])-smp(\d+)", log.name)
        mm = MEM.search(text)
        if not m or not mm:
            continue
        is_arm = "-arm64-" in log.name
        if is_arm and arm is None:
            continue
        image, cfg, machine = (arm[0], arm[1], "qemu-virt") if is_arm and arm else (vmlinux, config, "qemu-pc")
        rd = re.search(rb"RAMDISK: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\]", text)
        initrd = int(rd.group(2), 16) + 1 - int(rd.group(1), 16) if rd else 0
        mem = m.group(1) + ("MiB" if m.group(2) == "M" else "GiB")
        out = subprocess.run([sys.executable, "-m", "cpualloc_cli", "footprint", "--memory", mem, "--machine", machine,
                              "--possible-cpus", m.group(3), "--initrd-size", str(initrd), "--config", cfg, image,
                              "--format", "json"], capture_output=True, text=True, check=True).stdout
        bm = json.loads(out)["boot_memory"]
        avail, _total, reserved = (int(x) for x in mm.groups())
        pr = bm["reserved_bytes"] // 1024
        lo, hi = bm["available_min_bytes"] // 1024, bm["available_bytes"] // 1024
        mt = re.search(rb"MemTotal:\s+(\d+) kB", text)
        mts = "-"
        if mt:
            bmt, pmt = int(mt.group(1)), bm["memtotal_bytes"] // 1024
            mts = f"{pmt}K / {bmt}K ({(pmt - bmt) / bmt:+.2%})"
        rng = f"{hi}K" if lo == hi else f"{hi}K [{lo}K..{hi}K]"
        print(f"| {log.name.removesuffix('.log.gz').removeprefix('vmlinuz-6.1.0-50-')} | {pr}K / {reserved}K "
              f"({(pr - reserved) / reserved:+.2%}) | {rng} / {avail}K | {mts} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

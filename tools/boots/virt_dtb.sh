#!/bin/sh
# The size of the device tree qemu's arm virt board hands a -kernel boot (the arm64 boots in
# tests/fixtures/boots): qemu writes the DTB it would load with -M virt,dumpdtb=FILE and exits.
# Prints fdt_totalsize (the big-endian word at byte 4 of the header, devicetree spec 5.2), which
# Linux reserves whole (drivers/of/fdt.c:659-661). Recorded with QEMU 7.2.22 (Debian 12): 1048576
# at -m 256M and -m 1G, -smp 1 and 2 (analysis/bootmem.py QEMU_VIRT_DTB_BYTES).
# Usage: tools/boots/virt_dtb.sh [MEM] [SMP]
set -eu
f=$(mktemp)
trap 'rm -f "$f"' EXIT
qemu-system-aarch64 -accel tcg -M "virt,dumpdtb=$f" -cpu cortex-a57 -m "${1:-256M}" -smp "${2:-1}" -nographic \
    >/dev/null 2>&1
hex=$(od -An -tx1 -j4 -N4 "$f" | tr -d ' \n')
echo $((0x$hex))

#!/bin/sh
# Regenerate every fixture in tests/fixtures/boots/ (one boot at a time, under nice).
# Usage: tools/boots/run_all.sh [VMLINUZ]   (default: Debian's 6.1 amd64 kernel in ~/.cache/cpualloc)
set -eu
here=$(dirname "$0")
k=${1:-$HOME/.cache/cpualloc/debian/linux-image-amd64/boot/vmlinuz-6.1.0-50-amd64}
for m in 256M 1G 4G; do
  for s in 1 2 8; do
    nice -n 19 python3 "$here/boot.py" --kernel "$k" --mem "$m" --smp "$s" --timeout 600
  done
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 "$here/make_initramfs.py" "$tmp/initramfs.cpio.gz"
for m in 256M 1G; do
  nice -n 19 python3 "$here/boot.py" --kernel "$k" --mem "$m" --smp 2 --initrd "$tmp/initramfs.cpio.gz" \
    --name "$(basename "$k")-m$m-smp2-initramfs" --timeout 600
done
# arm64 (issue 15, a second arch): Debian's linux-image-6.1.0-*-arm64, fetched with apt-get download and
# extracted with dpkg-deb -x (tools/boots/fetch_arm64.sh); 256M/1G/4G x 1/2/8 CPUs.
a=${ARM64_VMLINUZ:-}
if [ -n "$a" ]; then
  for m in 256M 1G 4G; do
    for s in 1 2 8; do
      nice -n 19 python3 "$here/boot.py" --qemu qemu-system-aarch64 --kernel "$a" --mem "$m" --smp "$s" --timeout 900
    done
  done
fi

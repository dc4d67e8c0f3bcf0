#!/bin/sh
# Fetch and extract (no install) Debian's 6.1 arm64 kernel for the arm64 boots in run_all.sh.
# Usage: tools/boots/fetch_arm64.sh [DIR]   (default ~/.cache/cpualloc/debian/arm64); needs root for apt.
set -eu
d=${1:-$HOME/.cache/cpualloc/debian/arm64}
mkdir -p "$d" && cd "$d"
dpkg --add-architecture arm64
apt-get update -qq
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-arm64$' | sort -V | tail -1 | cut -d' ' -f1)
apt-get download "$pkg:arm64"
dpkg-deb -x "$pkg"_*.deb x
ls x/boot/

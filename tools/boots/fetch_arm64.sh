#!/bin/sh
# Fetch and extract (no install) Debian's 6.1 arm64 kernel for the arm64 boots in run_all.sh.
# Usage: tools/boots/fetch_arm64.sh [DIR] [ABI]   (default ~/.cache/cpualloc/debian/arm64, ABI 50: the
# fixtures are of linux-image-6.1.0-50-arm64 6.1.176-1, as the amd64 ones); needs root for apt.
set -eu
d=${1:-$HOME/.cache/cpualloc/debian/arm64}
mkdir -p "$d" && cd "$d"
dpkg --add-architecture arm64
apt-get update -qq
pkg=linux-image-6.1.0-${2:-50}-arm64
apt-get download "$pkg:arm64"
dpkg-deb -x "$pkg"_*.deb x
ls x/boot/

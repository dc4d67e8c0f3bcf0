#!/usr/bin/env bash
# Build the smallest kernels an arch and version make (tinyconfig, and tinyconfig + SMP with
# NR_CPUS at the bottom of its Kconfig range), and record what GNU binutils says about them.
#
# These recordings are the "measured" lower bounds of cpualloc_cli/data/lower_bounds.toml
# (regenerate that file with tools/lower_bounds/to_toml.py after a build).
#
# Usage:
#   tools/lower_bounds/build.sh [-v SERIES] [-w WORKDIR] [-k] TARGET...
#     SERIES   6.1 (default) or 6.12: the source is Debian's /usr/src/linux-source-SERIES.tar.xz
#              (apt-get install linux-source-SERIES)
#     WORKDIR  where the tree is unpacked and built (default: ${TMPDIR:-/tmp}/cpualloc-lower-bounds)
#     -k       keep the object tree (default: only vmlinux is kept in WORKDIR)
#     TARGET   ARCH-MODE, ARCH one of sparc64 x86_64 i386 arm64 riscv powerpc, MODE up or smp
#              (arm64 has no up: SMP is def_bool y there)
# Example: tools/lower_bounds/build.sh sparc64-smp sparc64-up x86_64-up x86_64-smp
#
# Needs: flex bison bc libelf-dev libssl-dev xz-utils and the cross compilers
#   gcc-sparc64-linux-gnu gcc-i686-linux-gnu gcc-aarch64-linux-gnu
#   (gcc-riscv64-linux-gnu gcc-powerpc-linux-gnu for riscv / powerpc); x86_64 uses the host gcc.
#
# Each build writes tools/lower_bounds/ARCH-SERIES-MODE/:
#   config          the resolved .config (the output of make olddefconfig)
#   size.txt        GNU size (Berkeley) of vmlinux
#   size-A.txt      GNU size -A (SysV)
#   readelf-h.txt   readelf -h
#   readelf-S.txt   readelf -S -W
#   readelf-l.txt   readelf -l -W
#   symbols.txt     the lines of readelf -s -W for the layout symbols (list below)
#   build.txt       kernel version (make kernelversion), compiler and binutils versions, the commands
# The builds run one at a time under nice -n 19 with make -j2 (the machine may be shared).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
series=6.1
work=${TMPDIR:-/tmp}/cpualloc-lower-bounds
keep=0
jobs=${JOBS:-2}
while getopts "v:w:k" opt; do
    case $opt in
        v) series=$OPTARG ;;
        w) work=$OPTARG ;;
        k) keep=1 ;;
        *) sed -n '2,30p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { sed -n '2,30p' "$0"; exit 2; }

# The symbols that bound the image and its parts, on every arch (missing ones are simply absent).
SYMBOLS="_text _stext _etext _sdata _edata __bss_start __bss_stop _end __init_begin __init_end
_sinittext _einittext __per_cpu_load __per_cpu_start __per_cpu_end startup_64 startup_32 _start
stext _head __start_rodata __end_rodata _kernel_size_le_lo32 _kernel_size_le_hi32 swapper_pg_dir"

tarball=/usr/src/linux-source-$series.tar.xz
src=$work/linux-source-$series
mkdir -p "$work"
if [ ! -f "$src/Makefile" ]; then
    [ -f "$tarball" ] || { echo "build.sh: $tarball missing; apt-get install linux-source-$series" >&2; exit 3; }
    echo "unpacking $tarball into $work"
    nice -n 19 tar -C "$work" -xJf "$tarball"
fi

cross_for() {
    case $1 in
        sparc64) echo sparc64-linux-gnu- ;;
        x86_64) echo "" ;;
        i386) echo i686-linux-gnu- ;;
        arm64) echo aarch64-linux-gnu- ;;
        riscv) echo riscv64-linux-gnu- ;;
        powerpc) echo powerpc-linux-gnu- ;;
        *) echo "build.sh: unknown arch $1" >&2; exit 2 ;;
    esac
}

build_one() {
    local arch=$1 mode=$2
    local cross out dest kver
    cross=$(cross_for "$arch")
    out=$work/out-$arch-$series-$mode
    dest=$here/$arch-$series-$mode
    local mk=(nice -n 19 make -C "$src" O="$out" ARCH="$arch" CROSS_COMPILE="$cross")
    local cfg=$out/.config
    rm -rf "$out"
    mkdir -p "$out"
    local log=$work/build-$arch-$series-$mode.log
    echo "== $arch $series $mode (log: $log)"
    {
        "${mk[@]}" tinyconfig
        if [ "$mode" = smp ]; then
            # NR_CPUS=2: the bottom of the range on every arch built here
            # (sparc64 "range 2 4096", x86 NR_CPUS_RANGE_BEGIN 2 with SMP, arm64 "range 2 4096").
            "$src/scripts/config" --file "$cfg" -e SMP --set-val NR_CPUS 2
        else
            "$src/scripts/config" --file "$cfg" -d SMP
        fi
        "${mk[@]}" olddefconfig
    } >"$log" 2>&1
    # Kconfig silently resets an out-of-range or impossible value: check that what was asked is what
    # the resolved config says.
    if [ "$mode" = smp ]; then
        grep -qx 'CONFIG_SMP=y' "$cfg" || { echo "build.sh: $arch: SMP not set after olddefconfig" >&2; return 1; }
        grep -qx 'CONFIG_NR_CPUS=2' "$cfg" || { echo "build.sh: $arch: NR_CPUS is not 2 after olddefconfig" >&2; return 1; }
    else
        if grep -qx 'CONFIG_SMP=y' "$cfg"; then
            echo "build.sh: $arch: SMP cannot be turned off (def_bool y?)" >&2; return 1
        fi
    fi
    local t0=$SECONDS
    "${mk[@]}" -j"$jobs" vmlinux >>"$log" 2>&1 || { echo "build.sh: $arch $mode: build failed, see $log" >&2; tail -20 "$log" >&2; return 1; }
    echo "   built in $((SECONDS - t0)) s"
    local v=$out/vmlinux
    kver=$("${mk[@]}" -s kernelversion 2>/dev/null)
    mkdir -p "$dest"
    cp "$cfg" "$dest/config"
    # Recorded relative to the folder, so the outputs name "vmlinux" and not this machine's paths.
    (
        cd "$out"
        "${cross}size" vmlinux >"$dest/size.txt"
        "${cross}size" -A vmlinux >"$dest/size-A.txt"
        "${cross}readelf" -h vmlinux >"$dest/readelf-h.txt"
        "${cross}readelf" -S -W vmlinux >"$dest/readelf-S.txt"
        "${cross}readelf" -l -W vmlinux >"$dest/readelf-l.txt"
        # The header lines, then the symbols named in SYMBOLS, in readelf's order.
        "${cross}readelf" -s -W vmlinux | awk -v want="$SYMBOLS" '
            BEGIN { n = split(want, w, /[ \n]+/); for (i = 1; i <= n; i++) if (w[i] != "") keep[w[i]] = 1 }
            /^Symbol table/ || /^ +Num:/ { print; next }
            NF >= 8 && ($8 in keep) { print }' >"$dest/symbols.txt"
    )
    local cc=${cross}gcc
    {
        echo "kernel_version = $kver"
        echo "series = $series"
        echo "source = $(basename "$tarball")"
        echo "arch = $arch"
        echo "mode = $mode"
        echo "gcc = $("$cc" --version | head -1)"
        echo "binutils = $("${cross}ld" --version | head -1)"
        echo "size = $("${cross}size" --version | head -1)"
        echo "readelf = $("${cross}readelf" --version | head -1)"
        echo "build_seconds = $((SECONDS - t0))"
        echo "commands:"
        echo "  make ARCH=$arch CROSS_COMPILE=$cross tinyconfig"
        if [ "$mode" = smp ]; then
            echo "  scripts/config --file .config -e SMP --set-val NR_CPUS 2"
        else
            echo "  scripts/config --file .config -d SMP"
        fi
        echo "  make ARCH=$arch CROSS_COMPILE=$cross olddefconfig"
        echo "  nice -n 19 make ARCH=$arch CROSS_COMPILE=$cross -j$jobs vmlinux"
    } >"$dest/build.txt"
    cp "$v" "$work/vmlinux-$arch-$series-$mode"
    [ "$keep" = 1 ] || rm -rf "$out"
    echo "   recorded in $dest"
}

failed=()
for target in "$@"; do
    arch=${target%-*}
    mode=${target##*-}
    case $mode in up|smp) ;; *) echo "build.sh: $target: MODE must be up or smp" >&2; exit 2 ;; esac
    if [ "$arch" = arm64 ] && [ "$mode" = up ]; then
        echo "build.sh: arm64 has no UP kernel (config SMP is def_bool y in arch/arm64/Kconfig)" >&2
        failed+=("$target"); continue
    fi
    build_one "$arch" "$mode" || failed+=("$target")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi

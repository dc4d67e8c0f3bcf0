#!/usr/bin/env bash
# Build small, real i386 kernels that differ only in CONFIG_NR_CPUS, and record beside the tests
# what diff/scale over kallsyms are checked against: the bzImage itself, GNU nm -n -S and GNU
# size of its vmlinux, the .config, and the tree's own scripts/bloat-o-meter over two vmlinux.
#
# Usage: tools/kallsyms_fixtures/build_images.sh [-w WORKDIR] [-r] NR_CPUS...
#   NR_CPUS  one or more of 2..64 (i386 with X86_BIGSMP). Example: build_images.sh 8 32 64
#   WORKDIR  where the builds happen (default ${TMPDIR:-/tmp}/cpualloc-kimages); never the tree
#   -r       record only, from the builds already in WORKDIR
# The source tree is Debian's linux-source-6.1, unpacked at $LINUX_SRC_6_1, or
# $CPUALLOC_LINUX_6_1, or ${XDG_CACHE_HOME:-$HOME/.cache}/cpualloc/linux-source-6.1; it is only
# read (make O=WORKDIR/out-...).
# Needs: flex bison bc libelf-dev xz-utils gcc-i686-linux-gnu python3.
# Config: make ARCH=i386 tinyconfig (ARCH=i386 is SRCARCH x86 with CONFIG_64BIT=n; tinyconfig
#   brings kernel/configs/tiny.config, so CONFIG_KERNEL_XZ=y), then scripts/config -e SMP
#   -e X86_BIGSMP (NR_CPUS > 8 needs it on 32-bit: arch/x86/Kconfig NR_CPUS_RANGE_END) -e PRINTK
#   -e KALLSYMS -e KALLSYMS_ALL --set-val NR_CPUS N, then olddefconfig. X86_BIGSMP is set in
#   every build, so two builds differ in NR_CPUS alone.
# Each NR_CPUS writes tests/fixtures/kallsyms/images/i386-6.1-nr<N>/:
#   bzImage      arch/x86/boot/bzImage (xz-compressed kernel inside; committed as built)
#   nm.txt.xz    "i686-linux-gnu-nm -n -S vmlinux" (GNU nm, recorded from the real tool)
#   size.txt     "i686-linux-gnu-size vmlinux" (GNU size, Berkeley format)
#   config.xz    the resolved .config
#   build.txt    versions, commands, build time, sizes
# and, for every pair of consecutive NR_CPUS given (old = smaller), the tree's own bloat-o-meter:
#   tests/fixtures/kallsyms/images/bloat-o-meter-nr<OLD>-nr<NEW>.txt, its command in
#   bloat-o-meter-nr<OLD>-nr<NEW>.build.txt.
# Builds run one at a time under nice -n 10, make -j${JOBS:-2}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${TMPDIR:-/tmp}/cpualloc-kimages
jobs=${JOBS:-2}
record_only=0
while getopts "w:r" opt; do
    case $opt in w) work=$OPTARG ;; r) record_only=1 ;; *) sed -n '2,29p' "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { sed -n '2,29p' "$0"; exit 2; }
src=${LINUX_SRC_6_1:-${CPUALLOC_LINUX_6_1:-${XDG_CACHE_HOME:-$HOME/.cache}/cpualloc/linux-source-6.1}}
[ -f "$src/Makefile" ] || { echo "build_images.sh: no tree at $src" >&2; exit 1; }
cross=i686-linux-gnu-
arch=i386
dest_root=$repo/tests/fixtures/kallsyms/images
mkdir -p "$work" "$dest_root"

build_one() {
    local n=$1 name=i386-6.1-nr$1
    local out=$work/out-$name dest=$dest_root/$name log=$work/build-$name.log
    local mk=(nice -n 10 make -C "$src" O="$out" ARCH="$arch" CROSS_COMPILE="$cross")
    local cfg=$out/.config
    local extra=(-e SMP -e X86_BIGSMP -e PRINTK -e KALLSYMS -e KALLSYMS_ALL --set-val NR_CPUS "$n")
    local secs
    mkdir -p "$dest"
    if [ "$record_only" = 1 ]; then
        secs=${BUILD_SECONDS:-$(awk '$1 == "build_seconds" { print $3 }' "$dest/build.txt" 2>/dev/null || echo unknown)}
    else
        rm -rf "$out"; mkdir -p "$out"
        echo "== $name (log: $log)"
        {
            "${mk[@]}" tinyconfig
            "$src/scripts/config" --file "$cfg" "${extra[@]}"
            "${mk[@]}" olddefconfig
        } >"$log" 2>&1
        local want
        for want in CONFIG_SMP=y CONFIG_X86_BIGSMP=y CONFIG_PRINTK=y CONFIG_KALLSYMS=y \
                    CONFIG_KALLSYMS_ALL=y CONFIG_KERNEL_XZ=y "CONFIG_NR_CPUS=$n"; do
            grep -qx "$want" "$cfg" || { echo "build_images.sh: $name: $want not set" >&2; return 1; }
        done
        local t0=$SECONDS
        "${mk[@]}" -j"$jobs" bzImage >>"$log" 2>&1 || {
            echo "build_images.sh: $name: build failed, see $log" >&2; tail -20 "$log" >&2; return 1; }
        secs=$((SECONDS - t0))
        echo "   built in $secs s"
    fi
    cp "$out/arch/x86/boot/bzImage" "$dest/bzImage"
    xz -9 -c "$cfg" >"$dest/config.xz"
    ( cd "$out" && "${cross}nm" -n -S vmlinux ) | xz -9 >"$dest/nm.txt.xz"
    ( cd "$out" && "${cross}size" vmlinux ) >"$dest/size.txt"
    {
        echo "kernel_version = $("${mk[@]}" -s kernelversion 2>/dev/null)"
        echo "source = Debian linux-source-6.1"
        echo "arch = $arch"
        echo "gcc = $("${cross}gcc" --version | head -1)"
        echo "binutils = $("${cross}nm" --version | head -1)"
        echo "build_seconds = $secs"
        echo "bzImage_bytes = $(stat -c %s "$dest/bzImage")"
        echo "vmlinux_bytes = $(stat -c %s "$out/vmlinux")"
        echo "config: $(grep -E '^CONFIG_(SMP|X86_BIGSMP|NR_CPUS|PRINTK|KALLSYMS[A-Z_]*|64BIT|KERNEL_XZ)=' "$cfg" | tr '\n' ' ')"
        echo "commands:"
        echo "  make ARCH=$arch CROSS_COMPILE=$cross tinyconfig"
        echo "  scripts/config --file .config ${extra[*]}"
        echo "  make ARCH=$arch CROSS_COMPILE=$cross olddefconfig"
        echo "  nice -n 10 make ARCH=$arch CROSS_COMPILE=$cross -j$jobs bzImage"
        echo "  ${cross}nm -n -S vmlinux | xz -9 > nm.txt.xz"
        echo "  ${cross}size vmlinux > size.txt"
    } >"$dest/build.txt"
    echo "   recorded in $dest"
}

bloat() {
    local old=$1 new=$2
    local a=$work/out-i386-6.1-nr$old/vmlinux b=$work/out-i386-6.1-nr$new/vmlinux
    local base=$dest_root/bloat-o-meter-nr$old-nr$new
    # bloat-o-meter runs "${prefix}nm --size-sort FILE" on each file (its -p option)
    ( cd "$work" && python3 "$src/scripts/bloat-o-meter" -p "$cross" \
        "out-i386-6.1-nr$old/vmlinux" "out-i386-6.1-nr$new/vmlinux" ) >"$base.txt"
    {
        echo "old = i386-6.1-nr$old/vmlinux ($(stat -c %s "$a") bytes)"
        echo "new = i386-6.1-nr$new/vmlinux ($(stat -c %s "$b") bytes)"
        echo "python3 = $(python3 --version 2>&1)"
        echo "nm = $("${cross}nm" --version | head -1)"
        echo "gcc = $("${cross}gcc" --version | head -1)"
        echo "script = linux-source-6.1 scripts/bloat-o-meter (kernel $(make -s -C "$src" kernelversion 2>/dev/null))"
        echo "command:"
        echo "  python3 linux-source-6.1/scripts/bloat-o-meter -p $cross \\"
        echo "      out-i386-6.1-nr$old/vmlinux out-i386-6.1-nr$new/vmlinux > $(basename "$base").txt"
    } >"$base.build.txt"
    echo "   bloat-o-meter nr$old -> nr$new: $(tail -1 "$base.txt")"
}

failed=()
for n in "$@"; do build_one "$n" || failed+=("$n"); done
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}" >&2; exit 1; }
prev=
for n in $(printf '%s\n' "$@" | sort -n); do
    [ -n "$prev" ] && bloat "$prev" "$n"
    prev=$n
done

#!/usr/bin/env bash
# Build small kernels with CONFIG_KALLSYMS=y and record, beside the tests, what the kallsyms
# adapter is checked against: GNU nm -n of the vmlinux, the .config, and the image (or, when the
# image is too large to commit, the slice of the decompressed kernel that carries kallsyms).
#
# Usage: tools/kallsyms_fixtures/build.sh [-w WORKDIR] TARGET...
#   TARGET  ARCH-SERIES[-all], ARCH one of sparc64 i386 arm64, SERIES 6.1 or 6.12; "-all" adds
#           CONFIG_KALLSYMS_ALL=y. Example: build.sh sparc64-6.1 i386-6.1-all arm64-6.1 i386-6.12
#   WORKDIR where the builds happen (default ${TMPDIR:-/tmp}/cpualloc-kallsyms)
#   -r      record only: re-record the fixtures from an existing build in WORKDIR
#           (build_seconds from the old build.txt, or $BUILD_SECONDS)
# The source trees are Debian's linux-source-SERIES, unpacked at $LINUX_SRC_<SERIES> (6_1, 6_12)
# or ${XDG_CACHE_HOME:-$HOME/.cache}/cpualloc/linux-source-SERIES.
# Needs: flex bison bc libelf-dev libssl-dev xz-utils gcc-sparc64-linux-gnu gcc-i686-linux-gnu
#   gcc-aarch64-linux-gnu.
# Each target writes tests/fixtures/kallsyms/TARGET/:
#   config.xz   the resolved .config (make tinyconfig; scripts/config -e KALLSYMS [...]; olddefconfig)
#   nm.txt.xz   "${CROSS}nm -n vmlinux" (GNU nm, recorded from the real tool)
#   slice.bin.xz the kallsyms-bearing slice of .rodata (sparc64, i386) or of the Image (arm64)
#   slice.txt   where the slice was cut, and the kallsyms_* label addresses from nm
#   build.txt   versions, commands, build time
# Builds run one at a time under nice -n 19, make -j${JOBS:-2}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${TMPDIR:-/tmp}/cpualloc-kallsyms
jobs=${JOBS:-2}
record_only=0
while getopts "w:r" opt; do
    case $opt in w) work=$OPTARG ;; r) record_only=1 ;; *) sed -n '2,20p' "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { sed -n '2,20p' "$0"; exit 2; }

cross_for() {
    case $1 in
        sparc64) echo sparc64-linux-gnu- ;;
        i386) echo i686-linux-gnu- ;;
        arm64) echo aarch64-linux-gnu- ;;
        *) echo "build.sh: unknown arch $1" >&2; exit 2 ;;
    esac
}

build_one() {
    local target=$1 arch series all=0
    arch=${target%%-*}
    series=${target#*-}; series=${series%%-*}
    case $target in *-all) all=1 ;; esac
    local var=LINUX_SRC_${series//./_}
    local src=${!var:-${XDG_CACHE_HOME:-$HOME/.cache}/cpualloc/linux-source-$series}
    [ -f "$src/Makefile" ] || { echo "build.sh: no tree at $src" >&2; return 1; }
    local cross; cross=$(cross_for "$arch")
    local out=$work/out-$target dest=$repo/tests/fixtures/kallsyms/$target
    local mk=(nice -n 19 make -C "$src" O="$out" ARCH="$arch" CROSS_COMPILE="$cross")
    local cfg=$out/.config log=$work/build-$target.log
    mkdir -p "$dest"
    local extra=(-e KALLSYMS)
    [ "$all" = 1 ] && extra+=(-e KALLSYMS_ALL)
    local goal=vmlinux
    [ "$arch" = arm64 ] && goal=Image.gz
    local secs
    if [ "$record_only" = 1 ]; then
        secs=${BUILD_SECONDS:-$(awk '$1 == "build_seconds" { print $3 }' "$dest/build.txt" 2>/dev/null || echo unknown)}
    else
    rm -rf "$out"; mkdir -p "$out"
    echo "== $target (log: $log)"
    {
        "${mk[@]}" tinyconfig
        "$src/scripts/config" --file "$cfg" "${extra[@]}"
        "${mk[@]}" olddefconfig
    } >"$log" 2>&1
    grep -qx 'CONFIG_KALLSYMS=y' "$cfg" || { echo "build.sh: $target: KALLSYMS not set" >&2; return 1; }
    if [ "$all" = 1 ]; then
        grep -qx 'CONFIG_KALLSYMS_ALL=y' "$cfg" || { echo "build.sh: $target: KALLSYMS_ALL not set" >&2; return 1; }
    fi
    local t0=$SECONDS
    "${mk[@]}" -j"$jobs" $goal >>"$log" 2>&1 || { echo "build.sh: $target: build failed, see $log" >&2; tail -20 "$log" >&2; return 1; }
    secs=$((SECONDS - t0))
    echo "   built in $secs s"
    fi
    xz -9 -c "$cfg" >"$dest/config.xz"
    ( cd "$out" && "${cross}nm" -n vmlinux ) | xz -9 >"$dest/nm.txt.xz"
    rm -f "$dest"/image.* "$dest"/slice.*
    # The image is too large to commit (a tinyconfig kernel xz's to ~600 KB), so the slice of it
    # that carries the kallsyms tables is kept: from 4 KiB before the first kallsyms_* label to
    # 4 KiB after the last table ends (token_index + 512, or seqs_of_names + 3 N), cut from
    # .rodata (objcopy, sparc64/i386) or from the decompressed Image.gz (arm64, file offset =
    # address - _text). slice.txt says where the slice was cut.
    local img=$work/rodata-$target base
    if [ "$arch" = arm64 ]; then
        gzip -dc "$out/arch/arm64/boot/Image.gz" >"$img"
        base=$(awk '$3 == "_text" { print $1 }' <(cd "$out" && "${cross}nm" -n vmlinux))
    else
        "${cross}objcopy" -O binary --only-section=.rodata "$out/vmlinux" "$img"
        base=$("${cross}readelf" -S -W "$out/vmlinux" | sed 's/^ *\[ *[0-9]*\]//' | awk '$1 == ".rodata" { print $3 }')
    fi
    python3 - "$img" "$base" "$dest" <(cd "$out" && "${cross}nm" -n vmlinux) <<'PY'
import lzma, sys
img, base, dest, nm = sys.argv[1], int(sys.argv[2], 16), sys.argv[3], sys.argv[4]
# the table labels scripts/kallsyms.c writes (6.1 scripts/kallsyms.c:114-122)
TABLES = {"kallsyms_addresses", "kallsyms_offsets", "kallsyms_relative_base", "kallsyms_num_syms",
          "kallsyms_names", "kallsyms_markers", "kallsyms_token_table", "kallsyms_token_index",
          "kallsyms_seqs_of_names"}
syms = {}
nm_lines = open(nm).read().splitlines()  # a pipe: read once
for line in nm_lines:
    f = line.split()
    if len(f) == 3 and f[2] in TABLES:
        syms[f[2]] = int(f[0], 16)
data = open(img, "rb").read()
lo = min(syms.values()) - 4096
end = syms["kallsyms_token_index"] + 512
for k, v in syms.items():
    end = max(end, v)
# seqs_of_names (3 bytes a symbol) is the last table in 6.12: bound it by the nm line count
nlines = len(nm_lines)
hi = end + 3 * nlines if syms.get("kallsyms_seqs_of_names", -1) == end else end
hi = min(hi + 4096, base + len(data))
lo = max(lo, base)
with lzma.open(dest + "/slice.bin.xz", "wb", preset=9) as f:
    f.write(data[lo - base:hi - base])
with open(dest + "/slice.txt", "w") as f:
    f.write(f"slice_start_address = {lo:#x}\nslice_end_address = {hi:#x}\n")
    f.write(f"cut_from_base_address = {base:#x}\n")
    for k in sorted(syms, key=syms.get):
        f.write(f"{k} = {syms[k]:#x}\n")
PY
    {
        echo "kernel_version = $("${mk[@]}" -s kernelversion 2>/dev/null)"
        echo "source = Debian linux-source-$series"
        echo "arch = $arch"
        echo "gcc = $("${cross}gcc" --version | head -1)"
        echo "binutils = $("${cross}nm" --version | head -1)"
        echo "build_seconds = $secs"
        echo "config: $(grep -E '^CONFIG_(KALLSYMS[A-Z_]*|64BIT|CPU_BIG_ENDIAN|PRINTK)=' "$cfg" | tr '\n' ' ')"
        echo "commands:"
        echo "  make ARCH=$arch CROSS_COMPILE=$cross tinyconfig"
        echo "  scripts/config --file .config ${extra[*]}"
        echo "  make ARCH=$arch CROSS_COMPILE=$cross olddefconfig"
        echo "  nice -n 19 make ARCH=$arch CROSS_COMPILE=$cross -j$jobs $goal"
        echo "  ${cross}nm -n vmlinux | xz -9 > nm.txt.xz"
    } >"$dest/build.txt"
    echo "   recorded in $dest"
}

failed=()
for t in "$@"; do build_one "$t" || failed+=("$t"); done
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}" >&2; exit 1; }

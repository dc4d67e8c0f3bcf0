"""kallsyms read from whole, real bzImages (no .symtab in them), checked against GNU nm.

tests/fixtures/kallsyms/images/i386-6.1-nr<N>/ are made by tools/kallsyms_fixtures/build_images.sh
from Debian's linux-source-6.1: i386 tinyconfig + SMP, X86_BIGSMP, PRINTK, KALLSYMS,
KALLSYMS_ALL, KERNEL_XZ, at NR_CPUS=N (build.txt beside each). The bzImage is what a user has;
`nm.txt.xz` is `i686-linux-gnu-nm -n -S` of the vmlinux of the same build (the vmlinux is not
committed). The bzImage's xz payload is the stripped vmlinux (arch/x86/boot/compressed/Makefile:
`objcopy -R .comment -S`), decompressed here by cpualloc_cli.adapters.image.load_any.

The oracle is nm filtered by the rules scripts/kallsyms applies (test_kallsyms_formats.kept_by_kallsyms,
whose docstring cites them), with KALLSYMS_ALL, so data and BSS symbols are kept too.
bloat-o-meter-nr8-nr32.txt beside them is the tree's own scripts/bloat-o-meter over the two
vmlinux files (command in its .build.txt): the oracle for `diff` of the two bzImages.
"""

from __future__ import annotations

import lzma
import re
from pathlib import Path

import pytest
from test_kallsyms_formats import agreement, decoded, kept_by_kallsyms

from cpualloc_cli.adapters.image import load_any
from cpualloc_cli.adapters.kallsyms import find_kallsyms

IMAGES = Path(__file__).parent / "fixtures" / "kallsyms" / "images"
NAMES = sorted(p.name for p in IMAGES.glob("i386-6.1-nr*") if (p / "bzImage").is_file())


def nm_three_columns(nm_s_text: str) -> str:
    """`nm -n -S` lines ("addr size type name", or "addr type name" for an unsized symbol) as
    `nm -n` would print them (the size column dropped), for kept_by_kallsyms."""
    out = []
    for line in nm_s_text.splitlines():
        f = line.split()
        if len(f) == 4:
            f = [f[0], f[2], f[3]]
        out.append(" ".join(f))
    return "\n".join(out)


def test_fixtures_are_there() -> None:
    assert len(NAMES) >= 2, f"run tools/kallsyms_fixtures/build_images.sh 8 32 (found {NAMES})"


@pytest.mark.parametrize("name", NAMES)
def test_bzimage_kallsyms_against_nm(name: str) -> None:
    d = IMAGES / name
    loaded = load_any(str(d / "bzImage"))
    assert loaded.payload is not None and loaded.elf is not None  # the xz payload, an ELF
    assert loaded.elf.symbols is None  # the payload is stripped: no .symtab, only kallsyms
    k = find_kallsyms(loaded.payload.data, str(d / "bzImage"))
    assert k is not None, "no kallsyms found in the bzImage's payload"
    assert (k.word_bytes, k.endian, k.base_relative) == (4, "little", True)
    nm_text = nm_three_columns(lzma.decompress((d / "nm.txt.xz").read_bytes()).decode())
    want = kept_by_kallsyms(nm_text, True, "6.1")
    matches, n_got, n_want = agreement(decoded(k), want)
    print(f"{name}: {k.describe()}; decoded {n_got}, nm kept {n_want}, matches {matches}")
    assert n_got == n_want
    assert matches >= 0.999 * n_want
    nr = int(name.rsplit("nr", 1)[1])
    config = lzma.decompress((d / "config.xz").read_bytes()).decode()
    assert f"\nCONFIG_NR_CPUS={nr}\n" in config and "\nCONFIG_KALLSYMS_ALL=y\n" in config


@pytest.mark.parametrize("name", NAMES)
def test_recorded_size_is_gnu_size_output(name: str) -> None:
    """size.txt is GNU size's Berkeley table; its dec column is text + data + bss."""
    lines = (IMAGES / name / "size.txt").read_text().splitlines()
    assert lines[0].split()[:4] == ["text", "data", "bss", "dec"]
    text, data, bss, dec = (int(x) for x in lines[1].split()[:4])
    assert text + data + bss == dec


def test_bloat_o_meter_record_is_whole() -> None:
    """The recorded bloat-o-meter output ends in its Total line (scripts/bloat-o-meter prints
    "Total: Before=B, After=A, chg +P%"), and the header's up/down sum is After - Before."""
    p = IMAGES / "bloat-o-meter-nr8-nr32.txt"
    if not p.is_file():
        pytest.skip("bloat-o-meter record not made")
    text = p.read_text()
    head = re.search(r"up/down: (-?\d+)/(-?\d+) \((-?\d+)\)", text)
    total = re.search(r"Total: Before=(\d+), After=(\d+), chg ([+-]?[\d.]+)%", text)
    assert head and total
    up, down, net = (int(x) for x in head.groups())
    assert up + down == net == int(total.group(2)) - int(total.group(1))

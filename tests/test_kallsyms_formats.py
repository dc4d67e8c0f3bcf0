"""The kallsyms adapter against tables of every format, each checked against an outside oracle.

Real kernels (tests/fixtures/kallsyms/ARCH-SERIES*/, made by tools/kallsyms_fixtures/build.sh from
Debian's linux-source-6.1 / 6.12, tinyconfig + CONFIG_KALLSYMS=y): the slice of the image that
carries the tables is decoded and compared with GNU `nm -n` recorded from the same build's
vmlinux, filtered by the rules the kernel's build applies before scripts/kallsyms sees a symbol:

- scripts/mksysmap (6.1: the `grep -v` list, ' [aNUw] ', ' \\$', ' \\.L', ' __crc_', ' __kstrtab_',
  ' __kstrtabns_', ' L0$'; 6.12 scripts/mksysmap:22-88, the same plus __efistub_, __pi_$/.L,
  __kvm_nvhe_$/.L, *Thunk_, __kcfi_typeid_, _from_arm/_from_thumb/_veneer, _SDA_BASE_,
  .long_branch./.plt_branch.);
- 6.1 scripts/kallsyms.c:103-197 is_ignored_symbol() (the kallsyms_* tables themselves, the
  prefixes/suffixes/matches above, types U u N n, and absolute symbols but four);
- 6.1 scripts/kallsyms.c:285-309 symbol_valid(): without KALLSYMS_ALL only symbols in
  [_stext, _etext] or [_sinittext, _einittext], minus those at _etext/_einittext other than those
  two (6.12 scripts/kallsyms.c:204-225 also keeps __start_*/__stop_*).

Older formats (no tree on Debian): tools/kallsyms_fixtures/synth.py writes the tables as v4.4 and
v4.6 scripts/kallsyms.c did; the oracle is the symbol list the script encoded (NAME.syms).
"""

from __future__ import annotations

import lzma
import re
from collections import Counter
from pathlib import Path

import pytest

from cpualloc_cli.adapters.kallsyms import Kallsyms, find_kallsyms

FIX = Path(__file__).parent / "fixtures" / "kallsyms"

_TABLES = {"kallsyms_addresses", "kallsyms_offsets", "kallsyms_relative_base", "kallsyms_num_syms",
           "kallsyms_names", "kallsyms_markers", "kallsyms_token_table", "kallsyms_token_index",
           "kallsyms_seqs_of_names", "_SDA_BASE_", "_SDA2_BASE_"}
_PREFIXES = ("$", ".L", "__crc_", "__kstrtab_", "__kstrtabns_", "__efistub_", "__kvm_nvhe_$",
             "__kvm_nvhe_.L", "__AArch64ADRPThunk_", "__ARMV5PILongThunk_", "__ARMV7PILongThunk_",
             "__ThumbV7PILongThunk_", "__LA25Thunk_", "__microLA25Thunk_", "__kcfi_typeid_",
             "__pi_$", "__pi_.L", "__kvm_nvhe___kcfi_typeid_", "__pi___kcfi_typeid_")
_SUFFIXES = ("_from_arm", "_from_thumb", "_veneer")
_KEPT_ABSOLUTE = {"__kernel_syscall_via_break", "__kernel_syscall_via_epc", "__kernel_sigtramp", "__gp"}
_THUNK = re.compile(r"__[A-Za-z0-9]*Thunk_")


def kept_by_kallsyms(nm_text: str, all_symbols: bool, series: str) -> list[tuple[int, str, str]]:
    """The (address, type, name) that scripts/kallsyms keeps from `nm -n` (rules in the module doc)."""
    rows: list[tuple[int, str, str]] = []
    for line in nm_text.splitlines():
        f = line.split()
        if len(f) != 3:
            continue  # undefined symbols have no address ("U name"): mksysmap drops them
        addr, typ, name = int(f[0], 16), f[1], f[2]
        if typ in "aNUwuUn" or name == "L0":
            continue
        if name in _TABLES or name.startswith(_PREFIXES) or name.endswith(_SUFFIXES):
            continue
        if _THUNK.match(name) or ".long_branch." in name or ".plt_branch." in name:
            continue
        if typ.upper() == "A" and name not in _KEPT_ABSOLUTE:
            continue
        rows.append((addr, typ, name))
    if not all_symbols:
        where = {n: a for a, _, n in rows}
        ranges = [(where["_stext"], where["_etext"])]
        if "_sinittext" in where:
            ranges.append((where["_sinittext"], where["_einittext"]))
        ends = {where["_etext"]: "_etext", where.get("_einittext", -1): "_einittext"}

        def valid(a: int, n: str) -> bool:
            if series != "6.1" and n.startswith(("__start_", "__stop_")):
                return True
            if not any(lo <= a <= hi for lo, hi in ranges):
                return False
            return not (a in ends and n != ends[a])
        rows = [r for r in rows if valid(r[0], r[2])]
    return rows


def decoded(k: Kallsyms) -> list[tuple[int, str, str]]:
    return list(zip(k.addresses, k.types, k.names(), strict=True))


def agreement(got: list[tuple[int, str, str]], want: list[tuple[int, str, str]]) -> tuple[int, int, int]:
    """(matches, entries decoded, entries expected): multiset intersection on (address, type, name)."""
    matches = sum((Counter(got) & Counter(want)).values())
    return matches, len(got), len(want)


REAL = {
    # fixture dir: (series, KALLSYMS_ALL, word bytes, endian, seqs_of_names expected)
    "i386-6.1-all": ("6.1", True, 4, "little", True),
    "arm64-6.1": ("6.1", False, 8, "little", True),
    "sparc64-6.1": ("6.1", False, 8, "big", True),
    "i386-6.12": ("6.12", False, 4, "little", True),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_kernel_against_nm(name: str) -> None:
    d = FIX / name
    if not (d / "slice.bin.xz").exists():
        pytest.skip(f"{name}: fixture not built (tools/kallsyms_fixtures/build.sh {name})")
    series, all_syms, word, endian, seqs = REAL[name]
    buf = lzma.decompress((d / "slice.bin.xz").read_bytes())
    k = find_kallsyms(buf, str(d / "slice.bin.xz"))
    assert k is not None, "no kallsyms found in the slice"
    assert (k.word_bytes, k.endian, k.base_relative, k.seqs_of_names) == (word, endian, True, seqs)
    want = kept_by_kallsyms(lzma.decompress((d / "nm.txt.xz").read_bytes()).decode(), all_syms, series)
    matches, n_got, n_want = agreement(decoded(k), want)
    print(f"{name}: {k.describe()}; decoded {n_got}, nm kept {n_want}, matches {matches}")
    assert n_got == n_want
    assert matches >= 0.999 * n_want
    # KALLSYMS_ALL keeps data and BSS symbols; without it only symbols in [_stext, _etext] and
    # [_sinittext, _einittext] (6.1 scripts/kallsyms.c:291-294), and in 6.12 also the
    # __start_*/__stop_* section bounds (6.12 scripts/kallsyms.c:210-216). Ranges from nm.
    nm_at = {n: a for a, _, n in want}
    ranges = [(nm_at["_stext"], nm_at["_etext"]), (nm_at["_sinittext"], nm_at["_einittext"])]
    outside = [n for a, n in zip(k.addresses, k.names(), strict=True)
               if not any(lo <= a <= hi for lo, hi in ranges) and not n.startswith(("__start_", "__stop_"))]
    assert bool(outside) == all_syms, outside[:5]


SYNTH = {
    # name: (word bytes, endian, base_relative, absolute_percpu) as synth.py FORMATS writes them
    "v4.4-64be": (8, "big", False, False),
    "v4.4-64le": (8, "little", False, False),
    "v4.4-32be": (4, "big", False, False),
    "v4.4-32le": (4, "little", False, False),
    "v4.6-percpu-64le": (8, "little", True, True),
}


# v4.4-64be caught an adapter bug (fixed in cpualloc_cli/adapters/kallsyms.py _names_for, one
# line): the .long low word of a big-endian PTR kallsyms_num_syms at q % 8 == 4 was taken for a
# .long num_syms, so kallsyms_addresses was read 4 bytes late (0xffffffff80000000 read as
# 0x80000000ffffffff). Labels are ALGN-ed to the word (6.1 scripts/kallsyms.c:372).
@pytest.mark.parametrize("name", sorted(SYNTH))
def test_synthetic_old_format(name: str) -> None:
    d = FIX / "synth"
    word, endian, rel, percpu = SYNTH[name]
    k = find_kallsyms((d / f"{name}.bin").read_bytes(), str(d / f"{name}.bin"))
    assert k is not None
    want = []
    for line in (d / f"{name}.syms").read_text().splitlines():
        a, t, n = line.split()
        want.append((int(a, 16), t, n))
    assert (k.word_bytes, k.endian, k.base_relative, k.absolute_percpu) == (word, endian, rel, percpu)
    # uleb_lengths is not asserted: with every name under 128 tokens (as here) one-byte lengths
    # and ULEB128 lengths are the same bytes, so the table cannot say which scripts/kallsyms.c wrote it
    assert not k.seqs_of_names
    assert decoded(k) == want

"""Derived sizes of kallsyms symbols (cpualloc_cli/adapters/kallsyms.py compute_derived_sizes and
_trim_x86) on hand-made byte strings; every expected value is worked out by hand in a comment.

x86-64 encodings used (Intel SDM vol. 2: the opcode tables; nops from vol. 2B "NOP" Table 4-12
and 6.1 arch/x86/include/asm/nops.h:51-58; the 10- and 11-byte nops are gas's alt_10/alt_11,
binutils gas/config/tc-i386.c, which pads COUNT bytes as COUNT // 11 eleven-byte nops then one
(COUNT % 11)-byte nop):

    e9 d0 d1 d2 d3   jmp rel32          eb d0   jmp rel8          c3   ret
    ff e0            jmp *%rax          0f 0b   ud2               cc   int3
    0f b9 cc         ud1 %esp,%ecx      31 c0   xor %eax,%eax     e8 d0 d1 d2 d3  call rel32
    90 / 66 90 / 0f 1f 00 / 0f 1f 40 00 / 0f 1f 44 00 00 / 66 0f 1f 44 00 00 /
    0f 1f 80 00 00 00 00 / 0f 1f 84 00 00 00 00 00 / 66 0f 1f 84 00 00 00 00 00 /
    66 2e 0f 1f 84 00 00 00 00 00 / 66 66 2e 0f 1f 84 00 00 00 00 00      nops of 1..11 bytes
"""

from __future__ import annotations

import pytest

from cpualloc_cli.adapters.kallsyms import (
    SHN_ABS,
    DerivedSizes,
    Range,
    _trim_x86,
    compute_derived_sizes,
    ranges_from_sections,
)
from cpualloc_cli.model.image import Section

NOP = {
    1: "90", 2: "6690", 3: "0f1f00", 4: "0f1f4000", 5: "0f1f440000", 6: "660f1f440000",
    7: "0f1f8000000000", 8: "0f1f840000000000", 9: "660f1f840000000000",
    10: "662e0f1f840000000000", 11: "66662e0f1f840000000000",
}
JMP_RET_THUNK = "e99d0f0000"  # jmp rel32 +0xf9d: how a function returns under CONFIG_RETHUNK


def gas_pad(count: int) -> str:
    """gas's pad of `count` bytes: count // 11 eleven-byte nops, then the (count % 11)-byte one."""
    return NOP[11] * (count // 11) + (NOP[count % 11] if count % 11 else "")


def trim(hexbytes: str) -> int:
    buf = bytes.fromhex(hexbytes)
    return _trim_x86(buf, 0, len(buf))


@pytest.mark.parametrize("count", range(1, 32))
def test_a_gas_pad_after_a_jmp_rel32_is_trimmed_to_the_jmp(count: int) -> None:
    # 5 bytes of jmp, then `count` bytes of pad: the function is the 5 bytes. The jmp's
    # displacement ends "0f 00 00", which looks like the tail of a nop but is not one.
    assert trim(JMP_RET_THUNK + gas_pad(count)) == 5


def test_bytes_that_end_like_padding_but_are_code_stay() -> None:
    # jmp rel32 whose high bytes are zero, nothing after: 5 stay (zero bytes are not fill)
    assert trim(JMP_RET_THUNK) == 5
    # call rel32 0x1234 (e8 34 12 00 00): 5 stay
    assert trim("e834120000") == 5
    # xor; jmp rel8 -112 (eb 90): the 90 is the displacement, 4 stay
    assert trim("31c0eb90") == 4
    # jcc rel8 (75 90, jne -112) likewise: 2 stay
    assert trim("7590") == 2
    # a 2-byte nop after the jmp rel8: 2 + 2 = 4 bytes, the 66 90 goes, 2 stay
    assert trim("eb90" + NOP[2]) == 2


def test_int3_fill_is_trimmed_keeping_the_int3_that_belongs_to_the_code() -> None:
    # jmp rel32 (5) then 11 int3 of ld's =0xcccc fill: 5
    assert trim(JMP_RET_THUNK + "cc" * 11) == 5
    # xor (2), ret (1), the SLS int3 (1), then 12 of fill: 2 + 1 + 1 = 4
    assert trim("31c0c3cc" + "cc" * 12) == 4
    # jmp *%rax (2), SLS int3 (1), then 13 of fill: 3
    assert trim("ffe0cc" + "cc" * 13) == 3
    # ud2 (2), jmp rel8 -52 (eb cc: the cc is the displacement), 12 of fill: 4
    assert trim("0f0bebcc" + "cc" * 12) == 4
    # static-call trampoline: jmp rel32 (5), ud1 %esp,%ecx (0f b9 cc, 3), 8 of fill: 8
    assert trim("e900000000" + "0fb9cc" + "cc" * 8) == 8
    # a page of fill costs no byte loop and trims the same way: 5
    assert trim(JMP_RET_THUNK + "cc" * 4096) == 5
    # all fill: 0
    assert trim("cc" * 16) == 0


def test_trim_never_goes_below_the_start() -> None:
    buf = bytes.fromhex("e9000000" + NOP[11])  # the start is at offset 4, inside the jmp
    assert _trim_x86(buf, 4, len(buf)) == 4
    # the 6-byte nop 66 0f 1f 44 00 00 from offset 1 is the 5-byte nop: trimmed to 1, not 0
    assert _trim_x86(bytes.fromhex(NOP[6]), 1, 6) == 1
    # an 11-byte nop then a 3-byte one (14), from offset 2: only the 3-byte nop fits, 14 - 3 = 11
    assert _trim_x86(bytes.fromhex(NOP[11] + NOP[3]), 2, 14) == 11
    assert _trim_x86(b"\xcc\xcc", 1, 2) == 1
    assert _trim_x86(b"\x90", 0, 1) == 0
    assert _trim_x86(b"\x90", 0, 0) == 0


def _layout() -> tuple[list[int], list[Range], bytes]:
    """.text [0x1000, 0x1040) at file offset 0, .data [0x2000, 0x2010) at file offset 0x40,
    .bss [0x3000, 0x3100) NOBITS."""
    text = bytes.fromhex(
        JMP_RET_THUNK + NOP[11]            # 0x1000 f: 5 bytes of code, 11 of pad -> 16 in all
        + "31c0c3cc" + "cc" * 12           # 0x1010 g and g_alias: 4 bytes of code, 12 of fill
        + "0f0b" + "cc" * 30)              # 0x1020 h: ud2, then fill to the end of .text (0x1040)
    data = bytes(16)                       # 0x2000 d1, 0x2008 d2: zeros, which are data
    assert len(text) == 0x40
    ranges = [Range(".bss", 0x3000, 0x3100, 3, False, None),  # given out of order: placed by start
              Range(".text", 0x1000, 0x1040, 1, True, 0),
              Range(".data", 0x2000, 0x2010, 2, False, 0x40),
              Range(".empty", 0x4000, 0x4000, 4, False, None)]  # empty: holds nothing
    addresses = [0x1000, 0x1010, 0x1010, 0x1020, 0x1040, 0x2000, 0x2008, 0x3000, 0x3080, 0x4000, 0x5000]
    return addresses, ranges, text + data


def test_sizes_run_to_the_next_address_in_the_range() -> None:
    addresses, ranges, buf = _layout()
    d = compute_derived_sizes(addresses, ranges, buf)
    assert isinstance(d, DerivedSizes)
    # f: 0x1010 - 0x1000 = 16; g, g_alias: 0x1020 - 0x1010 = 16 (aliases: the next *higher*
    # address); h: _etext 0x1040 - 0x1020 = 32; _etext at 0x1040, .text's end: outside every
    # range (half-open), 0; d1: 8; d2: the next address (0x3000) is past .data's end, so
    # 0x2010 - 0x2008 = 8; b1: 0x80; b2: 0x3100 - 0x3080 = 0x80; 0x4000 (an empty range) and
    # 0x5000: outside every range, 0
    assert list(d.sizes) == [16, 16, 16, 32, 0, 8, 8, 0x80, 0x80, 0, 0]
    assert list(d.shndx) == [1, 1, 1, 1, SHN_ABS, 2, 2, 3, 3, SHN_ABS, SHN_ABS]
    # unbounded: the last symbol of a range with no symbol at the range's end (d2, b2; h is
    # bounded by _etext at .text's end) and those outside every range
    assert list(d.unbounded) == [0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1]
    assert d.trimmed == 0


def test_x86_trim_applies_to_executable_ranges_only() -> None:
    addresses, ranges, buf = _layout()
    d = compute_derived_sizes(addresses, ranges, buf, trim_x86=True)
    # f: 5 (jmp, nop11 trimmed); g, g_alias: 4 (xor, ret, SLS int3); h: 2 (ud2); the zeros
    # of .data stay (8, 8); .bss has no bytes (0x80, 0x80)
    assert list(d.sizes) == [5, 4, 4, 2, 0, 8, 8, 0x80, 0x80, 0, 0]
    assert list(d.unbounded) == [0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1]
    assert d.trimmed == 4  # f, g, g_alias, h
    # without the buffer there is nothing to look at: the untrimmed sizes
    assert list(compute_derived_sizes(addresses, ranges, None, trim_x86=True).sizes)[:4] == [16, 16, 16, 32]
    # a buffer that stops inside .text: ends past it are left as they are (h's end 0x1040 is
    # offset 0x40, past a 0x30-byte buffer); f and g still trim
    assert list(compute_derived_sizes(addresses, ranges, buf[:0x30], trim_x86=True).sizes)[:4] == [5, 4, 4, 32]


def test_edge_inputs() -> None:
    empty = compute_derived_sizes([], [Range(".text", 0, 16, 1, True, 0)])
    assert (len(empty.sizes), empty.unbounded, empty.trimmed) == (0, b"", 0)
    # no ranges: every symbol is outside, unbounded, size 0
    d = compute_derived_sizes([1, 2], [])
    assert (list(d.sizes), list(d.shndx), d.unbounded) == ([0, 0], [SHN_ABS, SHN_ABS], b"\x01\x01")
    # overlapping ranges: a symbol goes to the first range (by start) that holds it;
    # 0x10 is in both [0, 0x20) and [0x10, 0x30): the first; its size is bounded by 0x18 (8)
    d = compute_derived_sizes([0x10, 0x18], [Range("b", 0x10, 0x30, 2, False, None), Range("a", 0, 0x20, 1, False, None)])
    assert (list(d.sizes), list(d.shndx), list(d.unbounded)) == ([8, 8], [1, 1], [0, 1])
    # addresses out of order (a System.map with modules, /proc/kallsyms): the same sizes, in
    # the order given
    addresses, ranges, buf = _layout()
    shuffled = [addresses[i] for i in (10, 3, 0, 7, 1, 9, 2, 5, 8, 4, 6)]
    d = compute_derived_sizes(shuffled, ranges, buf, trim_x86=True)
    by_address = dict(zip(addresses, compute_derived_sizes(addresses, ranges, buf, trim_x86=True).sizes, strict=True))
    assert list(d.sizes) == [by_address[a] for a in shuffled]
    assert list(d.sizes) == [0, 2, 5, 0x80, 4, 0, 4, 8, 0x80, 0, 8]  # from the sorted case above
    assert list(d.unbounded) == [1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1]
    assert list(d.shndx) == [SHN_ABS, 1, 1, 3, 1, SHN_ABS, 1, 2, 3, SHN_ABS, 2]


def test_ranges_from_sections() -> None:
    def sec(index: int, name: str, type_code: int, flags: int, address: int, offset: int, size: int) -> Section:
        return Section(index, name, "", type_code, flags, address, offset, size, 0, 0, 0, 1)
    # SHT_PROGBITS 1, SHT_NOBITS 8; SHF_ALLOC 2, SHF_EXECINSTR 4
    got = ranges_from_sections([sec(0, "", 0, 0, 0, 0, 0), sec(1, ".text", 1, 6, 0x1000, 0x200, 0x40),
                                sec(2, ".data", 1, 3, 0x2000, 0x240, 0x10), sec(3, ".bss", 8, 3, 0x3000, 0x250, 0x100),
                                sec(4, ".comment", 1, 0x30, 0, 0x250, 0x20), sec(5, ".tbss", 8, 3, 0x3100, 0x250, 0)])
    assert got == [Range(".text", 0x1000, 0x1040, 1, True, 0x200), Range(".data", 0x2000, 0x2010, 2, False, 0x240),
                   Range(".bss", 0x3000, 0x3100, 3, False, None)]

"""Symbols for a payload without section headers (an arm64 Image), from its kallsyms: the
pseudo image adapters/kallsyms_symbols.py builds. Fixture: tests/fixtures/kallsyms/arm64-6.1
(tools/kallsyms_fixtures/build.sh: tinyconfig + KALLSYMS, no KALLSYMS_ALL, so text symbols
only), the slice of the Image holding the tables, and `nm -n` of the same build's vmlinux.

Oracle: nm's list filtered by kallsyms's own rules (test_kallsyms_formats.kept_by_kallsyms,
whose docstring cites scripts/mksysmap and scripts/kallsyms.c). The pseudo .text section is
[_stext, _etext) by nm's addresses; each derived size is worked out here from nm's addresses:
the next higher address among the kept symbols, capped at _etext (a derived size's definition,
adapters/kallsyms.py compute_derived_sizes; no padding trim off x86)."""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest
from test_kallsyms_formats import kept_by_kallsyms

from cpualloc_cli.adapters.kallsyms_symbols import kallsyms_raw, pseudo_image

FIX = Path(__file__).parent / "fixtures" / "kallsyms" / "arm64-6.1"


def test_arm64_pseudo_image_sections_and_derived_sizes() -> None:
    if not (FIX / "slice.bin.xz").is_file():
        pytest.skip("arm64-6.1 kallsyms fixture not built (tools/kallsyms_fixtures/build.sh arm64-6.1)")
    buf = lzma.decompress((FIX / "slice.bin.xz").read_bytes())
    raw = kallsyms_raw(buf, "slice", None)
    assert raw is not None
    image = pseudo_image("Image", raw, 8, "little", arch="arm64", file_size=len(buf))
    assert image is not None and image.symbols is not None
    want = kept_by_kallsyms(lzma.decompress((FIX / "nm.txt.xz").read_bytes()).decode(), False, "6.1")
    at = {n: a for a, _, n in want}
    text = image.section(".text")
    assert text is not None and (text.address, text.end) == (at["_stext"], at["_etext"])
    assert any("no section headers" in n for n in image.notes)
    # derived sizes from nm's addresses
    addrs = sorted({a for a, _, _ in want})
    nxt = {a: b for a, b in zip(addrs, addrs[1:], strict=False)}
    expect = {}
    for a, letter, name in want:
        if at["_stext"] <= a < at["_etext"]:
            expect[(a, name)] = (min(nxt.get(a, at["_etext"]), at["_etext"]) - a, letter)
    s = image.symbols
    got = {(int(s.values[i]), s.name(i)): (int(s.sizes[i]), s.nm_types[i], s.size_source(i))
           for i in range(1, len(s)) if s.shndx[i] == text.index}
    assert set(got) == set(expect)
    wrong = [(k, got[k], expect[k]) for k in expect if got[k][:2] != expect[k]]
    assert not wrong, wrong[:5]
    assert {v[2] for v in got.values()} <= {"derived", "unbounded"}
    print(f"arm64 pseudo .text: {len(got)} symbols, derived sizes equal to nm's address gaps")

"""Headers, sections, segments and the whole symbol table against `readelf -h`, `-S -W`,
`-l -W` and `-s -W` recorded from GNU binutils 2.40: on every repo fixture, and on the real
kernels in ../shared/kernels (skipped when absent, failing when present but broken)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import KERNELS, need_shared
from oracles import (
    fixture_dir,
    fixture_elf,
    has_record,
    load_index,
    parse_readelf_h,
    parse_readelf_l,
    parse_readelf_S,
    parse_readelf_s,
    read_record,
    readelf_h_int,
)

from cpualloc_cli.adapters.elf import read_elf
from cpualloc_cli.model.image import ElfImage, readelf_flag_letters, segment_flag_letters

FIXTURE_NAMES = [fx["name"] for fx in load_index()]
REAL = ["sparc64-tiny-nr64", "sparc64-tiny-nr256", "x86_64-tiny"]
STT = {"NOTYPE": 0, "OBJECT": 1, "FUNC": 2, "SECTION": 3, "FILE": 4, "COMMON": 5, "TLS": 6, "IFUNC": 10,
       "REGISTER": 13}
STB = {"LOCAL": 0, "GLOBAL": 1, "WEAK": 2, "UNIQUE": 10}


def _check(img: ElfImage, folder: Path) -> None:
    h = parse_readelf_h(read_record(folder, "readelf-h.txt"))
    assert f"ELF{img.header.elf_class}" == h["Class"]
    assert img.header.endian in h["Data"]
    assert img.header.machine == h["Machine"]
    assert h["Type"].split()[0] == img.header.file_type
    assert img.header.entry == int(h["Entry point address"], 16)
    assert img.header.section_count == readelf_h_int(h, "Number of section headers")

    rows = parse_readelf_S(read_record(folder, "readelf-S.txt"))
    got = [(s.index, s.name, s.type, s.address, s.offset, s.size_bytes, s.entsize, readelf_flag_letters(s.flags),
            s.link, s.info, s.alignment) for s in img.sections]
    want = [(r["nr"], r["name"], r["type"], r["addr"], r["off"], r["size"], r["es"], r["flags"], r["lk"], r["inf"],
             r["al"]) for r in rows]
    assert got == want

    if has_record(folder, "readelf-l.txt"):
        segs = parse_readelf_l(read_record(folder, "readelf-l.txt"))
        # readelf prints the type column as %-14.14s
        got_l = [(g.type[:14], g.offset, g.vaddr, g.paddr, g.filesz, g.memsz, segment_flag_letters(g.flags).replace(" ", ""),
                  g.alignment) for g in img.segments]
        want_l = [(r["type"], r["offset"], r["vaddr"], r["paddr"], r["filesz"], r["memsz"], r["flags"], r["align"])
                  for r in segs]
        assert got_l == want_l

    syms = [r for r in parse_readelf_s(read_record(folder, "readelf-s.txt")) if r["table"] == ".symtab"]
    s = img.symbols
    if s is None:
        assert syms == []
        return
    assert len(syms) == len(s)
    for i, r in enumerate(syms):
        name = s.names[i]
        if r["type"] == "SECTION" and name == "":
            name = img.sections[s.shndx[i]].name  # readelf shows an unnamed section symbol by its section
        got_s = (s.values[i], s.sizes[i], s.elf_types[i], s.binds[i], name)
        assert got_s == (r["value"], r["size"], STT[r["type"]], STB[r["bind"]], r["name"]), f"symbol {i}"
        if r["ndx_int"] is not None:
            assert s.shndx[i] == r["ndx_int"], f"symbol {i} section index"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_matches_readelf(name: str, tmp_path: Path) -> None:
    _check(read_elf(str(fixture_elf(name, tmp_path))), fixture_dir(name))


@pytest.mark.realkernel
@pytest.mark.parametrize("name", REAL)
def test_real_kernel_matches_readelf(name: str, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    need_shared()
    _check(read_elf(str(kernel_vmlinux(name))), KERNELS / name)

"""inspect against the real Linux 6.1 kernels in ../shared/kernels: every number equals what
GNU binutils 2.40 printed for the same file (size.txt, size-A.txt, nm.txt, readelf-*.txt)."""

from __future__ import annotations

import json
import lzma
import re
from pathlib import Path

import pytest
from conftest import run_cli

from cpualloc_cli.adapters.elf import nm_size_sort_order, read_elf
from cpualloc_cli.analysis.extent import compute_extents, compute_percpu
from cpualloc_cli.analysis.sizes import compute_berkeley, compute_sysv
from cpualloc_cli.model.image import readelf_flag_letters, segment_flag_letters
from cpualloc_cli.render.inspect_text import nm_lines

KERNELS = ["sparc64-tiny-nr64", "sparc64-tiny-nr256", "x86_64-tiny"]


def _oracle(shared: Path, name: str, file: str) -> str:
    p = shared / name / file
    if not p.is_file():
        pytest.fail(f"{p} missing although ../shared/kernels is present")
    if file.endswith(".xz"):
        return lzma.decompress(p.read_bytes()).decode()
    return p.read_text()


@pytest.mark.realkernel
@pytest.mark.parametrize("name", KERNELS)
def test_berkeley_equals_gnu_size(name: str, shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    img = read_elf(str(kernel_vmlinux(name)))
    text, data, bss, dec, hexa = _oracle(shared_kernels, name, "size.txt").splitlines()[1].split()[:5]
    b = compute_berkeley(img)
    assert (b.text, b.data, b.bss, b.dec, b.hex) == (int(text), int(data), int(bss), int(dec), hexa)


@pytest.mark.realkernel
@pytest.mark.parametrize("name", KERNELS)
def test_sysv_equals_size_A(name: str, shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    img = read_elf(str(kernel_vmlinux(name)))
    rows, total = compute_sysv(img)
    expected = []
    expected_total = None
    for line in _oracle(shared_kernels, name, "size-A.txt").splitlines()[2:]:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "Total":
            expected_total = int(parts[1])
        else:
            expected.append((parts[0], int(parts[1]), int(parts[2])))
    assert [(r.name, r.size_bytes, r.address) for r in rows] == expected
    assert total == expected_total


@pytest.mark.realkernel
@pytest.mark.parametrize("name", KERNELS)
def test_symbols_equal_nm_size_sort(name: str, shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    img = read_elf(str(kernel_vmlinux(name)))
    ours = nm_lines(img, nm_size_sort_order(img))
    assert ours == _oracle(shared_kernels, name, "nm.txt")


@pytest.mark.realkernel
@pytest.mark.parametrize("name", KERNELS)
def test_cli_symbols_text_is_nm_output(name: str, shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = run_cli(["inspect", "--symbols", str(kernel_vmlinux(name))])
    assert rc == 0, err
    assert out == _oracle(shared_kernels, name, "nm.txt")


SECTION_RE = re.compile(r"^\s*\[\s*(\d+)\] (.*?)\s+(\S+)\s+([0-9a-f]{8,16}) ([0-9a-f]{6,}) ([0-9a-f]{6,}) "
                        r"([0-9a-f]{2}) (.{3}) +(\d+) +(\d+) +(\d+)$")
SEGMENT_RE = re.compile(r"^\s+(\S+)\s+(0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (.{3}) "
                        r"(0x[0-9a-f]+)$")
SYMBOL_RE = re.compile(r"^\s*(\d+): ([0-9a-f]+)\s+(\d+|0x[0-9a-f]+) (\S+)\s+(\S+)\s+(\S+)\s+(\S+) ?(.*)$")


@pytest.mark.realkernel
@pytest.mark.parametrize("name", KERNELS)
def test_sections_equal_readelf_S(name: str, shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    img = read_elf(str(kernel_vmlinux(name)))
    rows = []
    for line in _oracle(shared_kernels, name, "readelf-S.txt").splitlines():
        m = SECTION_RE.match(line)
        if m:
            g = m.groups()
            rows.append((int(g[0]), g[1].strip(), g[2], int(g[3], 16), int(g[4], 16), int(g[5], 16), int(g[6], 16),
                         g[7].strip(), int(g[8]), int(g[9]), int(g[10])))
    assert len(rows) == img.header.section_count
    got = [(s.index, s.name, s.type, s.address, s.offset, s.size_bytes, s.entsize, readelf_flag_letters(s.flags),
            s.link, s.info, s.alignment) for s in img.sections]
    assert got == rows


@pytest.mark.realkernel
@pytest.mark.parametrize("name", KERNELS)
def test_header_and_segments_equal_readelf(name: str, shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    img = read_elf(str(kernel_vmlinux(name)))
    h = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in
                                          _oracle(shared_kernels, name, "readelf-h.txt").splitlines()[1:] if ":" in line)}
    assert f"ELF{img.header.elf_class}" == h["Class"]
    assert img.header.endian in h["Data"]
    assert img.header.machine == h["Machine"]
    assert h["Type"].startswith(img.header.file_type)
    assert img.header.entry == int(h["Entry point address"], 16)
    assert img.header.section_count == int(h["Number of section headers"])
    segs = []
    for line in _oracle(shared_kernels, name, "readelf-l.txt").splitlines():
        m = SEGMENT_RE.match(line)
        if m:
            g = m.groups()
            segs.append((g[0], *(int(x, 16) for x in g[1:6]), g[6], int(g[7], 16)))
    got = [(g.type, g.offset, g.vaddr, g.paddr, g.filesz, g.memsz, segment_flag_letters(g.flags), g.alignment)
           for g in img.segments]
    assert got == segs


@pytest.mark.realkernel
@pytest.mark.parametrize("name", KERNELS)
def test_symbol_table_equals_readelf_s(name: str, shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    """Every symbol, zero-sized ones (_text, _end) included, against readelf -s -W."""
    img = read_elf(str(kernel_vmlinux(name)))
    s = img.symbols
    assert s is not None
    rows = [m.groups() for m in map(SYMBOL_RE.match, _oracle(shared_kernels, name, "readelf-s.txt.xz").splitlines()) if m]
    assert len(rows) == len(s)
    types = {"NOTYPE": 0, "OBJECT": 1, "FUNC": 2, "SECTION": 3, "FILE": 4, "COMMON": 5, "TLS": 6, "IFUNC": 10, "REGISTER": 13}
    binds = {"LOCAL": 0, "GLOBAL": 1, "WEAK": 2, "UNIQUE": 10}
    for i, (num, value, size, typ, bind, _vis, _ndx, nm) in enumerate(rows):
        assert int(num) == i
        got = (s.values[i], s.sizes[i], s.elf_types[i], s.binds[i], s.names[i])
        if typ == "SECTION" and s.names[i] == "":
            # readelf prints an unnamed section symbol under its section's name
            got = got[:4] + (img.sections[s.shndx[i]].name,)
        assert got == (int(value, 16), int(size, 0), types[typ], binds[bind], nm), f"symbol {i}"


@pytest.mark.realkernel
def test_sparc64_extent_starts_at_kernbase(shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    """sparc64 maps from KERNBASE 0x400000; readelf -l shows the one PT_LOAD at 0x400000 with
    MemSiz 0x1c8470, i.e. _end = 0x5c8470 and _end - KERNBASE = 0x1c8470 = 1,868,912 B.
    BSS (readelf -S: .bss size 0x12470 = 74,864 B) is 74864 / 1868912 = 4.0 % of it."""
    img = read_elf(str(kernel_vmlinux("sparc64-tiny-nr64")))
    loader, text_to_end = compute_extents(img)
    assert (loader.start_name, loader.start, loader.end) == ("KERNBASE", 0x400000, 0x5C8470)
    assert loader.size_bytes == 0x1C8470 == 1_868_912
    assert loader.bss_bytes == 0x12470
    assert (text_to_end.start_name, text_to_end.start) == ("_text", 0x404000)
    assert text_to_end.size_bytes == 0x5C8470 - 0x404000
    pc = compute_percpu(img)
    assert (pc.section, pc.size_bytes, pc.address) == (".data..percpu", 0x4158, 0x5AE000)


@pytest.mark.realkernel
def test_x86_64_extent_is_end_minus_load_offset(shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    """x86's check is _end - LOAD_OFFSET (0xffffffff80000000). The last PT_LOAD ends at
    0xffffffff81844000 + 0x1d2000 = 0xffffffff81a16000 (= _end), so the figure is 0x1a16000
    = 27,353,088 B (PHYSICAL_START's 16 MiB included); _end - _text = 0xa16000."""
    img = read_elf(str(kernel_vmlinux("x86_64-tiny")))
    loader, text_to_end = compute_extents(img)
    assert (loader.start_name, loader.start, loader.size_bytes) == ("LOAD_OFFSET", 0xFFFFFFFF80000000, 0x1A16000)
    assert text_to_end.size_bytes == 0xA16000
    # .bss 0x14d000 + .brk 0x16000 (readelf -S), the NOBITS sections inside the extent
    assert loader.bss_bytes == 0x14D000 + 0x16000


@pytest.mark.realkernel
def test_json_agrees_with_size(shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = run_cli(["inspect", "--format", "json", "--symbols", str(kernel_vmlinux("sparc64-tiny-nr256"))])
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["tool"]["name"] == "cpualloc"
    img = doc["images"][0]
    text, data, bss, dec, hexa = _oracle(shared_kernels, "sparc64-tiny-nr256", "size.txt").splitlines()[1].split()[:5]
    assert img["size"] == {"text": int(text), "data": int(data), "bss": int(bss), "dec": int(dec), "hex": hexa}
    nm = _oracle(shared_kernels, "sparc64-tiny-nr256", "nm.txt").splitlines()
    rows = img["symbols"]["rows"]
    assert len(rows) == len(nm)
    for row, line in zip(rows, nm, strict=True):
        a, sz, t, n = line.split(" ", 3)
        assert row == [int(a, 16), int(sz, 16), t, n]

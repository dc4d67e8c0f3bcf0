"""inspect against the real Linux 6.1 kernels in ../shared/kernels: every number equals what
GNU binutils 2.40 printed for the same file (size.txt, size-A.txt, nm.txt; the readelf
records are checked in test_inspect_readelf.py)."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import pytest
from conftest import run_cli
from oracles import parse_readelf_S

from cpualloc_cli.adapters.elf import nm_size_sort_order, read_elf
from cpualloc_cli.analysis.extent import compute_extents, compute_percpu
from cpualloc_cli.analysis.sizes import compute_berkeley, compute_sysv
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
    assert img["symbols"]["columns"] == ["address", "size_bytes", "type", "name", "size_source"]
    for row, line in zip(rows, nm, strict=True):
        a, sz, t, n = line.split(" ", 3)
        assert row == [int(a, 16), int(sz, 16), t, n, "symtab"]  # the vmlinux's own .symtab


@pytest.mark.realkernel
@pytest.mark.parametrize("name", KERNELS)
def test_cli_top_symbols_are_nms_largest(name: str, shared_kernels: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    """Without --symbols inspect sorts only what its top lists reach. The lists must still be
    nm's largest: nm.txt's lines (nm's order) stably re-sorted by descending size, overall and
    for the lines whose address lies in .bss as readelf -S records it."""
    rc, out, err = run_cli(["inspect", "--format", "json", "--top", "25", "--section", ".bss",
                            str(kernel_vmlinux(name))])
    assert rc == 0, err
    image = json.loads(out)["images"][0]
    lines = [line.split(maxsplit=3) for line in _oracle(shared_kernels, name, "nm.txt").splitlines()]
    nm = [(n, int(size, 16), letter) for _addr, size, letter, n in lines]
    largest = sorted(nm, key=lambda row: -row[1])
    assert [(s["name"], s["size_bytes"]) for s in image["top_symbols"]] == [(n, sz) for n, sz, _ in largest[:25]]
    bss_sec = next(sec for sec in parse_readelf_S(_oracle(shared_kernels, name, "readelf-S.txt"))
                   if sec["name"] == ".bss")
    in_bss = {n for _addr, _size, _letter, n in lines
              if bss_sec["addr"] <= int(_addr, 16) < bss_sec["addr"] + bss_sec["size"]}
    bss = [row for row in largest if row[0] in in_bss]
    assert len(bss) > 25
    assert [(s["name"], s["size_bytes"]) for s in image["top_by_section"][".bss"]] == [(n, sz) for n, sz, _ in bss[:25]]

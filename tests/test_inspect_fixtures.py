"""inspect on the repo's small ELF fixtures (tests/fixtures/elf, built by make_fixtures.py with
Debian's cross toolchains): GNU size, size -A, size --common and nm -S --size-sort output
recorded beside each fixture are the oracles, number by number."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

from cpualloc_cli.adapters.elf import nm_size_sort_order, read_elf
from cpualloc_cli.analysis.extent import compute_extents, compute_percpu
from cpualloc_cli.analysis.inspect import compute_inspect_report, top_scopes
from cpualloc_cli.analysis.sizes import compute_berkeley, compute_sysv
from cpualloc_cli.model.image import ElfImage
from cpualloc_cli.render.inspect_text import nm_lines

ELF = FIXTURES / "elf"
INDEX = json.loads((ELF / "index.json").read_text())["fixtures"]


def _text(folder: Path, name: str) -> str | None:
    if (folder / name).is_file():
        return (folder / name).read_text()
    if (folder / (name + ".xz")).is_file():
        return lzma.decompress((folder / (name + ".xz")).read_bytes()).decode()
    return None


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ElfImage]:
    out: dict[str, ElfImage] = {}
    tmp = tmp_path_factory.mktemp("elf")
    for fx in INDEX:
        path = ELF / fx["file"]
        if not path.is_file() and (ELF / (fx["file"] + ".xz")).is_file():
            path = tmp / fx["name"]
            path.write_bytes(lzma.decompress((ELF / (fx["file"] + ".xz")).read_bytes()))
        elif path.suffix == ".xz":
            dest = tmp / fx["name"]
            dest.write_bytes(lzma.decompress(path.read_bytes()))
            path = dest
        out[fx["name"]] = read_elf(str(path))
    return out


NAMES = [fx["name"] for fx in INDEX]
# the fixture index names toolchains; cpualloc names kernel arches
ARCH_NAMES = {"i686": "i386", "aarch64": "arm64", "ppc32": "powerpc", "ppc64": "powerpc64", "riscv64": "riscv"}


@pytest.mark.parametrize("name", NAMES)
def test_berkeley(name: str, images: dict[str, ElfImage]) -> None:
    line = _text(ELF / name, "size.txt")
    assert line is not None
    text, data, bss, dec, hexa = line.splitlines()[1].split()[:5]
    b = compute_berkeley(images[name])
    assert (b.text, b.data, b.bss, b.dec, b.hex) == (int(text), int(data), int(bss), int(dec), hexa)
    common = _text(ELF / name, "size-common.txt")
    if common is not None:
        text, data, bss, dec, hexa = common.splitlines()[1].split()[:5]
        c = compute_berkeley(images[name], common=True)
        assert (c.text, c.data, c.bss, c.dec, c.hex) == (int(text), int(data), int(bss), int(dec), hexa)


@pytest.mark.parametrize("name", NAMES)
def test_size_A(name: str, images: dict[str, ElfImage]) -> None:
    recorded = _text(ELF / name, "size-A.txt")
    assert recorded is not None
    expected, total = [], None
    for line in recorded.splitlines()[2:]:
        parts = line.split()
        if parts and parts[0] == "Total":
            total = int(parts[1])
        elif parts:
            expected.append((parts[0], int(parts[1]), int(parts[2])))
    rows, our_total = compute_sysv(images[name])
    assert [(r.name, r.size_bytes, r.address) for r in rows] == expected
    assert our_total == total


@pytest.mark.parametrize("name", NAMES)
def test_nm_size_sort(name: str, images: dict[str, ElfImage]) -> None:
    recorded = _text(ELF / name, "nm.txt")
    assert recorded is not None
    img = images[name]
    ours = nm_lines(img, nm_size_sort_order(img)) if img.symbols is not None else ""
    assert ours == recorded


def test_common_symbols_count_only_with_common(images: dict[str, ElfImage]) -> None:
    """A .o's COMMON symbols are not in any section: GNU size leaves them out of bss unless
    --common (size.txt vs size-common.txt of the same object)."""
    name = next(fx["name"] for fx in INDEX if "common-symbols" in fx.get("quirks", []))
    img = images[name]
    plain, common = compute_berkeley(img), compute_berkeley(img, common=True)
    assert common.bss - plain.bss == img.common_bytes > 0


def test_writable_rodata_counts_as_data(images: dict[str, ElfImage]) -> None:
    img = images["sparc64-smp"]
    ro = img.section(".rodata")
    assert ro is not None and ro.flags & 0x1  # SHF_WRITE, as readelf -S shows "WA"
    b = compute_berkeley(img)
    recorded = _text(ELF / "sparc64-smp", "size.txt")
    assert recorded is not None
    assert b.data == int(recorded.splitlines()[1].split()[1])


def test_stripped_image_gets_extent_from_segments(images: dict[str, ElfImage]) -> None:
    img = images["x86_64-stripped"]
    assert img.symbols is None
    assert any("no .symtab" in n for n in img.notes)
    extents = compute_extents(img)
    assert extents, "a stripped EXEC image still has an extent from PT_LOAD/SHF_ALLOC"
    # The same image unstripped (x86_64-smp) has _end; the stripped extent must end there too.
    full = images["x86_64-smp"]
    assert full.symbols is not None
    # Without symbols the end is the highest SHF_ALLOC section end (.bss here), a lower
    # bound on _end, which the linker script may align further up (below one page).
    end = full.symbols.find("_end")
    assert end is not None
    bss = full.section(".bss")
    assert bss is not None
    assert extents[0].end == bss.address + bss.size_bytes <= end < extents[0].end + 4096
    assert extents[0].start == 0xFFFFFFFF80000000


def test_percpu_linked_at_zero_is_not_the_start(images: dict[str, ElfImage]) -> None:
    img = images["x86_64-smp"]
    pc = compute_percpu(img)
    assert pc.address == 0 and pc.linked_at_zero and pc.size_bytes > 0
    for e in compute_extents(img):
        assert e.start >= 0xFFFFFFFF80000000


def test_empty_percpu_on_up(images: dict[str, ElfImage]) -> None:
    pc = compute_percpu(images["x86_64-up"])
    assert pc.section == ".data..percpu" and pc.size_bytes == 0


def test_cli_inspect_every_fixture_exits_0(images: dict[str, ElfImage]) -> None:
    for fx in INDEX:
        path = ELF / fx["file"]
        if not path.is_file() or path.suffix == ".xz":
            continue
        rc, out, err = run_cli(["inspect", "--format", "json", str(path)])
        assert rc == 0, (fx["name"], err)
        doc = json.loads(out)
        assert doc["images"][0]["header"]["arch"] == ARCH_NAMES.get(fx["arch"], fx["arch"])


@pytest.mark.parametrize("name", NAMES)
def test_top_lists_from_the_reachable_part_equal_those_from_the_full_order(name: str,
                                                                          images: dict[str, ElfImage]) -> None:
    """inspect without --symbols sorts only what a top-N list can reach; the lists must be the
    ones the full (nm-checked) order gives, ties and all."""
    img = images[name]
    full = nm_size_sort_order(img)
    for top_n in (0, 1, 3, 10):
        for sections in ((), (".bss",), (".data", ".text", ".bss", ".no-such")):
            part = nm_size_sort_order(img, largest=top_n, scopes=top_scopes(img, sections))
            a = compute_inspect_report(img, full, top_n=top_n, sections=sections)
            b = compute_inspect_report(img, part, top_n=top_n, sections=sections)
            assert (b.top, b.top_by_section, b.percpu) == (a.top, a.top_by_section, a.percpu)
            kept = set(part)
            assert [i for i in full if i in kept] == part  # a subsequence, in the same order
            assert len(a.top) == min(top_n, len(full))

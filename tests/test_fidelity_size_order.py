"""Issue 18 item 5: `size -A` lists sections in the order BFD creates them, which is not always
section-header order: bfd/elf.c bfd_section_from_shdr, meeting a string table before the symbol
tables that use it, first creates the sections that link to it. Debian's s390x vmlinux has
.dynstr (index 3) before .dynamic (19) and .dynsym (35), and GNU size -A lists .dynamic, .dynsym,
.dynstr. The fixture reproduces that layout (tests/fixtures/userspace/dynstr-first.lds,
make_userspace.py) with GNU size -A 2.40 recorded beside it."""

from __future__ import annotations

from conftest import FIXTURES

from cpualloc_cli.adapters.elf import read_elf
from cpualloc_cli.analysis.sizes import compute_sysv
from cpualloc_cli.model.bfd import bfd_creation_order
from cpualloc_cli.model.image import SHT_DYNSYM, SHT_PROGBITS, SHT_STRTAB, Section

HERE = FIXTURES / "userspace"


def _gnu_size_a(path: str) -> list[tuple[str, int, int]]:
    rows = []
    for line in (HERE / path).read_text().splitlines()[2:]:
        parts = line.split()
        if len(parts) == 3 and parts[0] != "Total":
            rows.append((parts[0], int(parts[1]), int(parts[2])))
    return rows


def test_dynstr_first_layout_equals_gnu_size_a() -> None:
    gnu = _gnu_size_a("dynstr-first.size-A.txt")
    names = [n for n, _, _ in gnu]
    assert names.index(".dynamic") < names.index(".dynsym") < names.index(".dynstr")  # the recorded quirk
    img = read_elf(str(HERE / "dynstr-first.so"))
    idx = {s.name: s.index for s in img.sections}
    assert idx[".dynstr"] < idx[".dynamic"] < idx[".dynsym"]  # header order differs from GNU's listing
    rows, total = compute_sysv(img)
    assert [(r.name, r.size_bytes, r.address) for r in rows] == gnu
    assert total == int((HERE / "dynstr-first.size-A.txt").read_text().split("Total")[1].split()[0])


def _sec(index: int, name: str, type_code: int, link: int) -> Section:
    return Section(index=index, name=name, type=str(type_code), type_code=type_code, flags=2, address=0, offset=0,
                   size_bytes=1, entsize=0, link=link, info=0, alignment=1)


def test_creation_order_stops_at_the_dynamic_symbol_table() -> None:
    # By the rule cited above: [2] .dynstr is met first; the sections linking to it are created in
    # index order up to the one that is the .dynsym ([4]), then .dynstr; [5] (also linking to 2)
    # comes in its own turn.
    secs = [_sec(0, "", 0, 0), _sec(1, ".text", SHT_PROGBITS, 0), _sec(2, ".dynstr", SHT_STRTAB, 0),
            _sec(3, ".dynamic", 6, 2), _sec(4, ".dynsym", SHT_DYNSYM, 2), _sec(5, ".gnu.version_d", 0x6FFFFFFD, 2)]
    assert bfd_creation_order(secs) == [1, 3, 4, 2, 5]
    # the usual layout (.dynsym, then .dynstr) keeps header order
    secs = [_sec(0, "", 0, 0), _sec(1, ".dynsym", SHT_DYNSYM, 2), _sec(2, ".dynstr", SHT_STRTAB, 0),
            _sec(3, ".dynamic", 6, 2)]
    assert bfd_creation_order(secs) == [1, 2, 3]

"""The ELF fixtures and the oracle parsers are complete and say what they claim.

Two kinds of checks:
- parsing is complete: every record parses, and row counts equal the counts the tools
  themselves state (readelf's "There are N section headers", "contains N entries", ...),
  on the fixtures and on the real kernels in ../shared/kernels;
- each fixture has the quirk it was built for, stated from the recorded GNU output and
  hand arithmetic (never from cpualloc).
"""

from __future__ import annotations

import lzma
import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import need_shared
from oracles import (
    ELF_FIXTURES,
    fixture_elf,
    has_record,
    load_index,
    parse_nm,
    parse_readelf_h,
    parse_readelf_l,
    parse_readelf_S,
    parse_readelf_s,
    parse_size,
    parse_size_A,
    parse_size_rows,
    read_record,
    readelf_h_int,
    readelf_l_count,
    readelf_S_count,
    readelf_s_counts,
)

MIB = 1 << 20
INDEX = load_index()
NAMES = [e["name"] for e in INDEX]
BY_NAME = {e["name"]: e for e in INDEX}
REAL_KERNELS = ["sparc64-tiny-nr64", "sparc64-tiny-nr256", "x86_64-tiny"]


def fx(name: str) -> Path:
    return ELF_FIXTURES / name


def symbols(folder: Path) -> list[dict[str, Any]]:
    return parse_readelf_s(read_record(folder, "readelf-s.txt"))


def symbol(folder: Path, name: str) -> dict[str, Any]:
    hits = [s for s in symbols(folder) if s["name"] == name and s["table"] == ".symtab"]
    assert len(hits) == 1, f"{name}: {len(hits)} symbols"
    return hits[0]


def section(folder: Path, name: str) -> dict[str, Any]:
    hits = [s for s in parse_readelf_S(read_record(folder, "readelf-S.txt")) if s["name"] == name]
    assert len(hits) == 1, f"{name}: {len(hits)} sections"
    return hits[0]


# ----------------------------------------------------------------- generic completeness


def check_records(folder: Path, *, rel: bool) -> None:
    """Parse every record in FOLDER and check it against the counts the tools state."""
    header = parse_readelf_h(read_record(folder, "readelf-h.txt"))
    # BFD sign-extends 32-bit MIPS addresses: size -A and nm print 0x80100000 as 0xffffffff80100000
    mask = (1 << 32) - 1 if header["Class"] == "ELF32" else (1 << 64) - 1

    s_text = read_record(folder, "readelf-S.txt")
    sections = parse_readelf_S(s_text)
    assert len(sections) == readelf_S_count(s_text) == readelf_h_int(header, "Number of section headers")
    assert [s["nr"] for s in sections] == list(range(len(sections)))
    assert sections[0]["type"] == "NULL"
    assert readelf_h_int(header, "Section header string table index") == \
        next(s["nr"] for s in sections if s["name"] == ".shstrtab")

    if not rel:
        l_text = read_record(folder, "readelf-l.txt")
        segs = parse_readelf_l(l_text)
        assert len(segs) == readelf_l_count(l_text) == readelf_h_int(header, "Number of program headers")
        names = {s["name"] for s in sections}
        for seg in segs:
            if seg["type"] == "LOAD":  # not others: riscv's RISCV_ATTRIBUT has filesz 0x53, memsz 0
                assert seg["filesz"] <= seg["memsz"]
            assert set(seg["sections"]) <= names
        assert any(seg["type"] == "LOAD" for seg in segs)

    size = parse_size(read_record(folder, "size.txt"))
    assert size.dec == size.text + size.data + size.bss
    assert size.hex == size.dec

    size_a = parse_size_A(read_record(folder, "size-A.txt"))
    assert size_a.total == sum(r[1] for r in size_a.rows)
    by_name = {s["name"]: s for s in sections}
    for name, sz, addr in size_a.rows:  # every row of size -A is a section readelf shows, same size and address
        assert (by_name[name]["size"], by_name[name]["addr"]) == (sz, addr & mask), name

    s_sym = read_record(folder, "readelf-s.txt")
    syms = parse_readelf_s(s_sym)
    counts = readelf_s_counts(s_sym)
    for table, n in counts.items():
        rows = [r for r in syms if r["table"] == table]
        assert [r["num"] for r in rows] == list(range(n)), table

    nm = parse_nm(read_record(folder, "nm.txt"))
    assert all(r.size > 0 for r in nm)  # --size-sort leaves out zero-size symbols
    assert [r.size for r in nm] == sorted(r.size for r in nm)
    symtab = [r for r in syms if r["table"] == ".symtab"]
    keyed = {(r["name"], r["value"], r["size"]) for r in symtab}
    commons = {(r["name"], r["size"]) for r in symtab if r["ndx"] == "COM"}
    for row in nm:
        assert row.addr is not None
        if row.type == "C":  # nm prints a COMMON symbol's size where the value goes; readelf shows its alignment
            assert row.addr == row.size and (row.name, row.size) in commons, row
            continue
        assert (row.name, row.addr & mask, row.size) in keyed, row
    # nm -S --size-sort lists exactly the defined, sized, non-debugging symbols of .symtab
    listed = [r for r in symtab if r["size"] > 0 and r["ndx"] != "UND" and r["type"] not in ("FILE", "SECTION")]
    assert len(nm) == len(listed)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_records_parse_completely(name: str) -> None:
    check_records(fx(name), rel=BY_NAME[name]["kind"] == "rel")


@pytest.mark.realkernel
@pytest.mark.parametrize("name", REAL_KERNELS)
def test_real_kernel_records_parse_completely(name: str) -> None:
    folder = need_shared() / name
    if not folder.is_dir():
        pytest.fail(f"{folder} is missing although ../shared/kernels is present")
    check_records(folder, rel=False)


@pytest.mark.realkernel
def test_real_kernel_numbers_by_hand() -> None:
    """Spot values read off the recordings by eye, to make sure the parsers return those numbers."""
    k = need_shared()
    assert parse_size(read_record(k / "sparc64-tiny-nr64", "size.txt")) == (1437036, 306544, 74864, 1818444, 0x1BBF4C)
    sec = {s["name"]: s for s in parse_readelf_S(read_record(k / "sparc64-tiny-nr64", "readelf-S.txt"))}
    assert sec[".rodata"]["flags"] == "WA" and sec[".rodata"]["al"] == 8192
    assert sec[".tsb_ldquad_phys_patch"]["addr"] == 0x5AC060  # a name longer than the 17-column field
    assert sec[".data..percpu"]["size"] == 0x4158
    segs = parse_readelf_l(read_record(k / "x86_64-tiny", "readelf-l.txt"))
    assert [s["flags"] for s in segs] == ["RE", "RW", "RWE", ""]
    assert segs[0]["paddr"] == 0x1000000 and segs[2]["memsz"] == 0x1D2000
    assert segs[3]["sections"] == [".notes"]
    nm = parse_nm(read_record(k / "x86_64-tiny", "nm.txt"))
    assert nm[0] == (0xFFFFFFFF818401C0, 1, "d", "__already_done.2")


# ----------------------------------------------------------------- the index and the files


def test_index_lists_every_fixture_folder() -> None:
    folders = {p.name for p in ELF_FIXTURES.iterdir() if p.is_dir() and p.name != "src" and not p.name.startswith("_")}
    assert folders == set(NAMES)
    for entry in INDEX:
        assert (ELF_FIXTURES / entry["file"]).is_file()
        for rec in entry["records"]:
            assert has_record(fx(entry["name"]), rec), (entry["name"], rec)


@pytest.mark.parametrize("name", NAMES)
def test_index_matches_the_elf_bytes(name: str, tmp_path: Path) -> None:
    """Class, byte order and e_type in index.json are those of the file (read raw, not via readelf)."""
    entry = BY_NAME[name]
    data = fixture_elf(name, tmp_path).read_bytes()
    assert data[:4] == b"\x7fELF"
    assert {1: 32, 2: 64}[data[4]] == entry["class"]
    assert {1: "little", 2: "big"}[data[5]] == entry["endian"]
    e_type = struct.unpack((">" if data[5] == 2 else "<") + "H", data[16:18])[0]
    assert {1: "rel", 2: "exec", 3: "dyn"}[e_type] == entry["kind"]
    header = parse_readelf_h(read_record(fx(name), "readelf-h.txt"))
    assert header["Class"] == f"ELF{entry['class']}"
    assert entry["endian"] in header["Data"]
    assert header["Machine"] == entry["machine"]


def test_fixtures_cover_the_arches_and_kinds() -> None:
    arches = {e["arch"] for e in INDEX}
    assert {"sparc64", "sparc32", "x86_64", "i686", "aarch64", "arm", "ppc32", "ppc64", "mips", "riscv64"} <= arches
    assert {e["kind"] for e in INDEX} == {"exec", "rel", "dyn"}
    assert {(e["class"], e["endian"]) for e in INDEX} == {(32, "little"), (32, "big"), (64, "little"), (64, "big")}
    quirks = {q for e in INDEX for q in e["quirks"]}
    assert {"writable-rodata", "empty-percpu", "percpu-at-zero", "shn-xindex", "duplicate-static-names",
            "common-symbols", "no-symtab"} <= quirks


def test_fixture_files_are_small() -> None:
    for p in ELF_FIXTURES.rglob("*"):
        if p.is_file():
            assert p.stat().st_size < 1 * MIB, p


# ----------------------------------------------------------------- every mini vmlinux


MINI = [e["name"] for e in INDEX if e["kind"] != "rel" and "no-symtab" not in e["quirks"]]


@pytest.mark.parametrize("name", MINI)
def test_mini_vmlinux_has_kernel_landmarks(name: str) -> None:
    folder = fx(name)
    for sym in ("_text", "_end", "__bss_start", "__per_cpu_start", "__per_cpu_end"):
        assert symbol(folder, sym)["size"] == 0
    nm_names = {r.name for r in parse_nm(read_record(folder, "nm.txt"))}
    assert "_text" not in nm_names and "_end" not in nm_names  # zero-size: nm --size-sort omits them
    assert section(folder, ".bss")["type"] == "NOBITS"
    percpu = section(folder, ".data..percpu")
    assert percpu["flags"] == "WA"
    per_cpu_bytes = symbol(folder, "__per_cpu_end")["value"] - symbol(folder, "__per_cpu_start")["value"]
    assert per_cpu_bytes == percpu["size"]
    assert symbol(folder, "_text")["value"] == section(folder, ".text")["addr"]


# ----------------------------------------------------------------- the quirks, one by one


def test_sparc64_rodata_is_writable_and_counts_as_data() -> None:
    folder = fx("sparc64-smp")
    rodata = section(folder, ".rodata")
    assert rodata["flags"] == "WA"
    # size's rule: alloc + no exec + writable -> data, so text = .text + .init.text only
    text = section(folder, ".text")["size"] + section(folder, ".init.text")["size"]
    assert parse_size(read_record(folder, "size.txt")).text == text


def test_sparc64_kernbase_below_text() -> None:
    folder = fx("sparc64-smp")
    assert symbol(folder, "_text")["value"] == 0x404000
    load = [s for s in parse_readelf_l(read_record(folder, "readelf-l.txt")) if s["type"] == "LOAD"]
    assert load[0]["vaddr"] == 0x400000  # KERNBASE: the loader maps from here


def test_sparc64_extent_over_and_under_8mib() -> None:
    kernbase = 0x400000
    over = symbol(fx("sparc64-cpuarea-nr64"), "_end")["value"] - kernbase
    under = symbol(fx("sparc64-under8m"), "_end")["value"] - kernbase
    assert symbol(fx("sparc64-cpuarea-nr64"), "cpu_area")["size"] == 64 * 128 * 1024  # NR_CPUS=64 x 128 KiB
    assert over > 8 * MIB
    assert under == 8 * MIB - 8192  # one 8 KiB page below the ceiling
    for name in ("sparc64-cpuarea-nr64", "sparc64-under8m"):
        assert section(fx(name), ".bss")["size"] > 7 * MIB
        assert fixture_elf(name).stat().st_size < 1 * MIB  # NOBITS costs no file bytes


def test_x86_64_smp_percpu_linked_at_zero() -> None:
    folder = fx("x86_64-smp")
    percpu = section(folder, ".data..percpu")
    assert percpu["addr"] == 0 and percpu["size"] > 0
    segs = parse_readelf_l(read_record(folder, "readelf-l.txt"))
    zero = [s for s in segs if s["type"] == "LOAD" and s["vaddr"] == 0]
    assert len(zero) == 1 and zero[0]["sections"] == [".data..percpu"]
    assert symbol(folder, "_text")["value"] == 0xFFFFFFFF81000000
    # LOAD_OFFSET = 0xffffffff80000000: physical = virtual - LOAD_OFFSET for the other segments
    for seg in segs:
        if seg["type"] == "LOAD" and seg["vaddr"]:
            assert seg["vaddr"] - seg["paddr"] == 0xFFFFFFFF80000000


def test_x86_64_up_percpu_is_empty() -> None:
    folder = fx("x86_64-up")
    assert section(folder, ".data..percpu")["size"] == 0
    # UP: per-cpu variables are plain globals (zero-initialised ones land in .bss)
    assert symbol(folder, "cpu_number")["ndx_int"] == section(folder, ".bss")["nr"]
    assert symbol(folder, "runqueues")["ndx_int"] == section(folder, ".bss")["nr"]
    assert [r[1] for r in parse_size_A(read_record(folder, "size-A.txt")).rows if r[0] == ".data..percpu"] == [0]


def test_x86_64_bigbss_extent_over_512mib() -> None:
    folder = fx("x86_64-bigbss")
    end = symbol(folder, "_end")["value"]
    assert end - 0xFFFFFFFF80000000 > 512 * MIB  # KERNEL_IMAGE_SIZE
    assert symbol(folder, "cpu_area")["size"] == 4096 * 128 * 1024
    assert parse_size(read_record(folder, "size.txt")).bss > 512 * MIB


def test_stripped_image_has_no_symtab() -> None:
    folder = fx("x86_64-stripped")
    types = {s["type"] for s in parse_readelf_S(read_record(folder, "readelf-S.txt"))}
    assert "SYMTAB" not in types
    assert parse_nm(read_record(folder, "nm.txt")) == []
    assert "no symbols" in (folder / "nm.txt.stderr").read_text()
    assert parse_readelf_s(read_record(folder, "readelf-s.txt")) == []
    # stripping keeps every loaded byte: same Berkeley totals as the image it came from
    assert parse_size(read_record(folder, "size.txt")) == parse_size(read_record(fx("x86_64-smp"), "size.txt"))


def test_duplicate_static_counter() -> None:
    for name in MINI:
        rows = [r for r in parse_nm(read_record(fx(name), "nm.txt")) if r.name == "counter"]
        assert len(rows) == 2, name
        assert {r.type for r in rows} == {"b"} and {r.size for r in rows} == {4}
        assert rows[0].addr != rows[1].addr


def test_common_symbols_in_object() -> None:
    folder = fx("x86_64-common-o")
    commons = {r.name: r.size for r in parse_nm(read_record(folder, "nm.txt")) if r.type == "C"}
    assert commons == {"common_small": 4, "common_array": 800, "common_buf": 333}  # from common.c (long = 8 bytes)
    plain = parse_size(read_record(folder, "size.txt"))
    common = parse_size(read_record(folder, "size-common.txt"))
    assert common.bss - plain.bss == 4 + 800 + 333
    assert (common.text, common.data) == (plain.text, plain.data)
    assert all(s["ndx"] == "COM" for s in symbols(folder) if s["name"] in commons)


def test_object_rodata_and_eh_frame_count_as_text() -> None:
    folder = fx("x86_64-common-o")
    sizes = {name: sz for name, sz, _ in parse_size_A(read_record(folder, "size-A.txt")).rows}
    assert sizes[".eh_frame"] > 0 and sizes[".rodata"] > 0
    assert parse_size(read_record(folder, "size.txt")).text == sizes[".text"] + sizes[".rodata"] + sizes[".eh_frame"]
    assert parse_size(read_record(folder, "size.txt")).data == sizes[".data"]


def test_module_ko_sections() -> None:
    folder = fx("aarch64-module-ko")
    assert section(folder, ".gnu.linkonce.this_module")["size"] > 0
    assert section(folder, ".data..percpu")["size"] == 8 + 200  # mod_counter + mod_buffer[200]
    assert parse_readelf_h(read_record(folder, "readelf-h.txt"))["Type"].startswith("REL")


def test_many_sections_use_shn_xindex(tmp_path: Path) -> None:
    folder = fx("x86_64-manysections-o")
    header = parse_readelf_h(read_record(folder, "readelf-h.txt"))
    assert header["Number of section headers"] == "0 (66008)"  # e_shnum escapes to 0
    assert header["Section header string table index"] == "65535 (66007)"  # SHN_XINDEX
    sections = parse_readelf_S(read_record(folder, "readelf-S.txt"))
    assert len(sections) == 66008 > 65279
    assert sections[0]["size"] == 66008 and sections[0]["lk"] == 66007  # the escape values live in section 0
    assert any(s["type"] == "SYMTAB SECTION INDICES" for s in sections)
    high = [s for s in symbols(folder) if (s["ndx_int"] or 0) >= 0xFF00]
    assert {s["name"] for s in high} >= {"sym_65997", "sym_65998", "sym_65999"}
    assert max(s["ndx_int"] for s in high) == 66003
    # the raw file agrees: e_shnum == 0 and e_shstrndx == 0xffff
    data = fixture_elf("x86_64-manysections-o", tmp_path).read_bytes()
    e_shnum, e_shstrndx = struct.unpack("<HH", data[60:64])
    assert (e_shnum, e_shstrndx) == (0, 0xFFFF)


def test_mips_addresses_are_sign_extended_by_bfd() -> None:
    """A fact for the adapter: GNU nm and size -A print MIPS32 addresses sign-extended to 64 bits."""
    folder = fx("mips-smp")
    assert symbol(folder, "_text")["value"] == 0x80100000
    text_row = next(r for r in parse_size_A(read_record(folder, "size-A.txt")).rows if r[0] == ".text")
    assert text_row[2] == 0xFFFFFFFF80100000
    assert all(r.addr is not None and r.addr >> 32 == 0xFFFFFFFF for r in parse_nm(read_record(folder, "nm.txt")))


def test_aarch64_dyn_is_et_dyn() -> None:
    folder = fx("aarch64-dyn")
    assert parse_readelf_h(read_record(folder, "readelf-h.txt"))["Type"].startswith("DYN")
    assert any(s["type"] == "DYNAMIC" for s in parse_readelf_l(read_record(folder, "readelf-l.txt")))


# ----------------------------------------------------------------- the parsers on tricky text


def test_parse_size_rejects_garbage_and_reads_multi_file() -> None:
    with pytest.raises(ValueError):
        parse_size("hello\n")
    text = "   text\t   data\t    bss\t    dec\t    hex\tfilename\n      1\t      2\t      3\t      6\t      6\ta.o\n" \
           "     10\t     20\t     30\t     60\t     3c\tb c.o\n"
    rows = parse_size_rows(text)
    assert rows == [((1, 2, 3, 6, 6), "a.o"), ((10, 20, 30, 60, 60), "b c.o")]


def test_parse_nm_undefined_and_bad_lines() -> None:
    rows = parse_nm("0000000000000010 0000000000000008 T f\n                 0000000000000004 U g\n")
    assert rows == [(0x10, 8, "T", "f"), (None, 4, "U", "g")]
    with pytest.raises(ValueError):
        parse_nm("zzz\n")


def test_parse_readelf_S_on_elf32_and_long_names() -> None:
    text = (
        "There are 3 section headers, starting at offset 0x10:\n\nSection Headers:\n"
        "  [Nr] Name              Type            Addr     Off    Size   ES Flg Lk Inf Al\n"
        "  [ 0]                   NULL            00000000 000000 000000 00      0   0  0\n"
        "  [ 1] .a_really_long_section_name PROGBITS        c1000000 001000 000060 00 WAX  0   0 16\n"
        "  [ 2] .symtab_shndx     SYMTAB SECTION INDICES 00000000 02b638 000114 04     66004   0  4\n"
        "Key to Flags:\n"
    )
    rows = parse_readelf_S(text)
    assert len(rows) == readelf_S_count(text) == 3
    assert rows[1]["name"] == ".a_really_long_section_name" and rows[1]["addr"] == 0xC1000000
    assert rows[1]["flags"] == "WAX" and rows[1]["al"] == 16
    assert rows[2]["type"] == "SYMTAB SECTION INDICES" and rows[2]["lk"] == 66004 and rows[2]["es"] == 4


def test_real_xz_record_reads() -> None:
    text = lzma.decompress((fx("x86_64-manysections-o") / "readelf-S.txt.xz").read_bytes()).decode()
    assert read_record(fx("x86_64-manysections-o"), "readelf-S.txt") == text


# ----------------------------------------------------------------- samples/ (README demo inputs)

SAMPLES = ELF_FIXTURES.parents[2] / "samples"


@pytest.mark.parametrize("sample, fixture", [("sparc64-smp.elf", "sparc64-smp"),
                                             ("sparc64-cpuarea-nr64.elf", "sparc64-cpuarea-nr64")])
def test_sample_elf_is_the_recorded_fixture(sample: str, fixture: str) -> None:
    assert (SAMPLES / sample).read_bytes() == fixture_elf(fixture).read_bytes()


def test_sample_config_takes_in_the_bundled_model() -> None:
    """Every line of the sample fragment takes, with no finding (the bundled model resolves it)."""
    kconfig = pytest.importorskip("cpualloc_cli.adapters.kconfig")
    text = (SAMPLES / "sparc64-nr64-static.config").read_text()
    loaded = kconfig.load_resolved_config(kconfig.ConfigRequest(config_text=text, config_display="sample",
                                                                use_cache=False))
    resolved = loaded.resolved
    assert tuple(resolved.findings) == ()
    for line in text.splitlines():
        if line.startswith("CONFIG_"):
            name, _, value = line[len("CONFIG_"):].partition("=")
            assert resolved.values[name] == value, name
    assert resolved.values["PERCPU_DESIGN"] == "cpu_alloc_static"
    assert resolved.values["PAGE_SHIFT"] == "13"  # 8 KiB pages: 128 KiB per CPU = 8 KiB << 4

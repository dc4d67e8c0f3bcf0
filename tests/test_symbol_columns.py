"""The columnar symbol table's bulk paths, checked against plain definitions.

The oracles: C strcmp order is Python's bytes order (both compare unsigned bytes, and
names hold no NUL); a string-table name is the bytes from its offset to the next NUL
(ELF gABI); the JSON text is what the stdlib encoder writes for the same rows; and
"largest first" is `sorted(..., key=-size)`, which is stable. End-to-end, the nm order
and letters are checked against recorded GNU nm output in test_inspect_fixtures.py and
test_inspect_real.py.
"""

from __future__ import annotations

import json
from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from cpualloc_cli.analysis.inspect import largest_first
from cpualloc_cli.model.image import ElfHeader, ElfImage, SymbolTable
from cpualloc_cli.render.inspect_json import _symbol_rows

# Names as raw bytes: any byte but NUL, including non-ASCII, quotes, backslashes, controls.
raw_names = st.lists(st.binary(min_size=0, max_size=12).map(lambda b: b.replace(b"\0", b"x")),
                     min_size=1, max_size=40)


def _table_from(names: list[bytes], merge_suffixes: bool = True) -> SymbolTable:
    """A string table as a linker writes one: each name once, NUL-terminated, and (as GNU ld
    does) a name that is a suffix of an earlier one points into it instead of being stored."""
    strtab = bytearray(b"\0")
    offsets: list[int] = []
    for name in names:
        at = bytes(strtab).find(name + b"\0") if merge_suffixes else -1
        if at < 0 or (not merge_suffixes):
            at = len(strtab)
            strtab += name + b"\0"
        offsets.append(at)
    n = len(names)
    return SymbolTable(None, array("Q", range(n)), array("Q", [1] * n), array("I", [1] * n), "T" * n,
                       bytes([2] * n), bytes([1] * n), strtab=bytes(strtab), name_offsets=array("I", offsets))


def _decoded(name: bytes) -> str:
    return name.decode("utf-8", "surrogateescape")


@given(raw_names, st.booleans())
@settings(max_examples=200, deadline=None)
def test_names_read_to_the_next_nul(names: list[bytes], merge: bool) -> None:
    table = _table_from(names, merge)
    assert list(table.names) == [_decoded(n) for n in names]
    picks = list(range(len(names)))[::-1]
    assert table.names_at(picks) == [_decoded(names[i]) for i in picks]
    assert [table.name(i) for i in picks] == [_decoded(names[i]) for i in picks]


@given(raw_names)
@settings(max_examples=200, deadline=None)
def test_sort_keys_order_is_strcmp_order(names: list[bytes]) -> None:
    table = _table_from(names)
    everyone = list(range(len(names)))
    keys = table.sort_keys_at(everyone)
    by_keys = sorted(everyone, key=keys.__getitem__)
    by_bytes = sorted(everyone, key=names.__getitem__)
    assert by_keys == by_bytes


@given(raw_names, st.data())
@settings(max_examples=200, deadline=None)
def test_index_finds_the_first_symbol_of_that_name(names: list[bytes], data: st.DataObject) -> None:
    table = _table_from(names)
    probe = data.draw(st.sampled_from(names) | st.binary(max_size=4).map(lambda b: b.replace(b"\0", b"y")))
    want = names.index(probe) if probe in names else None
    assert table.index(_decoded(probe)) == want
    # The same table with its names given eagerly answers the same.
    eager = SymbolTable([_decoded(n) for n in names], table.values, table.sizes, table.shndx, table.nm_types,
                        table.elf_types, table.binds)
    assert eager.index(_decoded(probe)) == want


def test_index_sees_a_suffix_merged_name() -> None:
    # "_end" stored only as the tail of "__bss_end": its offset points into that string.
    table = _table_from([b"__bss_end", b"_text", b"_end"])
    assert table._strtab.count(b"_end\0") == 1  # stored once
    assert table.index("_end") == 2
    assert table.find("_end") == 2  # the value of symbol 2
    assert table.index("bss_end") is None


def test_remembered_names_are_the_names() -> None:
    table = _table_from([b"b", b"a", b"c"])
    order = [1, 0, 2]
    table.remember_names(order, table.sort_keys_at(order))
    assert table.names_at(order) == ["a", "b", "c"]
    assert table.names_at(tuple(order)) == ["a", "b", "c"]  # same indices as a tuple
    assert table.names_at([2, 1, 0]) == ["c", "a", "b"]  # other indices are decoded afresh


@given(raw_names, st.lists(st.integers(0, 2**64 - 1), min_size=40, max_size=40),
       st.lists(st.sampled_from("TtDdBbRrVWwiu?"), min_size=40, max_size=40))
@settings(max_examples=200, deadline=None)
def test_symbol_rows_equal_the_stdlib_encoder(names: list[bytes], values: list[int], letters: list[str]) -> None:
    n = len(names)
    base = _table_from(names)
    table = SymbolTable(None, array("Q", values[:n]), array("Q", values[::-1][:n]), base.shndx,
                        "".join(letters[:n]), base.elf_types, base.binds, strtab=base._strtab,
                        name_offsets=base._offsets)
    order = list(range(n))[::-1]
    rows = [[values[i], values[::-1][i], letters[i], _decoded(names[i]), "symtab"] for i in order]
    want = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
    assert _symbol_rows(table, order).text == want
    assert json.loads(_symbol_rows(table, order).text) == rows


def test_symbol_rows_fast_path_is_taken_for_kernel_names() -> None:
    table = _table_from([b"start_kernel", b"__per_cpu_offset", b"init_task"])
    assert table.json_safe_names()
    assert not _table_from([b'quote"d']).json_safe_names()
    assert not _table_from([b"back\\slash"]).json_safe_names()
    assert not _table_from([b"tab\there"]).json_safe_names()
    assert not _table_from(["caf\u00e9".encode()]).json_safe_names()


def _image(sizes: list[int]) -> ElfImage:
    n = len(sizes)
    table = SymbolTable([f"s{i}" for i in range(n)], array("Q", [0] * n), array("Q", sizes), array("I", [1] * n),
                        "T" * n, bytes([2] * n), bytes([1] * n))
    header = ElfHeader(elf_class=64, endian="little", machine="x", machine_code=62, arch="x86_64",
                       file_type="EXEC", entry=0, flags=0, section_count=0, segment_count=0)
    return ElfImage(path="x", file_size=0, header=header, sections=(), segments=(), symbols=table,
                    common_bytes=0, banner=None, notes=())


@given(st.lists(st.integers(1, 6), max_size=60), st.integers(0, 70))
@settings(max_examples=300, deadline=None)
def test_largest_first_is_a_stable_sort_by_descending_size(sizes: list[int], count: int) -> None:
    # In nm --size-sort order, sizes ascend; equal sizes keep their (name) order.
    order = sorted(range(len(sizes)), key=sizes.__getitem__)
    image = _image(sizes)
    want = sorted(order, key=lambda i: -sizes[i])[:count]
    assert largest_first(image, order, count) == want


@given(st.lists(st.integers(0, 0x30000), min_size=1, max_size=60), st.data())
@settings(max_examples=300, deadline=None)
def test_first_symbol_with_an_offset_ignores_straddling_byte_matches(offsets: list[int], data: st.DataObject) -> None:
    # Small values make an offset's bytes likely to appear across two neighbouring entries.
    n = len(offsets)
    table = SymbolTable(None, array("Q", [0] * n), array("Q", [1] * n), array("I", [1] * n), "T" * n,
                        bytes([2] * n), bytes([1] * n), strtab=b"\0" * 0x30001, name_offsets=array("I", offsets))
    wanted = data.draw(st.sampled_from(offsets))
    assert table._first_with_offset(wanted) == offsets.index(wanted)
